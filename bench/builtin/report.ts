/** The figures as the benchmark prints them: one line per run, the best of each path, the summary line. */
import type { Path, RunPath } from './config';
import { median } from '../lib/stats';

export const mb = (kb: number): number => Math.round(kb / 102.4) / 10;
export const seconds = (ms: number): string => (ms / 1000).toFixed(2);

export interface RunResult {
	path: RunPath;
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

/** The median of the runs, each figure on its own. */
export function best(results: RunResult[]): Best {
	const mid = (pick: (r: RunResult) => number): number => median(results.map(pick));
	return {
		wallMs: mid((r) => r.wallMs),
		clientMs: mid((r) => r.clientMs),
		peakTotalKb: mid((r) => r.peakTotalKb),
		peakMainKb: mid((r) => r.peakMainKb),
		peakRunnerKb: mid((r) => r.peakRunnerKb),
		overStartKb: mid((r) => r.peakTotalKb - r.startTotalKb),
	};
}

export function bestLine(name: RunPath, rowsLabel: string, x: Best): string {
	return `${name}-${rowsLabel}: wall_s=${seconds(x.wallMs)} (client ${seconds(x.clientMs)}) peak_rss_mb=${mb(x.peakTotalKb)} (main ${mb(x.peakMainKb)} runner ${mb(x.peakRunnerKb)}) over_start_mb=${mb(x.overStartKb)}`;
}

/**
 * Prints the median of each path; returns the `compare-<rows>:` line and the summary's
 * `builtin-<rows>:` part. A path in `failures` is reported as failed, with how.
 */
export function summarise(
	results: Record<Path, RunResult[]>,
	rows: number,
	runs: number,
	out: (line: string) => void,
	failures: Partial<Record<Path, string>> = {},
): { line: string; part: string } {
	const rowsLabel = label(rows);
	const figure = (path: Path): { text: string; wall: string } => {
		if (failures[path] || !results[path].length) return { text: `${path} FAILED (${failures[path] ?? 'no run'})`, wall: 'failed' };
		const x = best(results[path]);
		out(bestLine(path, rowsLabel, x));
		return { text: `${path} wall_s=${seconds(x.wallMs)} peak_rss_mb=${mb(x.peakTotalKb)}`, wall: seconds(x.wallMs) };
	};
	out(`median of ${runs} runs each:`);
	const b = figure('builtin');
	const w = figure('whilter');
	return { line: `compare-${rowsLabel}: ${b.text} | ${w.text}`, part: `builtin-${rowsLabel}: builtin_wall_s=${b.wall} whilter_wall_s=${w.wall}` };
}
