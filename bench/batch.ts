/**
 * `npm run bench` (batch part): rows → CSV → ZIP → S3 → task, timed and measured, for 10k, 100k and
 * 1M item rows and for 1M and 10M rows from a CSV file, against the contract server and the S3 server
 * on loopback. The floor is CSV escaping plus zlib deflateRaw (level 6) of the same rows in one
 * process. Figures are printed, never asserted.
 *
 * Each case runs in a child process of its own so peak RSS is that case's alone.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDeflateRaw } from 'node:zlib';

import type { IDataObject } from 'n8n-workflow';

const COLUMNS = ['phone', 'name', 'city', 'segment', 'offer', 'amount'];

export function makeRow(i: number): IDataObject {
	return {
		phone: `+91${9_000_000_000 + i}`,
		name: `Customer ${i}`,
		city: `City ${i % 500}`,
		segment: `seg-${i % 7}`,
		offer: `offer ${i % 13}, limited`,
		amount: (i % 997) * 1.5,
	};
}

function csvLine(row: IDataObject): string {
	return (
		COLUMNS.map((c) => {
			const text = String(row[c] ?? '');
			return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
		}).join(',') + '\r\n'
	);
}

interface Measured {
	case: string;
	rows: number;
	wallMs: number;
	peakRssMb: number;
	/** RSS before the case's rows existed (runtime, n8n-core, servers loaded). */
	baselineRssMb: number;
	rowsRssMb: number;
	maxBlockMs: number;
	csvMb?: number;
}

function mb(bytes: number): number {
	return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

function settle(): void {
	(globalThis as { gc?: () => void }).gc?.();
}

/**
 * Samples RSS and event-loop blocking while `work` runs. `work` may return the wall time it wants
 * reported (n8n's own execution time of the node, leaving out the test input's setup) and the CSV
 * bytes it produced.
 */
async function measure(
	name: string,
	rows: number,
	baselineRss: number,
	rowsRss: number,
	work: () => Promise<{ wallMs?: number; csvBytes?: number } | void>,
): Promise<Measured> {
	const histogram = monitorEventLoopDelay({ resolution: 10 });
	let peak = process.memoryUsage().rss;
	const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 25);
	histogram.enable();
	const started = performance.now();
	const reported = (await work()) ?? {};
	const wallMs = reported.wallMs ?? performance.now() - started;
	histogram.disable();
	clearInterval(sampler);
	peak = Math.max(peak, process.memoryUsage().rss);
	return {
		case: name,
		rows,
		wallMs: Math.round(wallMs),
		peakRssMb: mb(peak),
		baselineRssMb: mb(baselineRss),
		rowsRssMb: mb(rowsRss),
		maxBlockMs: Math.round(histogram.max / 1e6),
		...(reported.csvBytes ? { csvMb: mb(reported.csvBytes) } : {}),
	};
}

async function floor(rows: number): Promise<Measured> {
	settle();
	return await measure(`floor ${label(rows)}`, rows, process.memoryUsage().rss, 0, async () => {
		let bytes = 0;
		const source = Readable.from(
			(function* () {
				const batch = 2000;
				for (let i = 0; i < rows; i += batch) {
					let text = '';
					for (let j = i; j < Math.min(rows, i + batch); j++) text += csvLine(makeRow(j));
					const buffer = Buffer.from(text);
					bytes += buffer.length;
					yield buffer;
				}
			})(),
		);
		const sink = new Writable({ write: (_c: Buffer, _e: string, cb: () => void) => cb() });
		await pipeline(source, createDeflateRaw({ level: 6 }), sink);
		return { csvBytes: bytes };
	});
}

