/**
 * `npx tsx --expose-gc bench/pieces.ts <piece> [rows]`: the memory of one piece of Whilter Batch's items
 * path over n8n items, run as a node in n8n-core's engine like the batch bench's no-op: `noop`,
 * `pair` (the output's pairing), `plan` (row planning), `csv` (plan + CSV text to a null sink),
 * `zip` (plan + CSV + ZIP to a null sink). Prints the peak RSS and heap above the RSS before the run.
 * For finding which piece a node_over_noop_mb figure comes from.
 */
import { Writable } from 'node:stream';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { ZipFile } from 'yazl';

import { createItemsCsvStream } from '../nodes/Whilter/batch/csvWriter';
import { planItemRowsAsync } from '../nodes/Whilter/batch/rows';
import { zipSingleEntry } from '../nodes/Whilter/batch/zip';
import { makeItemRow, makeRow } from './batch';

/** The ZIP as yazl makes it (the node's writer before it had its own), for comparing the two. */
function yazlZip(entry: Readable): Readable {
	const zip = new ZipFile();
	zip.addReadStream(entry, 'x.csv', { compress: true });
	zip.end();
	return zip.outputStream as Readable;
}

async function main(): Promise<void> {
	const [piece, rowsText] = process.argv.slice(2);
	const rows = Number(rowsText ?? 1_000_000);
	const { CredentialStore, probeNode, runChain, shutdownN8nCore } = await import('../test/harness/run');
	const mark = (what: string) => {
		if (process.env.BENCH_MARKS === '1') process.stderr.write(`[mark] ${performance.now().toFixed(0)} ms ${what}\n`);
	};
	const work = async (context: IExecuteFunctions): Promise<INodeExecutionData[]> => {
		const items = context.getInputData();
		mark('node start');
		if (piece === 'pair') {
			const pairs = [];
			for (let item = 0; item < items.length; item++) pairs.push({ item });
			return [{ json: {}, pairedItem: pairs }];
		}
		if (piece === 'noop') return [{ json: {} }];
		const json = items.map((i) => i.json);
		const plan = await planItemRowsAsync(json, { identifier: 'phone', skipInvalidRows: false, duplicateIdentifiers: 'error', nestedValues: 'error' });
		mark('planned');
		if (piece === 'csv' || piece === 'zip' || piece === 'yazl') {
			const csv = createItemsCsvStream({ rows: json, indexes: plan.indexes, columns: plan.columns, cellOptions: { nestedValues: 'error', neutraliseFormulas: false } });
			const sink = new Writable({ write: (_c: Buffer, _e: string, cb: () => void) => cb() });
			await pipeline(piece === 'zip' ? zipSingleEntry(csv, 'x.csv') : piece === 'yazl' ? yazlZip(csv) : csv, sink);
		}
		mark('node end');
		return [{ json: { rows: plan.rowCount } }];
	};
	const store = new CredentialStore();
	await runChain({ items: [{ json: makeRow(0) }], nodes: [probeNode('P', work)], credentials: store });
	const items = Array.from({ length: rows }, (_, i) => ({ json: process.env.BENCH_ROPE_ROWS === '1' ? makeRow(i) : makeItemRow(i) }));
	(globalThis as { gc?: () => void }).gc?.();
	const before = process.memoryUsage();
	let peakRss = before.rss;
	let peakHeap = before.heapTotal;
	let peakUsed = before.heapUsed;
	let peakExternal = before.external;
	let peakBuffers = before.arrayBuffers;
	const sample = () => {
		const m = process.memoryUsage();
		peakRss = Math.max(peakRss, m.rss);
		peakHeap = Math.max(peakHeap, m.heapTotal);
		peakUsed = Math.max(peakUsed, m.heapUsed);
		peakExternal = Math.max(peakExternal, m.external);
		peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
	};
	const sampler = setInterval(sample, 10);
	mark('run start');
	const run = await runChain({ items, nodes: [probeNode('P', work)], credentials: store });
	mark('run end');
	clearInterval(sampler);
	if (run.error) throw run.error;
	sample();
	const mb = (b: number) => (b / 1048576).toFixed(1);
	process.stdout.write(
		`piece ${piece} rows=${rows}: rss_over_before_mb=${mb(peakRss - before.rss)} heap_total_over_before_mb=${mb(peakHeap - before.heapTotal)} ` +
			`heap_used_over_before_mb=${mb(peakUsed - before.heapUsed)} external_over_before_mb=${mb(peakExternal - before.external)} array_buffers_over_before_mb=${mb(peakBuffers - before.arrayBuffers)}\n`,
	);
	await shutdownN8nCore();
}

void main();
