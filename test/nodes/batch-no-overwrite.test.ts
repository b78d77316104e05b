/**
 * Two runs with one campaign name (a schedule, a second workflow, two names that clean to the same
 * text) name the same file. Whilter Batch never replaces a file already in the drop unless told to:
 * an earlier run may have a task for it, which would then process this run's customers. Checked
 * before the upload (HeadObject) and by the write itself (If-None-Match: *), against the S3 server
 * that enforces conditional writes as S3 does, and against a store that does not support them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { HeadObjectCommand } from '@aws-sdk/client-s3';
import Papa from 'papaparse';
import type { IDataObject, INodeParameters } from 'n8n-workflow';
import { sleep } from 'n8n-workflow';

import { useVirtualClock } from '../harness/clock';
import { writeRandomCsv } from '../harness/randomCsv';
import { CredentialStore, runChain, shutdownN8nCore } from '../harness/run';
import { DEFAULT_DROP, startWhilterWithS3, whilterCredentialData } from '../harness/whilter';
import type { WhilterWithS3 } from '../harness/whilter';
import type { S3Request } from '../servers/s3';
import { readZipEntries } from '../servers/zipEntries';

// The S3 SDK's retries (a lost answer to the upload) wait on the virtual clock: no test waits for real.
jest.mock('n8n-workflow', () => {
	const actual = jest.requireActual<typeof import('n8n-workflow')>('n8n-workflow');
	return { ...actual, sleep: jest.fn(actual.sleep) };
});
useVirtualClock(jest.mocked(sleep));

const { bucket: BUCKET, prefix: PREFIX } = DEFAULT_DROP;
let servers: WhilterWithS3;
const store = new CredentialStore();
let credential: { id: string; name: string };
let workDir: string;
let bigCsv: string | undefined;

beforeAll(async () => {
	workDir = mkdtempSync(join(tmpdir(), 'whilter-no-overwrite-'));
	servers = await startWhilterWithS3();
	credential = store.add('whilterApi', whilterCredentialData(servers.whilter, servers.drop));
});

afterEach(() => {
	servers.s3.faults.clear();
	servers.s3.conditionalWrites = 'enforced';
	servers.s3.beforeHandling = undefined;
});

afterAll(async () => {
	await servers?.close();
	rmSync(workDir, { recursive: true, force: true });
	await shutdownN8nCore();
});

const customers = (from: number, count: number): IDataObject[] =>
	Array.from({ length: count }, (_, i) => ({ phone: `+9198${String(from + i).padStart(8, '0')}`, name: `Customer ${from + i}` }));

function batchParameters(campaignName: string, options: INodeParameters = {}): INodeParameters {
	return { inputSource: 'items', identifierColumn: 'phone', templateId: 'T-100', campaignId: 'weekly', campaignName, options };
}

async function submit(items: IDataObject[], campaignName: string, options: INodeParameters = {}) {
	return await runChain({
		items: items.map((json) => ({ json })),
		nodes: [{ name: 'Batch', type: 'whilterBatch', parameters: batchParameters(campaignName, options), credentials: { whilterApi: credential } }],
		credentials: store,
	});
}

/** A 24 MB CSV file, uploaded as a multipart upload (two 5 MiB parts and a tail). */
async function submitBigFile(campaignName: string) {
	bigCsv ??= await writeRandomCsv(workDir);
	return await runChain({
		items: [{ json: {} }],
		files: [{ property: 'data', path: bigCsv, fileName: 'random.csv', mimeType: 'text/csv' }],
		nodes: [
			{
				name: 'Batch',
				type: 'whilterBatch',
				parameters: { ...batchParameters(campaignName), inputSource: 'file', binaryPropertyName: 'data' },
				credentials: { whilterApi: credential },
			},
		],
		credentials: store,
	});
}

