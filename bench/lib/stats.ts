/** Figures of repeated runs: the median is reported, with the range of the runs beside it. */

export function median(values: number[]): number {
	if (!values.length) return NaN;
	const sorted = [...values].sort((a, b) => a - b);
	const mid = sorted.length >> 1;
	return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `median (min–max)`, or the single value when there was one run. */
export function spread(values: number[], digits = 1): string {
	if (!values.length) return '-';
	const m = median(values).toFixed(digits);
	if (values.length === 1) return m;
	return `${m} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`;
}

/** The p-th percentile (0–100) of samples, nearest rank. */
export function percentile(values: ArrayLike<number>, p: number): number {
	if (!values.length) return 0;
	const sorted = Float64Array.from(values).sort();
	const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
	return sorted[rank];
}

/** `--quick` on the command line or BENCH_QUICK=1: one run of the smaller cases, for development. */
export function quickMode(): boolean {
	return process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
}

/** Runs per case: BENCH_RUNS, else 3 (1 in quick mode). */
export function runCount(): number {
	const fromEnv = Number(process.env.BENCH_RUNS);
	if (Number.isInteger(fromEnv) && fromEnv >= 1) return fromEnv;
	return quickMode() ? 1 : 3;
}
