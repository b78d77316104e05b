/** The figures as the benchmark prints them: one line per run, the best of each path, the summary line. */
import type { Path } from './config';

export const mb = (kb: number): number => Math.round(kb / 102.4) / 10;
export const seconds = (ms: number): string => (ms / 1000).toFixed(2);

export interface RunResult {
	path: Path;
	run: number;
	rows: number;
	/** n8n's stoppedAt − startedAt. */
	wallMs: number;
	/** This script's clock: run request sent → execution seen stopped (polled every 50 ms). */
	clientMs: number;
	/** Each node's executionTime, in workflow order. */
	nodeMs: Array<[string, number]>;
	peakTotalKb: number;
	peakMainKb: number;
	peakRunnerKb: number;
	/** RSS of the tree when the execution started. */
	startTotalKb: number;
	samples: number;
	taskId: string;
}

export function label(rows: number): string {
	return rows >= 1_000_000 ? `${rows / 1_000_000}M` : rows >= 1000 ? `${rows / 1000}k` : String(rows);
}

export function describeRun(r: RunResult): string {
	const nodes = r.nodeMs.map(([name, ms]) => `${name} ${seconds(ms)}`).join(', ');
	return (
		`${r.path}-${label(r.rows)} run ${r.run}: wall_s=${seconds(r.wallMs)} (client ${seconds(r.clientMs)}) ` +
		`peak_rss_mb=${mb(r.peakTotalKb)} (main ${mb(r.peakMainKb)} runner ${mb(r.peakRunnerKb)}) start_rss_mb=${mb(r.startTotalKb)} ` +
		`over_start_mb=${mb(r.peakTotalKb - r.startTotalKb)} ` +
		`samples=${r.samples} | nodes s: ${nodes} | ${r.taskId}`
	);
}

export interface Best {
	wallMs: number;
	clientMs: number;
	peakTotalKb: number;
	peakMainKb: number;
	peakRunnerKb: number;
	overStartKb: number;
}

/** The better figure of the runs, each figure on its own (the fastest wall, the lowest peak). */
export function best(results: RunResult[]): Best {
	const min = (pick: (r: RunResult) => number): number => Math.min(...results.map(pick));
	const lowest = results.reduce((a, b) => (b.peakTotalKb < a.peakTotalKb ? b : a));
	return {
		wallMs: min((r) => r.wallMs),
		clientMs: min((r) => r.clientMs),
		peakTotalKb: lowest.peakTotalKb,
		peakMainKb: lowest.peakMainKb,
		peakRunnerKb: lowest.peakRunnerKb,
		overStartKb: min((r) => r.peakTotalKb - r.startTotalKb),
	};
}

function bestLine(name: Path, rowsLabel: string, x: Best): string {
	return `${name}-${rowsLabel}: wall_s=${seconds(x.wallMs)} (client ${seconds(x.clientMs)}) peak_rss_mb=${mb(x.peakTotalKb)} (main ${mb(x.peakMainKb)} runner ${mb(x.peakRunnerKb)}) over_start_mb=${mb(x.overStartKb)}`;
}

/** Prints the best of each path; returns the `compare-<rows>:` line. */
export function summarise(results: Record<Path, RunResult[]>, rows: number, runs: number, out: (line: string) => void): string {
	const rowsLabel = label(rows);
	const b = best(results.builtin);
	const w = best(results.whilter);
	out(`best of ${runs} runs each:`);
	out(bestLine('builtin', rowsLabel, b));
	out(bestLine('whilter', rowsLabel, w));
	return (
		`compare-${rowsLabel}: builtin wall_s=${seconds(b.wallMs)} peak_rss_mb=${mb(b.peakTotalKb)} | ` +
		`whilter wall_s=${seconds(w.wallMs)} peak_rss_mb=${mb(w.peakTotalKb)}`
	);
}