/** The phone numbers in the CSV inside the ZIP at `key`. */
async function phonesIn(key: string): Promise<string[]> {
	const [entry] = await readZipEntries(await servers.s3.getObjectBuffer(BUCKET, key));
	return Papa.parse<Record<string, string>>(entry.text, { header: true, skipEmptyLines: true }).data.map((row) => row.phone);
}

function taskPosts() {
	return servers.whilter.requests.filter((r) => r.method === 'POST' && r.path === '/acme/task');
}

/**
 * The S3 requests for `key` since `mark` (a length of the S3 log). Once a task is created, the last
 * one is the Whilter server's own HeadObject, checking the file the task names.
 */
function keyRequests(mark: number, key: string): S3Request[] {
	return servers.s3.requests.slice(mark).filter((r) => r.path === `/${BUCKET}/${key}`);
}

const writes = (requests: S3Request[]) => requests.filter((r) => r.method === 'PUT' || r.method === 'POST');

async function lastModified(key: string): Promise<string> {
	const head = await servers.s3.client().send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
	return head.LastModified!.toISOString();
}

describe('Whilter Batch never overwrites a file in the drop by default', () => {
	it('a second run whose campaign name cleans to the same text is refused before a byte is sent: bucket, key, when, and what to do; no second task', async () => {
		const key = `${PREFIX}/T-100_Weekly-Offer.zip`;
		const first = await submit(customers(0, 3), 'Weekly Offer');
		expect(first.error).toBeUndefined();
		expect(first.output('Batch')[0].json).toMatchObject({ 'file-name': 'T-100_Weekly-Offer.zip', 'file-path': key });
		const tasks = servers.whilter.tasks.size;
		const posts = taskPosts().length;
		const mark = servers.s3.requests.length;

		const second = await submit(customers(100, 2), 'Weekly  Offer!');
		// Found by the check before the upload: nothing was written.
		expect(keyRequests(mark, key).map((r) => [r.method, r.status])).toEqual([['HEAD', 200]]);
		expect(second.error?.message).toBe(
			`The S3 drop already holds a file named "T-100_Weekly-Offer.zip" (bucket "${BUCKET}", key "${key}", uploaded ${await lastModified(key)}): an earlier run may have created a Whilter task for it. The file was left as it is and no task was created.`,
		);
		expect(second.error?.description).toMatch(/^Check in Whilter whether a task exists for file "T-100_Weekly-Offer\.zip" before running again\./);
		expect(second.error?.description).toContain('turn on "Unique File Name" (Options)');
		expect(second.error?.description).toContain('turn on "Replace Existing File"');
		expect(servers.whilter.tasks.size).toBe(tasks);
		expect(taskPosts()).toHaveLength(posts);
		expect(await phonesIn(key)).toEqual(customers(0, 3).map((c) => c.phone));
	});

	it('continue on fail: the refusal is one error item, with nothing uploaded', async () => {
		expect((await submit(customers(200, 1), 'Go On')).error).toBeUndefined();
		const result = await runChain({
			items: customers(250, 2).map((json) => ({ json })),
			nodes: [{ name: 'Batch', type: 'whilterBatch', parameters: batchParameters('Go On'), credentials: { whilterApi: credential }, continueOnFail: true }],
			credentials: store,
		});
		const [item] = result.output('Batch');
		expect(String(item.json.error)).toMatch(/^The S3 drop already holds a file named "T-100_Go-On\.zip"/);
		expect((item.json.details as IDataObject).upload).toEqual({});
	});

	it('Replace Existing File overwrites on purpose, and the task is created for the new file', async () => {
		const key = `${PREFIX}/T-100_Replace-Me.zip`;
		expect((await submit(customers(290, 2), 'Replace Me')).error).toBeUndefined();
		const tasks = servers.whilter.tasks.size;
		const mark = servers.s3.requests.length;
		const result = await submit(customers(300, 4), 'Replace Me', { replaceExisting: true });
		expect(result.error).toBeUndefined();
		expect(result.output('Batch')[0].json).toMatchObject({ 'file-path': key, 'row-count': 4 });
		expect(await phonesIn(key)).toEqual(customers(300, 4).map((c) => c.phone));
		expect(servers.whilter.tasks.size).toBe(tasks + 1);
		// No check and no condition: the write replaces what is there (after it, Whilter reads the file).
		const sent = keyRequests(mark, key);
		expect(sent[0].method).toBe('PUT');
		expect(sent[0].headers['if-none-match']).toBeUndefined();
		expect(writes(sent)).toHaveLength(1);
	});

	it('Unique File Name: two runs with one campaign name make two files and two tasks; the output says the file used', async () => {
		// Date.now is the virtual clock, standing still: both runs get its time, and only the random part differs.
		const stamp = new Date(Date.now()).toISOString().slice(0, 19).replace(/\D/g, '');
		const names: string[] = [];
		for (const from of [400, 500]) {
			const result = await submit(customers(from, 2), 'Daily Offer', { uniqueFileName: true });
			expect(result.error).toBeUndefined();
			const out = result.output('Batch')[0].json;
			expect(out['file-name']).toMatch(new RegExp(`^T-100_Daily-Offer-${stamp}-[a-z0-9]{4}\\.zip$`));
			expect(out['file-path']).toBe(`${PREFIX}/${String(out['file-name'])}`);
			expect(await phonesIn(String(out['file-path']))).toEqual(customers(from, 2).map((c) => c.phone));
			expect(taskPosts().at(-1)?.body).toMatchObject({ 'file-name': out['file-name'], 'file-path': out['file-path'] });
			names.push(String(out['file-name']));
		}
		expect(names[0]).not.toBe(names[1]);
		expect(await servers.s3.listKeys(BUCKET, `${PREFIX}/T-100_Daily-Offer-`)).toEqual(names.map((name) => `${PREFIX}/${name}`).sort());
	});
});

