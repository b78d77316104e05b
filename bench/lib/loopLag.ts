/**
 * Event-loop blocking, sampled by a 1 ms timer: each time it fires late, the lateness is a stretch
 * during which nothing else could run on the thread (a request, a timer, the editor's websocket).
 * Every sample keeps when it ended, so a window (a node's own execution) can be cut out afterwards.
 * perf_hooks' monitorEventLoopDelay gives the same maximum but no times, so it cannot tell the node's
 * blocks from n8n's own work on the same items before and after the node. Each sample also keeps
 * the process's minor page faults so far: a block's faults are the difference to the sample before.
 * Memory the process has never written is mapped on first touch, one fault per 4 KiB page, and on a
 * virtual machine such a fault can cost tens of microseconds.
 */
import { percentile } from './stats';

export interface LagSample {
	/** performance.timeOrigin + performance.now() when the late timer fired (epoch ms). */
	at: number;
	/** How late it fired, in ms. */
	lagMs: number;
	/** The process's minor page faults so far (process.resourceUsage().minorPageFault). */
	faults: number;
}

export interface LoopLag {
	stop(): LagSample[];
}

const INTERVAL_MS = 1;

export function startLoopLag(): LoopLag {
	const samples: LagSample[] = [];
	let expected = performance.now() + INTERVAL_MS;
	let timer: NodeJS.Timeout | undefined;
	const faults = () => process.resourceUsage().minorPageFault;
	const tick = () => {
		const now = performance.now();
		samples.push({ at: performance.timeOrigin + now, lagMs: Math.max(0, now - expected), faults: faults() });
		expected = now + INTERVAL_MS;
		timer = setTimeout(tick, INTERVAL_MS);
	};
	timer = setTimeout(tick, INTERVAL_MS);
	return {
		stop() {
			clearTimeout(timer);
			// A run that never gave the loop a turn (all synchronous work and microtasks) shows here.
			const now = performance.now();
			if (now > expected) samples.push({ at: performance.timeOrigin + now, lagMs: now - expected, faults: faults() });
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

/**
 * The page faults of the block that covers `at` (epoch ms): those counted between the sample before
 * it and the sample that ended it. Undefined when no sample ended after `at`.
 */
export function faultsOfBlockAt(samples: LagSample[], at: number): number | undefined {
	const index = samples.findIndex((s) => s.at >= at);
	if (index <= 0) return undefined;
	return samples[index].faults - samples[index - 1].faults;
}

/** The page faults of the longest block in [from, to]; undefined when there is no sample. */
export function longestBlockFaults(samples: LagSample[], from: number, to = Infinity): number | undefined {
	let best: number | undefined;
	samples.forEach((s, i) => {
		if (i > 0 && s.at >= from && s.at - s.lagMs <= to && (best === undefined || s.lagMs > samples[best].lagMs)) best = i;
	});
	if (best === undefined) return undefined;
	return samples[best].faults - samples[best - 1].faults;
}
