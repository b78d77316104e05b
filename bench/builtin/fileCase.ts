/**
 * Whilter Batch with a CSV file from disk in a real n8n: Manual Trigger → Read/Write Files from Disk →
 * Whilter Batch (CSV File input), with n8n's filesystem binary data mode, so the file streams from
 * n8n's binary storage. Measured as the comparison measures (a fresh n8n for each run after a
 * 1,000-row warm-up, wall time, peak RSS of n8n's process tree); the file has the comparison's rows.
 */
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FILE_ROWS, RUNS } from './config';
import { warmUp, withN8n } from './n8n';
import type { Bench } from './n8n';
import { best, bestLine, describeRun, label } from './report';
import type { RunResult } from './report';
import { runPath } from './runs';

const CITIES = ['Pune', 'Chennai', 'Delhi', 'Mumbai', 'Bengaluru', 'Kolkata'];
const LANGUAGES = ['en', 'hi', 'ta', 'mr'];

/** The rows the comparison's Code node makes, as a CSV file. */
async function writeCampaignCsv(path: string, rows: number): Promise<void> {
	const out = createWriteStream(path);
	out.write('phone,name,city,offer,amount,language\n');
	for (let i = 0; i < rows; i += 5000) {
		let text = '';
		for (let j = i; j < Math.min(rows, i + 5000); j++) {
			text += `+91${9_000_000_000 + j},Customer ${j},${CITIES[j % CITIES.length]},"offer ${j % 13}, limited",${(j % 997) * 1.5},${LANGUAGES[j % LANGUAGES.length]}\n`;
		}
		if (!out.write(text)) await once(out, 'drain');
	}
	out.end();
	await once(out, 'finish');
}

/** Runs the file case; returns its `n8n-file-<rows>:` line, or a line saying how it failed. */
export async function runFileBench(bench: Bench): Promise<string> {
	const rows = FILE_ROWS;
	const name = `n8n-file-${label(rows)}`;
	const dir = mkdtempSync(join(tmpdir(), 'whilter-bench-files-'));
	try {
		const warmPath = join(dir, 'warm-up.csv');
		const csvPath = join(dir, `rows-${rows}.csv`);
		await writeCampaignCsv(warmPath, 1000);
		await writeCampaignCsv(csvPath, rows);
		bench.out(
			`\nWhilter Batch reading a CSV file from disk in a real n8n: ${rows} rows (${Math.round(statSync(csvPath).size / 1048576)} MB), ` +
				`Read/Write Files from Disk → Whilter Batch, filesystem binary data; a fresh n8n for each of ${RUNS} runs`,
		);
		// n8n 2.x reads files only inside N8N_RESTRICT_FILE_ACCESS_TO; the binary data mode is set, not assumed.
		const env = { N8N_RESTRICT_FILE_ACCESS_TO: dir, N8N_DEFAULT_BINARY_DATA_MODE: 'filesystem' };
		const results: RunResult[] = [];
		for (let run = 1; run <= RUNS; run++) {
			await withN8n(
				bench,
				async (ctx) => {
					await warmUp(bench, ctx, 'whilter-file', warmPath);
					const result = await runPath(ctx, 'whilter-file', run, rows, csvPath);
					results.push(result);
					bench.out(describeRun(result));
				},
				env,
			);
		}
		bench.out(`median of ${RUNS} runs:`);
		const line = bestLine('whilter-file', label(rows), best(results)).replace(/^whilter-file-/, 'n8n-file-');
		bench.out(line);
		return line;
	} catch (error) {
		const line = `${name}: FAILED: ${(error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').slice(0, 300)}`;
		bench.out(line);
		return line;
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}