describe('the write itself is conditional: a file that appears during the upload is not overwritten', () => {
	it('single PUT: another run writes the key after the check; S3 refuses the write (412) and nothing is registered', async () => {
		const key = `${PREFIX}/T-100_Race.zip`;
		servers.s3.beforeHandling = async (request) => {
			if (request.method === 'PUT' && request.path === `/${BUCKET}/${key}`) await servers.s3.putObject(BUCKET, key, 'the other run\'s file');
		};
		const tasks = servers.whilter.tasks.size;
		const mark = servers.s3.requests.length;
		const result = await submit(customers(600, 2), 'Race');
		expect(result.error?.message).toMatch(
			new RegExp(`^The S3 drop already holds a file named "T-100_Race\\.zip" \\(bucket "${BUCKET}", key "${key}", uploaded \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\): an earlier run may have created a Whilter task for it`),
		);
		expect(servers.whilter.tasks.size).toBe(tasks);
		expect((await servers.s3.getObjectBuffer(BUCKET, key)).toString()).toBe('the other run\'s file');
		const sent = keyRequests(mark, key);
		expect(sent.map((r) => [r.method, r.status])).toEqual([
			['HEAD', 404],
			['PUT', 412],
			['HEAD', 200],
		]);
		expect(sent[1].headers['if-none-match']).toBe('*');
	});

	it('multipart: refused at CompleteMultipartUpload (412), the upload is aborted and no parts are left', async () => {
		const key = `${PREFIX}/T-100_Race-Big.zip`;
		servers.s3.beforeHandling = async (request) => {
			if (request.method === 'POST' && request.path === `/${BUCKET}/${key}` && request.params.has('uploadId')) {
				await servers.s3.putObject(BUCKET, key, 'the other run\'s file');
			}
		};
		const tasks = servers.whilter.tasks.size;
		const mark = servers.s3.requests.length;
		const result = await submitBigFile('Race-Big');
		expect(result.error?.message).toMatch(/^The S3 drop already holds a file named "T-100_Race-Big\.zip"/);
		expect(servers.whilter.tasks.size).toBe(tasks);
		expect((await servers.s3.getObjectBuffer(BUCKET, key)).toString()).toBe('the other run\'s file');
		const sent = writes(keyRequests(mark, key));
		const complete = sent.find((r) => r.method === 'POST' && r.params.has('uploadId'));
		expect(complete).toMatchObject({ status: 412 });
		expect(complete?.headers['if-none-match']).toBe('*');
		const abort = keyRequests(mark, key).find((r) => r.method === 'DELETE');
		expect(abort).toMatchObject({ status: 204 });
		expect(abort?.params.get('uploadId')).toBe(complete?.params.get('uploadId'));
		expect(servers.s3.openUploads(BUCKET)).toEqual([]);
	}, 120_000);

	it('S3 stored the file but its answer was lost: the retried write gets 412, the node finds its own file there and creates the task', async () => {
		const key = `${PREFIX}/T-100_Lost-Answer.zip`;
		servers.s3.faults.add({ method: 'PUT', path: `/${BUCKET}/${key}`, kind: 'reset-after' });
		const tasks = servers.whilter.tasks.size;
		const mark = servers.s3.requests.length;
		const result = await submit(customers(700, 3), 'Lost Answer');
		expect(result.error).toBeUndefined();
		expect(result.output('Batch')[0].json).toMatchObject({ 'file-path': key, 'row-count': 3 });
		expect(servers.whilter.tasks.size).toBe(tasks + 1);
		expect(await phonesIn(key)).toEqual(customers(700, 3).map((c) => c.phone));
		expect(writes(keyRequests(mark, key)).map((r) => [r.fault ?? 'ok', r.status])).toEqual([
			['reset-after', undefined],
			['ok', 412],
		]);
	});
});

