/** The settings of the built-in comparison (bench/builtin.ts) shared by its parts, and their one timing helper. */

/** Row counts compared, smallest first: BENCH_BUILTIN_ROWS (comma-separated), else 100k and 1M (100k with --quick). */
export const ROW_COUNTS: number[] = (process.env.BENCH_BUILTIN_ROWS ?? (process.argv.includes('--quick') || process.env.BENCH_QUICK === '1' ? '100000' : '100000,1000000'))
	.split(',')
	.map(Number)
	.filter((n) => n > 0);
/** Measured runs per path and size: the figures are their medians. */
export const RUNS = Number(process.env.BENCH_BUILTIN_RUNS ?? (process.argv.includes('--quick') || process.env.BENCH_QUICK === '1' ? 1 : 3));
/** How often RSS is sampled, and how often an execution is polled. */
export const SAMPLE_MS = 50;

/**
 * n8n's AWS S3 node sends a bucket without a dot to `<bucket>.s3.<region>.amazonaws.com` whatever the
 * credential's custom S3 endpoint says; only a bucket name with a dot goes path-style to the custom
 * endpoint. So the bench drop has a dot, for both paths (the Whilter credential uses path style anyway).
 */
export const BUCKET = 'bench.drop';
export const PREFIX = 'in';
export const TEMPLATE = 'T-1';
export const CLIENT = 'bench';
export const CLIENT_ID = 'bench-client';
export const CLIENT_SECRET = 'bench-secret';

/** The two ways of running the campaign: n8n's built-in nodes, or Whilter Batch. */
export type Path = 'builtin' | 'whilter';
export const PATHS: readonly Path[] = ['builtin', 'whilter'];
/** What a run can be: a path of the comparison, or Whilter Batch reading a CSV file from disk (bench/builtin/fileCase.ts). */
export type RunPath = Path | 'whilter-file';

/** Rows of the CSV file case: BENCH_FILE_N8N_ROWS, else 10M (1M with --quick); 0 leaves it out. */
export const FILE_ROWS = Number(process.env.BENCH_FILE_N8N_ROWS ?? (process.argv.includes('--quick') || process.env.BENCH_QUICK === '1' ? 1_000_000 : 10_000_000));

export const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms));
