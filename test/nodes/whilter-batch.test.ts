import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';

import Papa from 'papaparse';
import type { IDataObject } from 'n8n-workflow';

import { CredentialStore, runChain, shutdownN8nCore } from '../harness/run';
import type { NodeSpec } from '../harness/run';
import { DEFAULT_DROP, startWhilterWithS3, whilterCredentialData } from '../harness/whilter';
import type { WhilterWithS3 } from '../harness/whilter';
import type { S3Server } from '../servers/s3';
import type { WhilterServer } from '../servers/whilter';
import { readZipEntries } from '../servers/zipEntries';
import { PAIR_AS_NUMBERS_FROM } from '../../nodes/Whilter/batch/runBatch';

const { bucket: BUCKET, prefix: PREFIX } = DEFAULT_DROP;
let servers: WhilterWithS3;
let s3: S3Server;
let whilter: WhilterServer;
let store: CredentialStore;
let credential: { id: string; name: string };
let workDir: string;

beforeAll(async () => {
	workDir = mkdtempSync(join(tmpdir(), 'whilter-batch-test-'));
	servers = await startWhilterWithS3();
	({ s3, whilter } = servers);
	store = new CredentialStore();
	credential = store.add('whilterApi', whilterCredentialData(whilter, servers.drop));
});

afterAll(async () => {
	await servers?.close();
	rmSync(workDir, { recursive: true, force: true });
	await shutdownN8nCore();
});

afterEach(() => {
	whilter.faults.clear();
	s3.faults.clear();
});

function batchNode(parameters: IDataObject, extra: Partial<NodeSpec> = {}): NodeSpec {
	return {
		name: 'Batch',
		type: 'whilterBatch',
		parameters: { inputSource: 'items', identifierColumn: 'phone', templateId: 'T-100', campaignId: 'spring', ...parameters },
		credentials: { whilterApi: credential },
		...extra,
	};
}

async function runBatch(items: IDataObject[], parameters: IDataObject = {}, extra: Partial<NodeSpec> = {}) {
	return await runChain({ items: items.map((json) => ({ json })), nodes: [batchNode(parameters, extra)], credentials: store });
}

/** The first entry of a ZIP, and how many it holds. */
async function unzipSingle(zip: Buffer): Promise<{ name: string; text: string; entries: number }> {
	const entries = await readZipEntries(zip);
	return { ...entries[0], entries: entries.length };
}

function taskPosts() {
	return whilter.requests.filter((r) => r.method === 'POST' && r.path === '/acme/task');
}

function s3Writes() {
	return s3.requests.filter((r) => r.method === 'PUT' || (r.method === 'POST' && /uploads/.test(r.path)));
}

const tricky: IDataObject[] = [
	{ phone: '+919800000001', name: 'प्रिया शर्मा', city: 'Pune, MH', note: 'says "hi"' },
	{ phone: '+919800000002', name: 'தமிழ்ச்செல்வி', city: 'Chennai', note: 'line one\r\nline two' },
	{ phone: 919800000003, name: '  padded  ', city: null, note: true, extra: 42.5 },
	{ name: 'Zoë', phone: '+919800000004', note: '=1+1', city: undefined },
];

