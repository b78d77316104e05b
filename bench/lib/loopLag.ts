/**
 * Event-loop blocking, sampled by a 1 ms timer: each time it fires late, the lateness is a stretch
 * during which nothing else could run on the thread (a request, a timer, the editor's websocket).
 * Every sample keeps when it ended, so a window (a node's own execution) can be cut out afterwards.
 * perf_hooks' monitorEventLoopDelay gives the same maximum but no times, so it cannot tell the node's
 * blocks from n8n's own work on the same items before and after the node.
 */
import { percentile } from './stats';

export interface LagSample {
	/** performance.timeOrigin + performance.now() when the late timer fired (epoch ms). */
	at: number;
	/** How late it fired, in ms. */
	lagMs: number;
}

export interface LoopLag {
	stop(): LagSample[];
}

const INTERVAL_MS = 1;

export function startLoopLag(): LoopLag {
	const samples: LagSample[] = [];
	let expected = performance.now() + INTERVAL_MS;
	let timer: NodeJS.Timeout | undefined;
	const tick = () => {
		const now = performance.now();
		samples.push({ at: performance.timeOrigin + now, lagMs: Math.max(0, now - expected) });
		expected = now + INTERVAL_MS;
		timer = setTimeout(tick, INTERVAL_MS);
	};
	timer = setTimeout(tick, INTERVAL_MS);
	return {
		stop() {
			clearTimeout(timer);
			// A run that never gave the loop a turn (all synchronous work and microtasks) shows here.
			const now = performance.now();
			if (now > expected) samples.push({ at: performance.timeOrigin + now, lagMs: now - expected });
			return samples;
		},
	};
}

export interface BlockFigures {
	maxBlockMs: number;
	p99BlockMs: number;
	samples: number;
}

/**
 * Longest block and 99th percentile of the samples in [from, to] (epoch ms). A block that began
 * before `from` or ended after `to` counts only with its part inside: a block that straddles a
 * node's start is partly n8n's own work on the items before it.
 */
export function blocksIn(samples: LagSample[], from = -Infinity, to = Infinity): BlockFigures {
	const lags = samples
		.filter((s) => s.at >= from && s.at - s.lagMs <= to)
		.map((s) => Math.max(0, Math.min(s.at, to) - Math.max(s.at - s.lagMs, from)));
	return {
		maxBlockMs: Math.round(lags.reduce((a, b) => Math.max(a, b), 0) * 10) / 10,
		p99BlockMs: Math.round(percentile(lags, 99) * 10) / 10,
		samples: lags.length,
	};
}

/** The longest blocks in [from, to], each as `<ms>@+<ms after from>`, for finding them in a profile. */
export function longestBlocks(samples: LagSample[], from: number, to = Infinity, count = 5): string[] {
	return samples
		.filter((s) => s.at >= from && s.at - s.lagMs <= to)
		.sort((a, b) => b.lagMs - a.lagMs)
		.slice(0, count)
		.map((s) => `${s.lagMs.toFixed(0)}@+${(s.at - s.lagMs - from).toFixed(0)}`);
}
