/**
 * `npm run bench [-- --quick]`: every benchmark of the package; the last lines are machine-readable
 * and the very last is the summary. Every figure is the median of BENCH_RUNS runs (3; 1 with --quick,
 * which also runs the smaller cases only). BENCH_ONLY=batch,results,realtime,timepay,builtin picks parts.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

import { runBatchBench } from './batch';
import { runBuiltinBench } from './builtin';

/** A benchmark script in a fresh process (n8n-core's services are per process), its figure lines kept. */
function runScript(file: string, pattern: RegExp): string[] {
	const output = execFileSync(process.execPath, ['--import', 'tsx', join(__dirname, file), ...process.argv.slice(2)], {
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'inherit'],
		maxBuffer: 64 * 1024 * 1024,
	});
	process.stdout.write(output);
	return output.split('\n').filter((line) => pattern.test(line));
}

async function main(): Promise<void> {
	const only = new Set((process.env.BENCH_ONLY ?? 'batch,results,realtime,timepay,builtin').split(','));
	const started = Date.now();
	const lines: string[] = [];
	let batch = 'batch: not run';
	if (only.has('batch')) batch = runBatchBench().line;
	// Whilter Status reading a 1M-row output CSV: the parser alone (kept and not), then the node.
	if (only.has('results')) {
		lines.push(...runScript('results.ts', /^results-/));
		// Whilter Status → Get Results of 1M rows through the node, as items and as a CSV file.
		lines.push(...runScript('getResults.ts', /^results-get/));
	}
	// Realtime at concurrency 1 and at the node's default; TimePay sends one initiation per item in turn.
	let realtime = 'realtime: not run';
	if (only.has('realtime')) {
		const found = runScript('realtime.ts', /^realtime(-summary|-bare-client)?: /);
		lines.push(...found.filter((line) => !line.startsWith('realtime-summary: ')));
		const summary = found.find((line) => line.startsWith('realtime-summary: '));
		if (summary) realtime = `realtime: ${/efficiency=[\d.]+/.exec(summary)?.[0] ?? 'efficiency=?'}`;
	}
	if (only.has('timepay')) lines.push(...runScript('timepay.ts', /^timepay: /));
	// The same campaign through n8n's built-in nodes and through Whilter Batch, in a real n8n (bench/builtin.ts).
	let builtin = 'builtin: not run';
	if (only.has('builtin') && process.env.BENCH_BUILTIN !== '0') {
		const compared = await runBuiltinBench();
		lines.push(...compared.lines);
		builtin = compared.part;
	}
	lines.push(`bench took ${Math.round((Date.now() - started) / 60_000)} min`);
	// The last line: the figures the acceptance is read from, each a median of the runs.
	process.stdout.write(`\n${lines.join('\n')}\n${[batch, builtin, realtime].join('; ')}\n`);
}

main().catch((error: unknown) => {
	process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
	process.exit(1);
});
