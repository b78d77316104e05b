/**
 * `npx tsx bench/results.ts [rows]`: reading a Whilter output CSV of 1M rows (default) the way
 * readTaskResultRows does (streamed through parseResultCsv, chunk by chunk, rows kept as objects),
 * from a file on disk as it would arrive from S3. The file is written first, by a stream; the figures
 * cover the parse only (peak RSS is the process's whole peak).
 *
 * Prints `results-1M: seconds=… peak_rss_mb=… rows=…` plus the same pass with the rows not kept (what
 * the parser itself holds: one row at a time).
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parseResultCsv } from '../nodes/Whilter/api/resultCsv';

const ERROR = 'Template render failed: missing personalisation value';

async function writeOutputCsv(path: string, rows: number): Promise<void> {
	const out = createWriteStream(path);
	const write = async (text: string) => {
		if (!out.write(text)) await once(out, 'drain');
	};
	await write('phone,name,city,note,media-url,error\r\n');
	let batch = '';
	for (let i = 0; i < rows; i++) {
		const fails = (i + 1) % 5 === 0;
		const phone = `+9190${String(i).padStart(8, '0')}`;
		// Some cells need quoting, as real names and notes do.
		const note = i % 7 === 0 ? '"says ""hi"", twice"' : 'plain';
		batch += `${phone},Customer ${i},"Pune, MH",${note},${fails ? '' : `https://media.example.test/task-bench/${i}.mp4`},${fails ? ERROR : ''}\r\n`;
		if (batch.length > 64 * 1024) {
			await write(batch);
			batch = '';
		}
	}
	await write(batch);
	out.end();
	await once(out, 'finish');
}

function rssMb(): number {
	return process.memoryUsage.rss() / 1024 / 1024;
}

async function parse(path: string, keep: boolean): Promise<{ seconds: number; peakMb: number; rows: number; failed: number }> {
	let peak = rssMb();
	const sampler = setInterval(() => {
		peak = Math.max(peak, rssMb());
	}, 20);
	const kept: Array<Record<string, string>> = [];
	let rows = 0;
	let failed = 0;
	const started = process.hrtime.bigint();
	for await (const row of parseResultCsv(createReadStream(path, { highWaterMark: 64 * 1024 }), { requiredColumns: ['media-url', 'error'] })) {
		rows++;
		if (row.values.error !== '') failed++;
		if (keep) kept.push(row.values);
	}
	const seconds = Number(process.hrtime.bigint() - started) / 1e9;
	clearInterval(sampler);
	peak = Math.max(peak, rssMb());
	// Keeps the rows alive until measured.
	if (keep && kept.length !== rows) throw new Error('rows lost');
	return { seconds, peakMb: peak, rows, failed };
}

async function main(): Promise<void> {
	// A row count may be given; the flags npm run bench passes on (--quick) are not one.
	const rows = Number(process.argv.slice(2).find((arg) => /^\d+$/.test(arg)) ?? 1_000_000);
	const dir = mkdtempSync(join(tmpdir(), 'whilter-results-bench-'));
	const path = join(dir, 'output.csv');
	try {
		await writeOutputCsv(path, rows);
		const mb = statSync(path).size / 1024 / 1024;
		const label = rows % 1_000_000 === 0 ? `${rows / 1_000_000}M` : rows % 1000 === 0 ? `${rows / 1000}k` : String(rows);
		const baseline = rssMb();
		// Rows not kept first: the parser's own footprint, before the kept rows grow the heap.
		const streamed = await parse(path, false);
		const kept = await parse(path, true);
		if (streamed.rows !== rows || kept.rows !== rows) throw new Error(`expected ${rows} rows, parsed ${streamed.rows} / ${kept.rows}`);
		if (kept.failed !== Math.floor(rows / 5)) throw new Error(`expected ${Math.floor(rows / 5)} failed rows, found ${kept.failed}`);
		process.stdout.write(
			`file: ${rows} rows, ${mb.toFixed(1)} MB; RSS before parsing ${baseline.toFixed(1)} MB\n` +
				`results-${label} streamed (rows not kept): seconds=${streamed.seconds.toFixed(2)} peak_rss_mb=${streamed.peakMb.toFixed(1)} rows=${streamed.rows}\n` +
				`results-${label}: seconds=${kept.seconds.toFixed(2)} peak_rss_mb=${kept.peakMb.toFixed(1)} rows=${kept.rows}\n`,
		);
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

main().catch((error: unknown) => {
	process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
	process.exit(1);
});
