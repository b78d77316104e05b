/**
 * How a bench case is measured: RSS sampled every 10 ms, event-loop blocks by a 1 ms timer
 * (loopLag.ts), both over the whole run and over the node's own code, and with BENCH_HEAP=1 the V8
 * heap's spaces too. The node's code window is taken from its execute(): n8n's own timing of a node
 * starts before n8n prepares the node's input (about 0.4 s for a million items).
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import type { PerformanceEntry } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

import type { IExecuteFunctions, INodeType } from 'n8n-workflow';

import { blocksIn, faultsOfBlockAt, longestBlockFaults, longestBlocks, startLoopLag } from './loopLag';
import type { LagSample } from './loopLag';

/** A stretch of time, in epoch ms. */
export interface Window {
	from: number;
	to: number;
}

export interface RunFigures {
	wallMs: number;
	peakRssMb: number;
	/** RSS just before the measured run (runtime, n8n-core, servers' clients and, for items, the rows). */
	beforeRssMb: number;
	/** Blocks during the node's own execution (the whole run when there is no window). */
	maxBlockMs: number;
	p99BlockMs: number;
	/** Blocks during the whole run, n8n's work before and after the node included. */
	runMaxBlockMs: number;
	runP99BlockMs: number;
	/** The node's longest blocks, `<ms>@+<ms after the node started>`. */
	longest: string[];
	/**
	 * The node's first two young-generation collections (V8's scavenges) and the blocks after them.
	 * n8n hands a node its input with objects made just before execute(), still young: the first
	 * scavenge in any node that allocates copies them within the young generation and the second
	 * promotes them to the old one (V8 promotes what survives twice), however little the node itself
	 * holds. The blocks after the second are the node's own work and its own garbage. Absent when no
	 * scavenge ran in the node's window.
	 */
	inputCollections?: {
		durationsMs: number[];
		atMs: number[];
		/** Minor page faults in the block each collection fell in (fresh memory V8 wrote for the first time). */
		faults: Array<number | null>;
		maxBlockAfterMs: number;
		p99BlockAfterMs: number;
	};
	/** Minor page faults during the node's own execution, and in its longest block. */
	faults: { window: number; longestBlock: number | null };
	/** BENCH_HEAP=1: V8's heap before and at its peak, and each space's committed size above its size before. */
	heap?: { totalBefore: number; peakTotal: number; externalBefore: number; peakExternal: number; spacesOverBefore: Record<string, number> };
}