async function nodeCase(kind: 'items' | 'file', rows: number, dir: string): Promise<Measured> {
	// Loaded here so the floor runs without n8n-core in memory; the servers run in a process of their own.
	const { CredentialStore, runChain, shutdownN8nCore } = await import('../test/harness/run');
	const servers = await startServers();
	const { s3 } = servers.addresses;
	const whilter = { url: servers.addresses.whilter };
	const store = new CredentialStore();
	const credential = store.add('whilterApi', {
		baseUrl: whilter.url,
		client: 'bench',
		authentication: 'clientCredentials',
		clientId: 'bench-client',
		clientSecret: 'bench-secret',
		tokenUrl: `${whilter.url}/getToken/token`,
		s3Bucket: 'bench',
		s3Prefix: 'in',
		s3Region: s3.region,
		s3AccessKeyId: s3.accessKeyId,
		s3SecretAccessKey: s3.secretAccessKey,
		s3Endpoint: s3.endpoint,
		s3ForcePathStyle: true,
	});
	const node = {
		name: 'Batch',
		type: 'whilterBatch',
		parameters: { inputSource: kind, identifierColumn: 'phone', templateId: 'T-1', campaignId: `bench-${kind}-${rows}`, binaryPropertyName: 'data' },
		credentials: { whilterApi: credential },
	};
	try {
		// Warm the engine and the servers so the baseline includes them.
		const warm = await runChain({ items: [{ json: makeRow(0) }], nodes: [{ ...node, parameters: { ...node.parameters, inputSource: 'items', campaignId: 'warm-up' } }], credentials: store });
		if (warm.error) throw warm.error;
		settle();
		const baseline = process.memoryUsage().rss;
		if (kind === 'items') {
			const items = Array.from({ length: rows }, (_, i) => ({ json: makeRow(i) }));
			// The rows' own memory is what they take as n8n holds them after a node emitted them
			// (items with their pairedItem): measured with the source node alone.
			const sourceOnly = await runChain({ items, nodes: [], credentials: store });
			if (sourceOnly.error) throw sourceOnly.error;
			settle();
			const rowsRss = process.memoryUsage().rss - baseline;
			return await measure(`node items ${label(rows)}`, rows, baseline, rowsRss, async () => {
				const result = await runChain({ items, nodes: [node], credentials: store });
				if (result.error) throw result.error;
				return { wallMs: result.run.data.resultData.runData.Batch[0].executionTime };
			});
		}
		const path = join(dir, `rows-${rows}.csv`);
		// Written by a process of its own, so the writing's memory is not counted as the node's.
		execFileSync(process.execPath, ['--import', 'tsx', __filename, '--write-csv', path, String(rows)], { stdio: 'inherit' });
		settle();
		const result = await measure(`node file ${label(rows)}`, rows, process.memoryUsage().rss, 0, async () => {
			const run = await runChain({
				items: [{ json: {} }],
				files: [{ property: 'data', path, fileName: 'rows.csv', mimeType: 'text/csv' }],
				nodes: [node],
				credentials: store,
			});
			if (run.error) throw run.error;
			return { wallMs: run.run.data.resultData.runData.Batch[0].executionTime, csvBytes: statSync(path).size };
		});
		rmSync(path, { force: true });
		return result;
	} finally {
		await servers.stop();
		await shutdownN8nCore();
	}
}

/** Peak RSS above what the process held before the case, less the rows' own memory. */
function overRows(r: Measured): number {
	return Math.round((r.peakRssMb - r.baselineRssMb - r.rowsRssMb) * 10) / 10;
}

interface ServerAddresses {
	s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string };
	whilter: string;
}

async function startServers(): Promise<{ addresses: ServerAddresses; stop: () => Promise<void> }> {
	const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'servers.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
	const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
	return {
		addresses: JSON.parse(line) as ServerAddresses,
		stop: async () => {
			child.stdin!.end();
			await once(child, 'exit');
		},
	};
}

function label(rows: number): string {
	return rows >= 1_000_000 ? `${rows / 1_000_000}M` : `${rows / 1000}k`;
}

