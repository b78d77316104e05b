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
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

import type { IExecuteFunctions, INodeType } from 'n8n-workflow';

import { blocksIn, longestBlocks, startLoopLag } from './lib/loopLag';
import { median, quickMode, runCount, spread } from './lib/stats';

type Format = 'items' | 'binary';

interface Measured {
	format: Format;
	rows: number;
	wallMs: number;
	peakRssMb: number;
	beforeRssMb: number;
	maxBlockMs: number;
	p99BlockMs: number;
	longest: string[];
	outputItems: number;
}

interface ServerFacts {
	s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string };
	whilter: string;
	/** A completed task of `rows` result rows, and a small one for warming up. */
	task: string;
	warmTask: string;
}

function mb(bytes: number): number {
	return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

function resultRows(): number {
	return Number(process.env.BENCH_RESULTS_ROWS ?? 1_000_000);
}

/** --servers: the contract server and S3 with the two tasks completed, until standard input closes. */
async function servers(rows: number): Promise<void> {
	const { startS3Server } = await import('../test/servers/s3');
	const { startWhilterServer } = await import('../test/servers/whilter');
	const s3 = await startS3Server({ buckets: ['bench'] });
	const whilter = await startWhilterServer({
		client: 'bench',
		clientId: 'bench-client',
		clientSecret: 'bench-secret',
		s3: { endpoint: s3.endpoint, bucket: 'bench', region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
		checkRowCount: false,
	});
	const completed = async (count: number) => {
		const id = await whilter.seedTask({ rows: count, campaign: `results-${count}` });
		await whilter.advance(id);
		await whilter.advance(id);
		return id;
	};
	const facts: ServerFacts = {
		s3: { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
		whilter: whilter.url,
		task: await completed(rows),
		warmTask: await completed(10),
	};
	process.stdout.write(`${JSON.stringify(facts)}\n`);
	process.stdin.resume();
	process.stdin.on('end', () => {
		void Promise.all([whilter.close(), s3.close()]).then(() => process.exit(0));
	});
}

async function startServers(rows: number): Promise<{ facts: ServerFacts; stop: () => Promise<void> }> {
	const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--servers', String(rows)], { stdio: ['pipe', 'pipe', 'inherit'] });
	const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
	return {
		facts: JSON.parse(line) as ServerFacts,
		stop: async () => {
			child.stdin!.end();
			await once(child, 'exit');
		},
	};
}

async function runCase(format: Format, rows: number): Promise<Measured> {
	const { CredentialStore, packageNodeTypes, runChain, shutdownN8nCore } = await import('../test/harness/run');
	const epochNow = () => performance.timeOrigin + performance.now();
	let code: { from: number; to: number } | undefined;
	const statusType = packageNodeTypes.whilterStatus as INodeType;
	const execute = statusType.execute!;
	statusType.execute = async function (this: IExecuteFunctions) {
		const from = epochNow();
		try {
			return await execute.call(this);
		} finally {
			code = { from, to: epochNow() };
		}
	};
	const { facts, stop } = await startServers(rows);
	try {
		const store = new CredentialStore();
		const credential = store.add('whilterApi', {
			baseUrl: facts.whilter,
			client: 'bench',
			authentication: 'clientCredentials',
			clientId: 'bench-client',
			clientSecret: 'bench-secret',
			tokenUrl: `${facts.whilter}/getToken/token`,
			s3Bucket: 'bench',
			s3Prefix: 'in',
			s3Region: facts.s3.region,
			s3AccessKeyId: facts.s3.accessKeyId,
			s3SecretAccessKey: facts.s3.secretAccessKey,
			s3Endpoint: facts.s3.endpoint,
			s3ForcePathStyle: true,
		});
		const node = (taskId: string) => ({
			name: 'Status',
			type: 'whilterStatus',
			parameters: { taskId, operation: 'getResults', resultFormat: format, ...(format === 'binary' ? { binaryPropertyName: 'data' } : {}) },
			credentials: { whilterApi: credential },
		});
		const warm = await runChain({ items: [{ json: {} }], nodes: [node(facts.warmTask)], credentials: store });
		if (warm.error) throw warm.error;
		(globalThis as { gc?: () => void }).gc?.();
		const before = process.memoryUsage.rss();
		let peak = before;
		const sampler = setInterval(() => {
			peak = Math.max(peak, process.memoryUsage.rss());
		}, 10);
		const lag = startLoopLag();
		const run = await runChain({ items: [{ json: {} }], nodes: [node(facts.task)], credentials: store });
		const samples = lag.stop();
		clearInterval(sampler);
		peak = Math.max(peak, process.memoryUsage.rss());
		if (run.error) throw run.error;
		const output = run.output('Status');
		if (format === 'items' && output.length !== rows) throw new Error(`expected ${rows} items, got ${output.length}`);
		if (format === 'binary' && !output[0]?.binary?.data) throw new Error('the CSV file is missing from the output');
		const window = code ?? { from: -Infinity, to: Infinity };
		const own = blocksIn(samples, window.from, window.to);
		return {
			format,
			rows,
			wallMs: Math.round(window.to - window.from),
			peakRssMb: mb(peak),
			beforeRssMb: mb(before),
			maxBlockMs: own.maxBlockMs,
			p99BlockMs: own.p99BlockMs,
			longest: longestBlocks(samples, window.from, window.to),
			outputItems: output.length,
		};
	} finally {
		await stop();
		await shutdownN8nCore();
	}
}

function runChild(format: Format, rows: number): Measured {
	const output = execFileSync(process.execPath, ['--import', 'tsx', '--expose-gc', __filename, '--case', `${format}:${rows}`], {
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'inherit'],
		maxBuffer: 64 * 1024 * 1024,
		// n8n's own heap settings: none (see bench/batch.ts).
		env: { ...process.env, NODE_OPTIONS: '' },
	});
	const line = output.split('\n').find((l) => l.startsWith('RESULT '));
	if (!line) throw new Error(`results case ${format} printed no result`);
	return JSON.parse(line.slice(7)) as Measured;
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
				`  round ${round} ${format}: wall_ms=${m.wallMs} peak_rss_mb=${m.peakRssMb} over_before_mb=${(m.peakRssMb - m.beforeRssMb).toFixed(1)} max_block_ms=${m.maxBlockMs} p99_ms=${m.p99BlockMs} longest=${m.longest.join(',')}\n`,
			);
		}
	}
	const fig = (format: Format, f: (m: Measured) => number, digits = 1) => spread(measured[format].map(f), digits);
	for (const format of ['items', 'binary'] as const) {
		process.stdout.write(
			`results-get ${format === 'items' ? 'as items' : 'as CSV file'}: wall_ms=${fig(format, (m) => m.wallMs, 0)} peak_rss_mb=${fig(format, (m) => m.peakRssMb)} over_before_mb=${fig(format, (m) => m.peakRssMb - m.beforeRssMb)} max_block_ms=${fig(format, (m) => m.maxBlockMs)} p99_ms=${fig(format, (m) => m.p99BlockMs)}\n`,
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
