/**
 * `npm run bench` (built-in comparison) or alone: `npx tsx bench/builtin.ts`.
 *
 * The same 100k-row campaign in a real n8n (the pinned 2.41.1, this package's dist/ loaded), two ways:
 * - built-in nodes: Code → Convert to File (CSV) → Compression (ZIP, Whilter's file name) → AWS S3
 *   (upload) → HTTP Request (token) → HTTP Request (POST /<client>/task);
 * - Code → Whilter Batch.
 * The workflows are bench/workflows/*.json. The Code node is the same in both, so the source rows are
 * identical. Both must do the real job: the contract server creates a task only when the ZIP with the
 * right name exists at file-path, and afterwards this script reads each ZIP back and counts its rows.
 *
 * Measured per execution: wall time (n8n's startedAt → stoppedAt, and this script's own clock from the
 * run request until n8n reports the execution stopped, which includes n8n saving the execution's data)
 * and peak RSS of the n8n process tree, sampled every 50 ms from /proc: the main process and,
 * separately, its children (n8n 2.x runs Code nodes in a task runner child process). VmHWM is not
 * used: it is the process lifetime's peak, not this execution's. Each measured run is preceded by a
 * 1,000-row warm-up of the same path, and the paths alternate (builtin, whilter, builtin, whilter); the
 * summary takes the best figure of each path's runs. No GC is forced.
 *
 * Each measured run gets a fresh n8n (same settings) unless BENCH_BUILTIN_N8N=shared: see
 * runBuiltinBench for why. The contract server and the S3 server run in a child process of their own,
 * so their memory is not counted. Figures are printed, never asserted.
 * Environment: BENCH_BUILTIN_ROWS (default 100000,1000000), BENCH_BUILTIN_RUNS (runs per path and size, default 3),
 * BENCH_BUILTIN_N8N=shared, N8N_E2E_SKIP_BUILD=1 (use dist/ as it is), BENCH_FILE_N8N_ROWS (the CSV file case, default 10000000; 0 leaves it out).
 *
 * Then Whilter Batch alone reads a CSV file of the same rows from disk (bench/builtin/fileCase.ts).
 *
 * The parts, under bench/builtin/: config.ts (rows, runs, names), servers.ts (the servers' process),
 * workflows.ts (the workflows with the run's values), n8n.ts (an n8n with the credentials, the
 * warm-up), runs.ts (one measured execution and its checks), rss.ts (memory from /proc), report.ts
 * (the printed lines).
 */
import { S3Client } from '@aws-sdk/client-s3';

import { ensureN8n } from '../e2e/n8n';
import { ensurePackageBuilt } from '../e2e/package';
import { FILE_ROWS, PATHS, ROW_COUNTS, RUNS, SAMPLE_MS } from './builtin/config';
import type { Path } from './builtin/config';
import { warmUp, withN8n } from './builtin/n8n';
import type { Bench } from './builtin/n8n';
import { describeRun, summarise } from './builtin/report';
import type { RunResult } from './builtin/report';
import { runPath } from './builtin/runs';
import type { RunContext } from './builtin/runs';
import { runFileBench } from './builtin/fileCase';
import { startServers } from './builtin/servers';

/** A client that reads the uploaded ZIPs straight from the S3 server (not through the shim n8n uploads to). */
function directS3Client(servers: Bench['servers']): S3Client {
	return new S3Client({
		endpoint: servers.s3Direct,
		region: servers.region,
		forcePathStyle: true,
		credentials: { accessKeyId: servers.accessKeyId, secretAccessKey: servers.secretAccessKey },
		requestChecksumCalculation: 'WHEN_REQUIRED',
		responseChecksumValidation: 'WHEN_REQUIRED',
	});
}

/** Every measured run, in the order builtin, whilter, builtin, whilter; each warmed up first (see runBuiltinBench). */
async function measureAll(bench: Bench, shared: boolean, rows: number, only: Path): Promise<Record<Path, RunResult[]>> {
	const paths = PATHS.filter((path) => path === only);
	const results: Record<Path, RunResult[]> = { builtin: [], whilter: [] };
	const measure = async (ctx: RunContext, path: Path, run: number): Promise<void> => {
		const result = await runPath(ctx, path, run, rows);
		results[path].push(result);
		bench.out(describeRun(result));
	};
	if (shared) {
		await withN8n(bench, async (ctx) => {
			for (const path of paths) await warmUp(bench, ctx, path);
			for (let run = 1; run <= RUNS; run++) for (const path of paths) await measure(ctx, path, run);
		});
		return results;
	}
	for (let run = 1; run <= RUNS; run++) {
		for (const path of paths) {
			await withN8n(bench, async (ctx) => {
				await warmUp(bench, ctx, path);
				await measure(ctx, path, run);
			});
		}
	}
	return results;
}

/**
 * Runs the comparison for each row count and prints it; returns the `compare-<rows>:` lines and the
 * `builtin-<largest>:` part of the summary. A path that fails (n8n out of memory, a string longer
 * than JavaScript allows) is reported with its error, and the other path still runs. `out` receives
 * every line (stdout by default).
 *
 * By default each measured run gets an n8n of its own (same settings, warmed up with that path), in
 * the order builtin, whilter, builtin, whilter: RSS measured on one long-lived n8n only ratchets up
 * (each execution starts from the heap the previous ones left: 1.0 → 1.6 → 1.7 → 1.8 GB here, idle
 * time does not give it back), so the second path's peak would mostly measure the first one.
 * BENCH_BUILTIN_N8N=shared runs all of them in one n8n instead (wall times comparable, peaks not).
 */
export async function runBuiltinBench(out: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Promise<{ lines: string[]; part: string }> {
	const shared = process.env.BENCH_BUILTIN_N8N === 'shared';
	out(
		`\nBuilt-in nodes vs Whilter Batch: ${ROW_COUNTS.length ? `${ROW_COUNTS.join(', ')} rows` : 'no row counts (BENCH_BUILTIN_ROWS=0)'}, Code → … → task, in a real n8n ` +
			`(${shared ? 'one n8n for every run' : 'a fresh n8n for each run'}; wall time; peak RSS of the n8n main process + task runner, sampled every ${SAMPLE_MS} ms; median of ${RUNS} runs)`,
	);
	const built = await ensurePackageBuilt();
	if (built.built) out(`(built the package: ${built.reason})`);
	await ensureN8n();
	const serverProcess = await startServers();
	const s3 = directS3Client(serverProcess.addresses);
	try {
		const lines: string[] = [];
		let part = 'not run';
		for (const rows of ROW_COUNTS) {
			const results: Record<Path, RunResult[]> = { builtin: [], whilter: [] };
			const failures: Partial<Record<Path, string>> = {};
			for (const path of PATHS) {
				try {
					const one = await measureAll({ servers: serverProcess.addresses, s3, out }, shared, rows, path);
					results[path] = one[path];
				} catch (error) {
					failures[path] = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').slice(0, 300);
					out(`${path}-${rows}: FAILED: ${failures[path]}`);
				}
			}
			const summary = summarise(results, rows, RUNS, out, failures);
			lines.push(summary.line);
			part = summary.part;
		}
		if (FILE_ROWS > 0) lines.push(await runFileBench({ servers: serverProcess.addresses, s3, out }));
		return { lines, part };
	} finally {
		s3.destroy();
		await serverProcess.stop();
	}
}

if (require.main === module) {
	runBuiltinBench()
		.then(({ lines, part }) => process.stdout.write(`\n${[...lines, part].join('\n')}\n`))
		.catch((error: unknown) => {
			process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
			process.exit(1);
		});
}