async function child(spec: string): Promise<void> {
	const [kind, rowsText] = spec.split(':');
	const rows = Number(rowsText);
	const dir = mkdtempSync(join(tmpdir(), 'whilter-bench-'));
	try {
		const result = kind === 'floor' ? await floor(rows) : await nodeCase(kind as 'items' | 'file', rows, dir);
		process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

function runChild(spec: string): Measured {
	const output = execFileSync(process.execPath, ['--import', 'tsx', '--expose-gc', __filename, '--case', spec], {
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'inherit'],
		maxBuffer: 64 * 1024 * 1024,
		env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=8192' },
	});
	const line = output.split('\n').find((l) => l.startsWith('RESULT '));
	if (!line) throw new Error(`bench case ${spec} printed no result`);
	return JSON.parse(line.slice(7)) as Measured;
}

export function runBatchBench(): string {
	const cases = (process.env.BENCH_BATCH_CASES ?? 'floor:10000,items:10000,floor:100000,items:100000,floor:1000000,items:1000000,file:1000000,floor:10000000,file:10000000').split(',');
	const results = new Map<string, Measured>();
	process.stdout.write('\nWhilter Batch: rows → CSV → ZIP → S3 → task (wall time, peak RSS, RSS of the rows themselves, longest event-loop block, ratio to the floor)\n');
	process.stdout.write('case                     rows   wall ms  peak RSS MB  base RSS MB  rows RSS MB  over rows MB  max block ms  ratio\n');
	for (const spec of cases) {
		const r = runChild(spec);
		results.set(spec, r);
		const [kind, rows] = spec.split(':');
		const floorResult = results.get(`floor:${rows}`);
		const ratio = kind !== 'floor' && floorResult ? (r.wallMs / floorResult.wallMs).toFixed(2) : '-';
		const over = kind === 'floor' ? '-' : overRows(r).toFixed(1);
		process.stdout.write(
			`${r.case.padEnd(20)} ${String(r.rows).padStart(9)} ${String(r.wallMs).padStart(9)} ${r.peakRssMb.toFixed(1).padStart(12)} ${r.baselineRssMb.toFixed(1).padStart(12)} ${r.rowsRssMb.toFixed(1).padStart(12)} ${over.padStart(13)} ${String(r.maxBlockMs).padStart(13)}  ${ratio}\n`,
		);
	}
	const items1M = results.get('items:1000000');
	const file10M = results.get('file:10000000');
	const floor1M = results.get('floor:1000000');
	const floor10M = results.get('floor:10000000');
	const itemsPart = items1M && floor1M
		? `ratio=${(items1M.wallMs / floor1M.wallMs).toFixed(2)} rss_over_rows_mb=${overRows(items1M).toFixed(1)} max_block_ms=${items1M.maxBlockMs}`
		: 'not run';
	const filePart = file10M && floor10M ? `ratio=${(file10M.wallMs / floor10M.wallMs).toFixed(2)} peak_rss_mb=${file10M.peakRssMb.toFixed(1)}` : 'not run';
	return `batch-1M items: ${itemsPart}; file-10M: ${filePart}`;
}

async function writeCsv(path: string, rows: number): Promise<void> {
	const out = createWriteStream(path);
	out.write(COLUMNS.join(',') + '\r\n');
	for (let i = 0; i < rows; i += 2000) {
		let text = '';
		for (let j = i; j < Math.min(rows, i + 2000); j++) text += csvLine(makeRow(j));
		if (!out.write(text)) await once(out, 'drain');
	}
	out.end();
	await once(out, 'finish');
}

if (process.argv.includes('--write-csv')) {
	const at = process.argv.indexOf('--write-csv');
	void writeCsv(process.argv[at + 1], Number(process.argv[at + 2]));
}

if (process.argv.includes('--case')) {
	child(process.argv[process.argv.indexOf('--case') + 1]).catch((error: unknown) => {
		process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
		process.exit(1);
	});
}
