/**
 * `npx tsx bench/getResults.ts [--quick]`: Whilter Status → Get Results over a task of 1M result rows
 * (BENCH_RESULTS_ROWS), run as a node in n8n-core's engine like the batch bench, once with Output
 * "One Item per Row" and once with Output "CSV File" (the file streamed from S3 into n8n's binary
 * storage, never held whole). Each case in a fresh process; the Whilter contract server and the S3
 * server run in a process of their own (this file with --servers), so their memory is not counted.
 * Prints peak RSS, RSS above the RSS before, wall time and event-loop blocks (max, p99) of the node's
 * own code; every figure the median (min–max) of BENCH_RUNS rounds (3; 1 with --quick).
 *
 * Ends with `results-get-1M: items_peak_rss_mb=… items_over_before_mb=… file_peak_rss_mb=…
 * file_over_before_mb=… max_block_ms=…` (max_block_ms the larger of the two cases).
 */
import type { INodeExecutionData, INodeType } from 'n8n-workflow';

import { measureRun, recordCodeWindow, settle } from './lib/measure';
import type { RunFigures, Window } from './lib/measure';
import { runCaseProcess, serveUntilStdinEnds, startServerProcess } from './lib/processes';
import { median, quickMode, runCount, spread } from './lib/stats';
import { benchWhilterCredential } from './servers';
import type { BenchServerAddresses } from './servers';

type Format = 'items' | 'binary';

interface Measured extends RunFigures {
	format: Format;
	rows: number;
	outputItems: number;
}

interface ServerFacts extends BenchServerAddresses {
	/** A completed task of `rows` result rows, and a small one for warming up. */
	task: string;
	warmTask: string;
}

function resultRows(): number {
	return Number(process.env.BENCH_RESULTS_ROWS ?? 1_000_000);
}

/** --servers: the contract server and S3 with the two tasks completed, until standard input closes. */
async function servers(rows: number): Promise<void> {
	const { startBenchServers } = await import('./servers');
	const { whilter, addresses, close } = await startBenchServers();
	const completed = async (count: number) => {
		const id = await whilter.seedTask({ rows: count, campaign: `results-${count}` });
		await whilter.advance(id);
		await whilter.advance(id);
		return id;
	};
	const facts: ServerFacts = { ...addresses, task: await completed(rows), warmTask: await completed(10) };
	serveUntilStdinEnds(JSON.stringify(facts), close);
}

async function startServers(rows: number): Promise<{ facts: ServerFacts; stop: () => Promise<void> }> {
	const { line, stop } = await startServerProcess(__filename, ['--servers', String(rows)]);
	return { facts: JSON.parse(line) as ServerFacts, stop };
}

async function runCase(format: Format, rows: number): Promise<Measured> {
	const { CredentialStore, packageNodeTypes, runChain, shutdownN8nCore } = await import('../test/harness/run');
	let code: Window | undefined;
	recordCodeWindow(packageNodeTypes.whilterStatus as INodeType, (window) => (code = window));
	const { facts, stop } = await startServers(rows);
	try {
		const store = new CredentialStore();
		const credential = store.add('whilterApi', benchWhilterCredential(facts));
		const node = (taskId: string) => ({
			name: 'Status',
			type: 'whilterStatus',
			parameters: { taskId, operation: 'getResults', resultFormat: format, ...(format === 'binary' ? { binaryPropertyName: 'data' } : {}) },
			credentials: { whilterApi: credential },
		});
		const warm = await runChain({ items: [{ json: {} }], nodes: [node(facts.warmTask)], credentials: store });
		if (warm.error) throw warm.error;
		settle();
		let output: INodeExecutionData[] = [];
		const figures = await measureRun(async () => {
			const run = await runChain({ items: [{ json: {} }], nodes: [node(facts.task)], credentials: store });
			if (run.error) throw run.error;
			output = run.output('Status');
			return { window: code, wallMs: code ? code.to - code.from : undefined };
		});
		if (format === 'items' && output.length !== rows) throw new Error(`expected ${rows} items, got ${output.length}`);
		if (format === 'binary' && !output[0]?.binary?.data) throw new Error('the CSV file is missing from the output');
		return { format, rows, ...figures, outputItems: output.length };
	} finally {
		await stop();
		await shutdownN8nCore();
	}
}

function runChild(format: Format, rows: number): Measured {
	return runCaseProcess<Measured>(__filename, ['--case', `${format}:${rows}`], `results ${format}`);
}

function main(): void {
	const rows = resultRows();
	const runs = runCount();
	const label = rows >= 1_000_000 ? `${rows / 1_000_000}M` : `${rows / 1000}k`;
	process.stdout.write(`\nWhilter Status → Get Results, ${rows} result rows; ${runs} round(s), each case in a fresh process${quickMode() ? ' (quick)' : ''}\n`);
	const measured: Record<Format, Measured[]> = { items: [], binary: [] };
	for (let round = 1; round <= runs; round++) {
		for (const format of ['items', 'binary'] as const) {
			const m = runChild(format, rows);
			measured[format].push(m);
			process.stdout.write(
				`  round ${round} ${format}: wall_ms=${m.wallMs} peak_rss_mb=${m.peakRssMb} over_before_mb=${(m.peakRssMb - m.beforeRssMb).toFixed(1)} max_block_ms=${m.maxBlockMs} p99_ms=${m.p99BlockMs} longest=${m.longest.join(',')} page_faults=${m.faults.window} longest_block_faults=${m.faults.longestBlock ?? '?'}\n`,
			);
		}
	}
	const fig = (format: Format, f: (m: Measured) => number, digits = 1) => spread(measured[format].map(f), digits);
	for (const format of ['items', 'binary'] as const) {
		process.stdout.write(
			`results-get ${format === 'items' ? 'as items' : 'as CSV file'}: wall_ms=${fig(format, (m) => m.wallMs, 0)} peak_rss_mb=${fig(format, (m) => m.peakRssMb)} over_before_mb=${fig(format, (m) => m.peakRssMb - m.beforeRssMb)} max_block_ms=${fig(format, (m) => m.maxBlockMs)} p99_ms=${fig(format, (m) => m.p99BlockMs)} longest_block_faults=${fig(format, (m) => m.faults.longestBlock ?? 0, 0)}\n`,
		);
	}
	const med = (format: Format, f: (m: Measured) => number) => median(measured[format].map(f)).toFixed(1);
	process.stdout.write(
		`results-get-${label}: items_peak_rss_mb=${med('items', (m) => m.peakRssMb)} items_over_before_mb=${med('items', (m) => m.peakRssMb - m.beforeRssMb)} ` +
			`file_peak_rss_mb=${med('binary', (m) => m.peakRssMb)} file_over_before_mb=${med('binary', (m) => m.peakRssMb - m.beforeRssMb)} ` +
			`max_block_ms=${Math.max(Number(med('items', (m) => m.maxBlockMs)), Number(med('binary', (m) => m.maxBlockMs))).toFixed(0)}\n`,
	);
}

const failed = (error: unknown) => {
	process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
	process.exit(1);
};

if (process.argv.includes('--servers')) {
	servers(Number(process.argv[process.argv.indexOf('--servers') + 1])).catch(failed);
} else if (process.argv.includes('--case')) {
	const [format, rowsText] = process.argv[process.argv.indexOf('--case') + 1].split(':') as [Format, string];
	runCase(format, Number(rowsText))
		.then((m) => process.stdout.write(`RESULT ${JSON.stringify(m)}\n`))
		.catch(failed);
} else {
	try {
		main();
	} catch (error) {
		failed(error);
	}
}