describe('Whilter Batch through n8n-core', () => {
	it('uploads one ZIP with the exact name and one CSV whose rows equal the items, then creates the task', async () => {
		const tasksBefore = taskPosts().length;
		const result = await runBatch(tricky, { campaignName: 'Spring Sale' });
		expect(result.error).toBeUndefined();
		const [out] = result.output('Batch');
		const key = `${PREFIX}/T-100_Spring-Sale.zip`;
		expect(out.json).toMatchObject({
			'file-name': 'T-100_Spring-Sale.zip',
			'file-path': key,
			bucket: BUCKET,
			'row-count': 4,
			'campaign-id': 'spring',
			'template-id': 'T-100',
		});
		expect(typeof out.json['task-id']).toBe('string');
		expect(out.pairedItem).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }, { item: 3 }]);

		const zip = await unzipSingle(await s3.getObjectBuffer(BUCKET, key));
		expect(zip.entries).toBe(1);
		expect(zip.name).toBe('T-100_Spring-Sale.csv');
		const parsed = Papa.parse<string[]>(zip.text, { skipEmptyLines: true });
		expect(parsed.errors).toEqual([]);
		expect(parsed.data).toEqual([
			['phone', 'name', 'city', 'note', 'extra'],
			['+919800000001', 'प्रिया शर्मा', 'Pune, MH', 'says "hi"', ''],
			['+919800000002', 'தமிழ்ச்செல்வி', 'Chennai', 'line one\r\nline two', ''],
			['919800000003', '  padded  ', '', 'true', '42.5'],
			['+919800000004', 'Zoë', '', '=1+1', ''],
		]);

		const posts = taskPosts();
		expect(posts.length).toBe(tasksBefore + 1);
		expect(posts[posts.length - 1].body).toEqual({
			'client-id': 'acme-client',
			'campaign-id': 'spring',
			'template-id': 'T-100',
			'file-name': 'T-100_Spring-Sale.zip',
			'file-path': key,
			'row-count': 4,
			'expected-output-duration': 0,
		});
	});

	it('names a high-priority file <TemplateID>_Priority_<CampaignName>.zip and sends the options', async () => {
		const result = await runBatch(tricky.slice(0, 2), {
			campaignName: 'vip_list 2026',
			highPriority: true,
			options: { priority: 3, callbackUrl: 'http://127.0.0.1:9/webhook/cb', expectedOutputDuration: 60 },
		});
		expect(result.error).toBeUndefined();
		const [out] = result.output('Batch');
		expect(out.json['file-name']).toBe('T-100_Priority_vip-list-2026.zip');
		await expect(s3.getObjectBuffer(BUCKET, `${PREFIX}/T-100_Priority_vip-list-2026.zip`)).resolves.toBeInstanceOf(Buffer);
		const body = taskPosts().pop()!.body as IDataObject;
		expect(body).toMatchObject({ priority: 3, 'callback-url': 'http://127.0.0.1:9/webhook/cb', 'expected-output-duration': 60, 'row-count': 2 });
	});

	describe('validation happens before anything is uploaded', () => {
		const cases: Array<[string, IDataObject[], IDataObject, RegExp]> = [
			['identifier missing', [{ phone: '1' }, { name: 'no phone' }], {}, /item 1.*phone|phone.*item 1/i],
			['identifier empty', [{ phone: '1' }, { phone: '   ' }], {}, /item 1/i],
			['duplicate identifiers', [{ phone: '1' }, { phone: '2' }, { phone: '1' }], {}, /Items 0 and 2 have the same identifier/],
			['nested object', [{ phone: '1', address: { city: 'Pune' } }], {}, /item 0.*address|address.*item 0/i],
			['zero rows (every row skipped)', [{ name: 'a' }, { name: 'b' }], { options: { skipInvalidRows: true } }, /no rows/i],
			['template id with _', [{ phone: '1' }], { templateId: 'T_100' }, /template id/i],
			// An empty literal is refused by n8n itself (required parameter); an expression can still come out empty.
			['identifier column empty', [{ phone: '1' }], { identifierColumn: '={{ "" }}' }, /identifier column/i],
		];
		it.each(cases)('%s: a clear error, nothing uploaded, no task', async (_name, items, parameters, message) => {
			const writes = s3Writes().length;
			const tasks = taskPosts().length;
			const result = await runBatch(items, parameters);
			expect(result.error?.message).toMatch(message);
			expect(s3Writes().length).toBe(writes);
			expect(taskPosts().length).toBe(tasks);
		});

		it('skip invalid rows and keep-first report what was left out', async () => {
			const items: IDataObject[] = [{ phone: '1', n: 'a' }, { n: 'b' }, { phone: '1', n: 'c' }, { phone: '2', n: 'd' }];
			const result = await runBatch(items, { options: { skipInvalidRows: true, duplicateIdentifiers: 'keepFirst' } });
			expect(result.error).toBeUndefined();
			const [out] = result.output('Batch');
			expect(out.json['row-count']).toBe(2);
			expect(out.json['skipped-rows']).toMatchObject({ count: 1, first: [{ itemIndex: 1 }] });
			expect(out.json['duplicates-dropped']).toMatchObject({ count: 1, first: [{ itemIndex: 2, identifier: '1' }] });
			expect((taskPosts().pop()!.body as IDataObject)['row-count']).toBe(2);
		});
	});

	it('reads a CSV file from n8n binary storage, counts its rows while streaming, and rejects a header without the identifier', async () => {
		const path = join(workDir, 'customers.csv');
		const lines = ['phone,name,city', '+91001,"Asha, K",Pune', '+91002,"multi\nline",Delhi', '+91003,प्रिया,Mumbai'];
		await writeLines(path, lines);
		const result = await runChain({
			items: [{ json: {} }],
			files: [{ property: 'data', path, fileName: 'customers.csv', mimeType: 'text/csv' }],
			nodes: [batchNode({ inputSource: 'file', binaryPropertyName: 'data', campaignName: 'file-run' })],
			credentials: store,
		});
		expect(result.error).toBeUndefined();
		const [out] = result.output('Batch');
		expect(out.json['row-count']).toBe(3);
		const zip = await unzipSingle(await s3.getObjectBuffer(BUCKET, `${PREFIX}/T-100_file-run.zip`));
		expect(zip.text.replace(/\r\n/g, '\n').trim()).toBe(lines.join('\n'));
		expect((taskPosts().pop()!.body as IDataObject)['row-count']).toBe(3);

		const bad = join(workDir, 'bad.csv');
		await writeLines(bad, ['mobile,name', '1,a']);
		const writes = s3Writes().length;
		const failed = await runChain({
			items: [{ json: {} }],
			files: [{ property: 'data', path: bad, fileName: 'bad.csv', mimeType: 'text/csv' }],
			nodes: [batchNode({ inputSource: 'file', binaryPropertyName: 'data' })],
			credentials: store,
		});
		expect(failed.error?.message).toMatch(/phone/);
		expect(failed.error?.message).toMatch(/mobile/);
		expect(s3Writes().length).toBe(writes);
	});

	it('streams a CSV file larger than the memory it is allowed to use', async () => {
		const path = join(workDir, 'large.csv');
		const rows = 4_000_000;
		const out = createWriteStream(path);
		out.write('phone,name,city,segment,offer\n');
		for (let i = 0; i < rows; i++) {
			if (!out.write(`+91${String(9_000_000_000 + i)},Customer ${i},City ${i % 500},seg-${i % 7},"offer ${i % 13}, limited"\n`)) {
				await once(out, 'drain');
			}
		}
		out.end();
		await once(out, 'finish');
		const size = statSync(path).size;
		// The contract server runs in this process and would read the whole file into memory to count its
		// rows: this test measures the node's memory, so the server takes the row count as sent.
		whilter.checkRowCount = false;
		const baseline = process.memoryUsage().rss;
		let peak = baseline;
		const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
		const result = await runChain({
			items: [{ json: {} }],
			files: [{ property: 'data', path, fileName: 'large.csv', mimeType: 'text/csv' }],
			nodes: [batchNode({ inputSource: 'file', binaryPropertyName: 'data', campaignName: 'large' })],
			credentials: store,
		}).finally(() => (whilter.checkRowCount = true));
		clearInterval(sampler);
		expect(result.error).toBeUndefined();
		expect(result.output('Batch')[0].json['row-count']).toBe(rows);
		// A 250 MB file goes through while the process grows by a fraction of it: parts in flight, zlib
		// and stream buffers, and the duplicate check's logs (3 MiB in memory, the rest in temporary
		// files). Never the file. Alone the rest is a few MB; beside other test files on a busy machine it
		// was seen at 83 MB.
		expect(size).toBeGreaterThan(240 * 1024 * 1024);
		expect(peak - baseline).toBeLessThan(size * 0.6);
		process.stderr.write(`[batch file] ${Math.round(size / 1048576)} MB file, RSS grew ${Math.round((peak - baseline) / 1048576)} MB\n`);
	}, 180_000);

	it('names the uploaded key when the task call fails, and the resume option creates the task without a second upload', async () => {
		whilter.faults.add({ method: 'POST', path: '/acme/task', kind: 'status', status: 500 });
		const failed = await runBatch(tricky, { campaignName: 'resume-me' });
		const key = `${PREFIX}/T-100_resume-me.zip`;
		expect(failed.error?.message).toContain(`key "${key}"`);
		expect(failed.error?.message).toContain(`bucket "${BUCKET}"`);
		await expect(s3.getObjectBuffer(BUCKET, key)).resolves.toBeInstanceOf(Buffer);

		const writes = s3Writes().length;
		const tasks = whilter.tasks.size;
		const resumed = await runBatch(tricky, {
			campaignName: 'resume-me',
			options: { alreadyUploaded: { file: { fileName: 'T-100_resume-me.zip', filePath: key, rowCount: 4 } } },
		});
		expect(resumed.error).toBeUndefined();
		expect(resumed.output('Batch')[0].json).toMatchObject({ 'file-path': key, 'row-count': 4 });
		expect(s3Writes().length).toBe(writes);
		expect(whilter.tasks.size).toBe(tasks + 1);
	});

	it('continueOnFail turns the failure into one item with the upload details', async () => {
		whilter.faults.add({ method: 'POST', path: '/acme/task', kind: 'status', status: 500 });
		const result = await runBatch(tricky, { campaignName: 'cof' }, { continueOnFail: true });
		expect(result.error).toBeUndefined();
		const out = result.output('Batch');
		expect(out).toHaveLength(1);
		expect(String(out[0].json.error)).toMatch(/500/);
		expect((out[0].json.details as IDataObject).upload).toMatchObject({ bucket: BUCKET, 'file-path': `${PREFIX}/T-100_cof.zip`, 'row-count': tricky.length });
		expect(out[0].pairedItem).toHaveLength(tricky.length);
	});

	it('under "Continue (using error output)" the failure leaves on the error output, with the first input row, for small and large runs', async () => {
		for (const count of [tricky.length, PAIR_AS_NUMBERS_FROM + 500]) {
			const items = count === tricky.length ? tricky : Array.from({ length: count }, (_, i) => ({ phone: `+9198${String(i).padStart(8, '0')}`, name: `n${i}` }));
			whilter.faults.add({ method: 'POST', path: '/acme/task', kind: 'status', status: 500 });
			const result = await runBatch(items, { campaignName: `error-output-${count}` }, { errorOutput: true });
			expect(result.error).toBeUndefined();
			expect(result.output('Batch', 0)).toHaveLength(0);
			const failed = result.output('Batch', 1);
			expect(failed).toHaveLength(1);
			expect(String(failed[0].json.error)).toMatch(/500/);
			// n8n merges the paired input row into the error item: the pairing resolved.
			expect(failed[0].json.phone).toBe(items[0].phone);
			expect((failed[0].json.details as IDataObject).upload).toMatchObject({ 'row-count': count });
			whilter.faults.clear();
		}
	});

	it('pairs a large run with every input by item number (8 bytes each), a small one by { item } objects', async () => {
		const count = PAIR_AS_NUMBERS_FROM + 1;
		const items = Array.from({ length: count }, (_, i) => ({ phone: `+9197${String(i).padStart(8, '0')}` }));
		const result = await runBatch(items, { campaignName: 'pair-numbers' });
		expect(result.error).toBeUndefined();
		const [out] = result.output('Batch');
		expect(out.pairedItem).toEqual(Array.from({ length: count }, (_, i) => i));
	});

	it('attaches the uploaded ZIP as binary output when asked', async () => {
		const result = await runBatch(tricky, { campaignName: 'attach', options: { attachZip: true, binaryOutputProperty: 'zip' } });
		expect(result.error).toBeUndefined();
		const [out] = result.output('Batch');
		expect(out.binary?.zip).toMatchObject({ fileName: 'T-100_attach.zip', mimeType: 'application/zip' });
		const uploaded = await s3.getObjectBuffer(BUCKET, `${PREFIX}/T-100_attach.zip`);
		// Stored in n8n's binary storage (filesystem mode), not inline.
		expect(out.binary?.zip.id).toEqual(expect.stringMatching(/^filesystem/));
		const zip = await unzipSingle(uploaded);
		expect(Papa.parse(zip.text, { skipEmptyLines: true }).data).toHaveLength(tricky.length + 1);
	});

	it('a multipart upload that keeps failing is aborted and nothing is registered', async () => {
		const path = await randomCsv();
		s3.faults.add({ method: 'PUT', path: /T-100_abort\.zip/, kind: 'status', status: 500, times: 100 });
		const tasks = taskPosts().length;
		const result = await runChain({
			items: [{ json: {} }],
			files: [{ property: 'data', path, fileName: 'random.csv', mimeType: 'text/csv' }],
			nodes: [batchNode({ inputSource: 'file', binaryPropertyName: 'data', campaignName: 'abort' })],
			credentials: store,
		});
		expect(result.error).toBeDefined();
		expect(taskPosts().length).toBe(tasks);
		const abort = s3.requests.filter((r) => r.method === 'DELETE' && /T-100_abort\.zip/.test(r.path) && /uploadId=/.test(r.query));
		expect(abort.length).toBeGreaterThanOrEqual(1);
		await expect(s3.listKeys(BUCKET, `${PREFIX}/T-100_abort.zip`)).resolves.toEqual([]);
	}, 60_000);

	describe('faults', () => {
		it('survives a 503 on an S3 part, a dropped connection on another, and a 429 on the token', async () => {
			const path = await randomCsv();
			s3.faults.add({ method: 'PUT', path: /T-100_faults\.zip/, kind: 'status', status: 503 });
			s3.faults.add({ method: 'PUT', path: /T-100_faults\.zip/, kind: 'reset' });
			whilter.expireTokens();
			whilter.faults.add({ method: 'POST', path: '/getToken/token', kind: 'status', status: 429, retryAfter: 1 });
			const result = await runChain({
				items: [{ json: {} }],
				files: [{ property: 'data', path, fileName: 'random.csv', mimeType: 'text/csv' }],
				nodes: [batchNode({ inputSource: 'file', binaryPropertyName: 'data', campaignName: 'faults' })],
				credentials: store,
			});
			expect(result.error).toBeUndefined();
			expect(result.output('Batch')[0].json['row-count']).toBe(120_000);
			// It was a multipart upload, and both faulted part requests were sent again.
			const parts = s3.requests.filter((r) => r.method === 'PUT' && /T-100_faults\.zip/.test(r.path));
			expect(parts.every((r) => /partNumber=/.test(r.query))).toBe(true);
			expect(parts.filter((r) => r.faulted)).toHaveLength(2);
			expect(new Set(parts.filter((r) => !r.faulted).map((r) => /partNumber=(\d+)/.exec(r.query)?.[1])).size).toBeGreaterThanOrEqual(2);
			const zip = await unzipSingle(await s3.getObjectBuffer(BUCKET, `${PREFIX}/T-100_faults.zip`));
			expect(zip.text.split('\n').filter(Boolean)).toHaveLength(120_001);
			expect(whilter.requests.filter((r) => r.path === '/getToken/token' && r.faulted)).not.toHaveLength(0);
		}, 60_000);

		it.each([
			['500', { kind: 'status', status: 500 }],
			['503', { kind: 'status', status: 503 }],
			['429', { kind: 'status', status: 429, retryAfter: 0 }],
			['connection dropped after the task was created', { kind: 'reset-after' }],
		])('POST /task failing with %s is never sent twice', async (_name, fault) => {
			const posts = taskPosts().length;
			const tasks = whilter.tasks.size;
			whilter.faults.add({ method: 'POST', path: '/acme/task', ...(fault as IDataObject) } as never);
			const result = await runBatch(tricky, { campaignName: `once-${_name}` });
			expect(result.error).toBeDefined();
			expect(taskPosts().length).toBe(posts + 1);
			expect(whilter.tasks.size - tasks).toBeLessThanOrEqual(1);
		});
	});
});

let randomCsvPath: string | undefined;

/** Random hex compresses to about half: 24 MB of it makes a ZIP of two 5 MiB parts and a tail. */
async function randomCsv(): Promise<string> {
	if (randomCsvPath) return randomCsvPath;
	const path = join(workDir, 'random.csv');
	const out = createWriteStream(path);
	out.write('phone,blob\n');
	for (let i = 0; i < 120_000; i++) {
		if (!out.write(`${i},${randomBytes(100).toString('hex')}\n`)) await once(out, 'drain');
	}
	out.end();
	await once(out, 'finish');
	randomCsvPath = path;
	return path;
}

async function writeLines(path: string, lines: string[]): Promise<void> {
	const out = createWriteStream(path);
	out.end(lines.join('\n') + '\n');
	await once(out, 'finish');
}