export function mb(bytes: number): number {
	return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

/** A full collection before a measured run (the case processes run with --expose-gc). */
export function settle(): void {
	(globalThis as { gc?: () => void }).gc?.();
}

/** BENCH_MARKS=1: times on stderr in --trace-gc's clock (ms since the process started), to line GC up with the node. */
export function mark(what: string): void {
	if (process.env.BENCH_MARKS === '1') process.stderr.write(`[mark] ${performance.now().toFixed(0)} ms ${what}\n`);
}

/** Now, in epoch ms, to the fraction of a millisecond. */
export const epochNow = (): number => performance.timeOrigin + performance.now();

/** Wraps a node type's execute() so that each run hands `onWindow` when the node's own code ran. */
export function recordCodeWindow(nodeType: INodeType, onWindow: (window: Window) => void): void {
	const execute = nodeType.execute!;
	nodeType.execute = async function (this: IExecuteFunctions) {
		const from = epochNow();
		mark('node start');
		try {
			return await execute.call(this);
		} finally {
			onWindow({ from, to: epochNow() });
			mark('node end');
		}
	};
}

function inputCollectionsIn(collections: PerformanceEntry[], samples: LagSample[], window: Window): Pick<RunFigures, 'inputCollections'> {
	const firstTwo = collections
		.filter((entry) => ((entry as { detail?: unknown }).detail as { kind?: number } | undefined)?.kind === constants.NODE_PERFORMANCE_GC_MINOR)
		.map((entry) => ({ from: performance.timeOrigin + entry.startTime, duration: entry.duration }))
		.filter((gc) => gc.from >= window.from && gc.from <= window.to)
		.sort((a, b) => a.from - b.from)
		.slice(0, 2);
	if (!firstTwo.length) return {};
	const last = firstTwo[firstTwo.length - 1];
	const after = blocksIn(samples, last.from + last.duration, window.to);
	return {
		inputCollections: {
			durationsMs: firstTwo.map((gc) => Math.round(gc.duration * 10) / 10),
			atMs: firstTwo.map((gc) => Math.round(gc.from - window.from)),
			faults: firstTwo.map((gc) => faultsOfBlockAt(samples, gc.from + gc.duration) ?? null),
			maxBlockAfterMs: after.maxBlockMs,
			p99BlockAfterMs: after.p99BlockMs,
		},
	};
}

/** The page faults counted by the samples in [from, to], and those of the longest block there. */
function faultsIn(samples: LagSample[], from: number, to: number): RunFigures['faults'] {
	const inside = samples.filter((s) => s.at >= from && s.at - s.lagMs <= to);
	const window = inside.length ? inside[inside.length - 1].faults - (samples[samples.indexOf(inside[0]) - 1]?.faults ?? inside[0].faults) : 0;
	return { window, longestBlock: longestBlockFaults(samples, from, to) ?? null };
}

/**
 * Runs `work` while sampling. `work` gives the node's code window (blocks are read from it) and,
 * when n8n timed the node, its wall time (else the run's).
 */
export async function measureRun(work: () => Promise<{ window?: Window; wallMs?: number }>): Promise<RunFigures> {
	const heapWanted = process.env.BENCH_HEAP === '1';
	const before = process.memoryUsage.rss();
	let peak = before;
	const heapBefore = process.memoryUsage();
	let peakHeap = heapBefore.heapTotal;
	let peakExternal = heapBefore.external;
	const spacesBefore = new Map(getHeapSpaceStatistics().map((space) => [space.space_name, space.space_size]));
	const peakSpaces = new Map(spacesBefore);
	const sampler = setInterval(() => {
		peak = Math.max(peak, process.memoryUsage.rss());
		if (heapWanted) {
			const m = process.memoryUsage();
			peakHeap = Math.max(peakHeap, m.heapTotal);
			peakExternal = Math.max(peakExternal, m.external);
			for (const space of getHeapSpaceStatistics()) peakSpaces.set(space.space_name, Math.max(peakSpaces.get(space.space_name) ?? 0, space.space_size));
		}
	}, 10);
	const collections: PerformanceEntry[] = [];
	const gcObserver = new PerformanceObserver((list) => collections.push(...list.getEntries()));
	gcObserver.observe({ entryTypes: ['gc'] });
	const lag = startLoopLag();
	const started = performance.now();
	const startedAt = performance.timeOrigin + started;
	const reported = await work();
	const elapsed = performance.now() - started;
	const samples = lag.stop();
	clearInterval(sampler);
	collections.push(...gcObserver.takeRecords());
	gcObserver.disconnect();
	peak = Math.max(peak, process.memoryUsage.rss());
	const run = blocksIn(samples, startedAt);
	const { window } = reported;
	const own = window ? blocksIn(samples, window.from, window.to) : run;
	return {
		wallMs: Math.round(reported.wallMs ?? elapsed),
		peakRssMb: mb(peak),
		beforeRssMb: mb(before),
		maxBlockMs: own.maxBlockMs,
		p99BlockMs: own.p99BlockMs,
		runMaxBlockMs: run.maxBlockMs,
		runP99BlockMs: run.p99BlockMs,
		longest: longestBlocks(samples, window?.from ?? startedAt, window?.to ?? Infinity),
		faults: faultsIn(samples, window?.from ?? startedAt, window?.to ?? Infinity),
		...(window ? inputCollectionsIn(collections, samples, window) : {}),
		...(heapWanted
			? {
					heap: {
						totalBefore: mb(heapBefore.heapTotal),
						peakTotal: mb(peakHeap),
						externalBefore: mb(heapBefore.external),
						peakExternal: mb(peakExternal),
						// Committed size of each V8 space at its peak, above its size before.
						spacesOverBefore: Object.fromEntries([...peakSpaces].map(([name, size]) => [name, mb(size - (spacesBefore.get(name) ?? 0))])),
					},
				}
			: {}),
	};
}