describe('a store that does not support conditional writes (501 NotImplemented to If-None-Match)', () => {
	it('the write is sent again without the condition; the check before the upload still refuses a second run', async () => {
		servers.s3.conditionalWrites = 'not-implemented';
		const key = `${PREFIX}/T-100_No-Conditions.zip`;
		const mark = servers.s3.requests.length;
		const first = await submit(customers(800, 2), 'No Conditions');
		expect(first.error).toBeUndefined();
		const sent = writes(keyRequests(mark, key));
		expect(sent.map((r) => [r.headers['if-none-match'] ?? 'none', r.status])).toEqual([
			['*', 501],
			['none', 200],
		]);
		expect(await phonesIn(key)).toEqual(customers(800, 2).map((c) => c.phone));

		const tasks = servers.whilter.tasks.size;
		const second = await submit(customers(900, 2), 'No Conditions');
		expect(second.error?.message).toMatch(/^The S3 drop already holds a file named "T-100_No-Conditions\.zip"/);
		expect(servers.whilter.tasks.size).toBe(tasks);
		expect(await phonesIn(key)).toEqual(customers(800, 2).map((c) => c.phone));
	});

	it('multipart: CompleteMultipartUpload is sent again without the condition and the task is created', async () => {
		servers.s3.conditionalWrites = 'not-implemented';
		const key = `${PREFIX}/T-100_No-Conditions-Big.zip`;
		const mark = servers.s3.requests.length;
		const tasks = servers.whilter.tasks.size;
		const result = await submitBigFile('No-Conditions-Big');
		expect(result.error).toBeUndefined();
		expect(servers.whilter.tasks.size).toBe(tasks + 1);
		const completes = writes(keyRequests(mark, key)).filter((r) => r.method === 'POST' && r.params.has('uploadId'));
		expect(completes.map((r) => [r.headers['if-none-match'] ?? 'none', r.status])).toEqual([
			['*', 501],
			['none', 200],
		]);
		expect(servers.s3.openUploads(BUCKET)).toEqual([]);
	}, 120_000);
});
