/**
 * Whilter Batch with Input: CSV File, through n8n-core against the S3 server and the Whilter contract
 * server (which refuses a task whose row-count is not the number of rows papaparse reads in the ZIP):
 * rows are checked as the file streams, a bad row aborts the upload before any task exists, and the
 * row count sent is what Whilter reads.
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Papa from 'papaparse';
import type { IDataObject, INodeParameters } from 'n8n-workflow';

import { runChain } from '../harness/run';
import { DEFAULT_DROP, useWhilterWithS3 } from '../harness/whilter';
import { readZipEntries } from '../servers/zipEntries';

const { bucket: BUCKET, prefix: PREFIX } = DEFAULT_DROP;
const bed = useWhilterWithS3();
let workDir: string;

beforeAll(() => {
	workDir = mkdtempSync(join(tmpdir(), 'whilter-batch-file-test-'));
});

afterAll(() => {
	rmSync(workDir, { recursive: true, force: true });
});

function taskPosts() {
	return bed.whilter.requests.filter((r) => r.method === 'POST' && r.path === '/acme/task');
}

async function writeFile(name: string, write: (out: NodeJS.WritableStream) => Promise<void> | void): Promise<string> {
	const path = join(workDir, name);
	const out = createWriteStream(path);
	await write(out);
	out.end();
	await once(out, 'finish');
	return path;
}

async function runFile(path: string, campaignName: string, options: INodeParameters = {}) {
	return await runChain({
		items: [{ json: {} }],
		files: [{ property: 'data', path, fileName: 'customers.csv', mimeType: 'text/csv' }],
		nodes: [
			{
				name: 'Batch',
				type: 'whilterBatch',
				parameters: { inputSource: 'file', binaryPropertyName: 'data', identifierColumn: 'phone', templateId: 'T-100', campaignId: 'files', campaignName, options },
				credentials: { whilterApi: bed.credential },
			},
		],
		credentials: bed.store,
	});
}

async function csvInZip(key: string): Promise<string> {
	const [entry] = await readZipEntries(await bed.s3.getObjectBuffer(BUCKET, key));
	return entry.text;
}

describe('Whilter Batch, CSV file input: rows checked as they stream', () => {
	it('a duplicate identifier near the end of a large file aborts the multipart upload: no object left, no task', async () => {
		// Random hex barely compresses: the ZIP needs several 5 MiB parts, so the upload is well under way when the row comes.
		const path = await writeFile('duplicate.csv', async (out) => {
			out.write('phone,blob\n');
			for (let i = 0; i < 120_000; i++) {
				if (!out.write(`+91${i},${randomBytes(100).toString('hex')}\n`)) await once(out, 'drain');
			}
			out.write('+915,again\n');
		});
		const tasks = taskPosts().length;
		const result = await runFile(path, 'duplicate');
		expect(result.error?.message).toMatch(/data rows 6 and 120001 have the same identifier: column "phone" is "\+915" in both/);
		const key = `${PREFIX}/T-100_duplicate.zip`;
		const started = bed.s3.requests.filter((r) => r.method === 'POST' && r.path.includes('T-100_duplicate.zip') && /uploads/.test(r.query));
		expect(started.length).toBeGreaterThanOrEqual(1);
		const aborted = bed.s3.requests.filter((r) => r.method === 'DELETE' && r.path.includes('T-100_duplicate.zip') && /uploadId=/.test(r.query));
		expect(aborted.length).toBeGreaterThanOrEqual(1);
		await expect(bed.s3.listKeys(BUCKET, key)).resolves.toEqual([]);
		expect(taskPosts().length).toBe(tasks);
	}, 120_000);

	it.each([
		['an empty identifier', 'phone,name\n+911,a\n"",b\n', /customers\.csv.*data row 2, column "phone": the identifier is empty/],
		['a row with fewer fields than the header', 'phone,name,city\n+911,a,x\n+912,b\n', /data row 2: found 2 fields, expected 3/],
		['a row with more fields than the header', 'phone,name\n+911,a\n+912,"b",c\n', /data row 2: found 3 fields, expected 2/],
		['a quote that closes mid-field and never again', 'phone,name\n"+911"x,a\n+912,b\n', /data row 1 opens a quoted field/],
	])('%s: a clear error naming the row, nothing left in S3, no task', async (_name, text, message) => {
		const path = await writeFile(`bad-${_name.length}.csv`, (out) => void out.write(text));
		const tasks = taskPosts().length;
		const result = await runFile(path, `bad-${_name.length}`);
		expect(result.error?.message).toMatch(message);
		await expect(bed.s3.listKeys(BUCKET, `${PREFIX}/T-100_bad-${_name.length}.zip`)).resolves.toEqual([]);
		expect(taskPosts().length).toBe(tasks);
	});

	it('Skip Invalid Rows and Keep First: rows left out of the ZIP, reported in the output, the task counts the rest', async () => {
		const lines = ['phone,name', '+911,a', ',no id', '+911,again', '+912', '+913,"multi\nline"', '+914,d'];
		const path = await writeFile('skip.csv', (out) => void out.write(lines.join('\r\n') + '\r\n'));
		const result = await runFile(path, 'skip', { skipInvalidRows: true, duplicateIdentifiers: 'keepFirst' });
		expect(result.error).toBeUndefined();
		const [out] = result.output('Batch');
		expect(out.json).toMatchObject({
			'row-count': 3,
			'skipped-rows': { count: 2, first: [{ row: 2, reason: 'the identifier is empty' }, { row: 4, reason: expect.stringMatching(/found 1 field, expected 2/) }] },
			'duplicates-dropped': { count: 1, first: [{ row: 3, identifier: '+911' }] },
		});
		const csv = await csvInZip(`${PREFIX}/T-100_skip.zip`);
		expect(csv).toBe(['phone,name', '+911,a', '+913,"multi\nline"', '+914,d'].join('\r\n') + '\r\n');
		expect((taskPosts().pop()!.body as IDataObject)['row-count']).toBe(3);
	});

	it('a file with CR-only line breaks is read as Whilter reads it', async () => {
		const path = await writeFile('cr.csv', (out) => void out.write('phone,name\r+911,a\r+912,b\r+913,c\r'));
		const result = await runFile(path, 'cr-only');
		expect(result.error).toBeUndefined();
		expect(result.output('Batch')[0].json['row-count']).toBe(3);
		expect((taskPosts().pop()!.body as IDataObject)['row-count']).toBe(3);
	});

	it('sends the row count papaparse reads when a quote closes in the middle of a field', async () => {
		const text = 'phone\n"+911"x\n+912"\n+913\n';
		const path = await writeFile('midfield.csv', (out) => void out.write(text));
		const result = await runFile(path, 'midfield');
		expect(result.error).toBeUndefined();
		const rows = Papa.parse<string[]>(await csvInZip(`${PREFIX}/T-100_midfield.zip`), { delimiter: ',', skipEmptyLines: true }).data.length - 1;
		expect(rows).toBe(2);
		expect(result.output('Batch')[0].json['row-count']).toBe(rows);
	});
});
