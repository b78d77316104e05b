/** `npm run bench`: every benchmark of the package; the last lines are machine-readable. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

import { runBatchBench } from './batch';
import { runBuiltinBench } from './builtin';

/** A benchmark script in a fresh process (n8n-core's services are per process), its figure lines kept. */
function runScript(file: string, pattern: RegExp): string[] {
	const output = execFileSync(process.execPath, ['--import', 'tsx', join(__dirname, file)], {
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'inherit'],
		maxBuffer: 64 * 1024 * 1024,
	});
	process.stdout.write(output);
	return output.split('\n').filter((line) => pattern.test(line));
}

async function main(): Promise<void> {
	const only = new Set((process.env.BENCH_ONLY ?? 'batch,results,realtime,timepay,builtin').split(','));
	const lines: string[] = [];
	let batch = '';
	if (only.has('batch')) batch = runBatchBench();
	// Whilter Status reading a 1M-row output CSV, as items and with the rows not kept.
	if (only.has('results')) lines.push(...runScript('results.ts', /^results-/));
	// Realtime at concurrency 1 and at the node's default; TimePay sends one initiation per item in turn.
	if (only.has('realtime')) lines.push(...runScript('realtime.ts', /^realtime: /));
	if (only.has('timepay')) lines.push(...runScript('timepay.ts', /^timepay: /));
	// The same campaign through n8n's built-in nodes and through Whilter Batch, in a real n8n (bench/builtin.ts).
	if (only.has('builtin')) lines.push(process.env.BENCH_BUILTIN === '0' ? 'compare: not run (BENCH_BUILTIN=0)' : await runBuiltinBench());
	process.stdout.write(`\n${[...lines, batch].filter(Boolean).join('\n')}\n`);
}

main().catch((error: unknown) => {
	process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
	process.exit(1);
});
