/**
 * Whilter Status's operations (Get, Wait for Completion, Get Results, Cancel) run through n8n-core
 * against the Whilter contract server and a real S3-compatible server. The server moves tasks on
 * (advance) and writes the output CSV (every 5th row failed) as Whilter would; what the node sent is
 * checked in the server's request log.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import Papa from 'papaparse';
import type { IBinaryData, IDataObject } from 'n8n-workflow';
import { sleep } from 'n8n-workflow';

import { useVirtualClock } from '../harness/clock';
import { CredentialStore, runChain, shutdownN8nCore } from '../harness/run';
import type { NodeSpec } from '../harness/run';
import { DEFAULT_DROP, startWhilterWithS3, whilterCredentialData } from '../harness/whilter';
import type { WhilterWithS3 } from '../harness/whilter';
import { startServer } from '../servers/http';
import type { ContractServer } from '../servers/http';
import type { S3Server } from '../servers/s3';
import { ROW_ERROR } from '../servers/whilter';
import type { WhilterServer } from '../servers/whilter';

// Wait for Completion polls with n8n-workflow's sleep: on the virtual clock (test/harness/clock.ts) a
// wait's checks follow from its schedule alone, and a timeout is reached without waiting for it.
jest.mock('n8n-workflow', () => {
	const actual = jest.requireActual<typeof import('n8n-workflow')>('n8n-workflow');
	return { ...actual, sleep: jest.fn(actual.sleep) };
});
const clock = useVirtualClock(jest.mocked(sleep));

// The harness has pointed n8n-core at its temp folder by now; the binary store is read directly.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const core = require('n8n-core') as typeof import('n8n-core');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Container } = require('@n8n/di') as typeof import('@n8n/di');

const BUCKET = DEFAULT_DROP.bucket;
let servers: WhilterWithS3;
let s3: S3Server;
let whilter: WhilterServer;
let files: ContractServer;
/** What the file server serves at /files/<name>. */
const served = new Map<string, string>();
let store: CredentialStore;
let credential: { id: string; name: string };

beforeAll(async () => {
	servers = await startWhilterWithS3();
	({ s3, whilter } = servers);
	// A CDN or signed-URL host for output files: public, no token.
	files = await startServer((request) => {
		const body = served.get(request.path.replace(/^\/files\//, ''));
		return body === undefined ? { status: 404, body: { message: 'no such file' } } : { status: 200, raw: Buffer.from(body, 'utf8'), headers: { 'content-type': 'text/csv' } };
	});
	store = new CredentialStore();
	credential = store.add('whilterApi', whilterCredentialData(whilter, servers.drop));
});

afterAll(async () => {
	await servers?.close();
	await files?.close();
	await shutdownN8nCore();
});

afterEach(() => {
	whilter.statusVariant = 'lower';
	whilter.faults.clear();
});

function statusNode(parameters: IDataObject, extra: Partial<NodeSpec> = {}): NodeSpec {
	return {
		name: 'Status',
		type: 'whilterStatus',
		parameters: { taskId: '={{ $json.taskId }}', ...parameters },
		credentials: { whilterApi: credential },
		...extra,
	};
}

async function run(taskIds: string[], parameters: IDataObject, extra: Partial<NodeSpec> = {}) {
	return await runChain({ items: taskIds.map((taskId) => ({ json: { taskId } })), nodes: [statusNode(parameters, extra)], credentials: store });
}

/** A task moved to `state` the way the server moves tasks (completed: output CSV written). */
async function taskIn(state: 'pending' | 'in-progress' | 'completed', rows = 12): Promise<string> {
	const id = await whilter.seedTask({ rows });
	const steps = { pending: 0, 'in-progress': 1, completed: 2 }[state];
	for (let i = 0; i < steps; i++) await whilter.advance(id);
	expect(whilter.tasks.get(id)?.state).toBe(state);
	return id;
}

async function outputCsv(taskId: string): Promise<string> {
	return (await s3.getObjectBuffer(BUCKET, whilter.outputKeyOf(taskId))).toString('utf8');
}

function csvRows(csv: string): Array<Record<string, string>> {
	return Papa.parse<Record<string, string>>(csv, { header: true, skipEmptyLines: true }).data;
}

function statusGets(taskId: string) {
	return whilter.requests.filter((r) => r.method === 'GET' && r.path === `/acme/task/status/${taskId}`);
}

/**
 * 50 ms before the second check, then 1.5 times longer each time up to 100 ms: checks at 0, 50, 125,
 * 225, 325, 425 … ms of virtual time (the last wait is cut short at the timeout).
 */
const FAST_WAIT = { checkInterval: 0.05, maxCheckInterval: 0.1 };

// Get in every state and every status variant: test/nodes/vendor-variants.test.ts.

describe('Whilter Status: Wait for Completion', () => {
	it('keeps asking until the server has moved the task to completed', async () => {
		const id = await taskIn('pending');
		// Whilter moves the task on 150 ms and 300 ms into the wait.
		clock.current.at(150, async () => await whilter.advance(id));
		clock.current.at(300, async () => await whilter.advance(id));
		const result = await run([id], { operation: 'wait', ...FAST_WAIT, waitTimeout: 20 });
		expect(result.error).toBeUndefined();
		const [out] = result.output('Status');
		expect(out.json).toMatchObject({ 'task-id': id, status: 'completed', 'file-path': whilter.outputKeyOf(id) });
		expect(out.json['timed-out']).toBeUndefined();
		// Checks at 0, 50, 125 (pending), 225 (in-progress) and 325 ms (completed): five, the last saw completed.
		expect(statusGets(id)).toHaveLength(5);
		expect(clock.current.sleeps).toEqual([50, 75, 100, 100]);
	});

	it('stops at a failed task too (a final state) without waiting for the timeout', async () => {
		const id = await taskIn('in-progress');
		(whilter.tasks.get(id) as unknown as { state: string }).state = 'failed';
		const result = await run([id], { operation: 'wait', ...FAST_WAIT, waitTimeout: 20 });
		expect(result.output('Status')[0].json.status).toBe('failed');
		expect(statusGets(id)).toHaveLength(1);
		expect(clock.current.sleeps).toEqual([]);
	});

	it('on timeout, by default, fails naming the task and the last status seen', async () => {
		const id = await taskIn('in-progress');
		const result = await run([id], { operation: 'wait', ...FAST_WAIT, waitTimeout: 0.4 });
		expect(result.error?.message).toMatch(new RegExp(`^Item 0: task ${id} was still "in-progress" when the wait timed out`));
		expect(result.error?.description).toContain('"status":"in-progress"');
		// Checks at 0, 50, 125, 225, 325 and 400 ms: the last wait is cut to the 75 ms left, and no check comes after the timeout.
		expect(statusGets(id)).toHaveLength(6);
		expect(clock.current.sleeps).toEqual([50, 75, 100, 100, 75]);
		expect(clock.current.elapsed()).toBe(400);
	});

	it('on timeout with "Output Last Status": an item with the last status and timed-out', async () => {
		whilter.statusVariant = 'upper';
		const id = await taskIn('pending');
		const result = await run([id], { operation: 'wait', ...FAST_WAIT, waitTimeout: 0.3, onTimeout: 'outputLastStatus' });
		expect(result.error).toBeUndefined();
		const out = result.output('Status');
		expect(out).toHaveLength(1);
		expect(out[0].json).toMatchObject({ 'task-id': id, status: 'pending', 'timed-out': true, processed: 0 });
		expect(out[0].pairedItem).toEqual({ item: 0 });
		// Checks at 0, 50, 125, 225 and 300 ms.
		expect(statusGets(id)).toHaveLength(5);
	});

	it('refuses a check interval of 0 before asking anything', async () => {
		const id = await taskIn('pending');
		const before = statusGets(id).length;
		const result = await run([id], { operation: 'wait', checkInterval: 0, waitTimeout: 1 });
		expect(result.error?.message).toBe('Item 0: "Check Interval (Seconds)" must be a number of seconds above 0, got 0');
		expect(statusGets(id).length).toBe(before);
	});
});

describe('Whilter Status: Get Results', () => {
	it('one item per output row, every column (media-url, error), paired to the input item', async () => {
		const id = await taskIn('completed', 12);
		const result = await run([id], { operation: 'getResults' });
		expect(result.error).toBeUndefined();
		const out = result.output('Status');
		const expected = csvRows(await outputCsv(id));
		expect(expected).toHaveLength(12);
		expect(out.map((i) => i.json)).toEqual(expected);
		expect(Object.keys(out[0].json)).toEqual(['phone', 'name', 'media-url', 'error']);
		expect(out[4].json).toMatchObject({ 'media-url': '', error: ROW_ERROR });
		expect(String(out[0].json['media-url'])).toMatch(/^https:\/\/media\.example\.test\//);
		expect(out.every((i) => JSON.stringify(i.pairedItem) === '{"item":0}')).toBe(true);
		// The file came from S3 with the credential's drop, at the key the status API gave.
		expect(s3.requests.some((r) => r.method === 'GET' && r.path === `/${BUCKET}/${whilter.outputKeyOf(id)}`)).toBe(true);
	});

	it('filters failed rows and succeeded rows by the error column', async () => {
		const id = await taskIn('completed', 12);
		const failed = (await run([id], { operation: 'getResults', rowFilter: 'failed' })).output('Status');
		const succeeded = (await run([id], { operation: 'getResults', rowFilter: 'succeeded' })).output('Status');
		expect(failed.map((i) => i.json.name)).toEqual(['Seed 4', 'Seed 9']);
		expect(failed.every((i) => i.json.error === ROW_ERROR && i.json['media-url'] === '')).toBe(true);
		expect(succeeded).toHaveLength(10);
		expect(succeeded.every((i) => i.json.error === '' && String(i.json['media-url']).endsWith('.mp4'))).toBe(true);
	});

	it('as a CSV file: the exact bytes of the output file in n8n binary storage, on one item with the status', async () => {
		const id = await taskIn('completed', 7);
		const result = await run([id], { operation: 'getResults', resultFormat: 'binary', binaryPropertyName: 'results' });
		expect(result.error).toBeUndefined();
		const out = result.output('Status');
		expect(out).toHaveLength(1);
		expect(out[0].json).toMatchObject({ 'task-id': id, status: 'completed' });
		const binary = out[0].binary?.results as IBinaryData;
		expect(binary).toMatchObject({ mimeType: 'text/csv', fileName: `${id}.csv` });
		const bytes = await Container.get(core.BinaryDataService).getAsBuffer(binary);
		expect(bytes.equals(await s3.getObjectBuffer(BUCKET, whilter.outputKeyOf(id)))).toBe(true);
	});

	it('reads an output file given as an http(s) URL, without sending the Whilter token to that host', async () => {
		const id = await taskIn('completed', 6);
		const csv = await outputCsv(id);
		served.set(`${id}.csv`, csv);
		whilter.tasks.get(id)!.outputKey = `${files.url}/files/${id}.csv?X-Amz-Signature=secret-signature`;
		const result = await run([id], { operation: 'getResults', rowFilter: 'all' });
		expect(result.error).toBeUndefined();
		expect(result.output('Status').map((i) => i.json)).toEqual(csvRows(csv));
		const fetched = files.requests.filter((r) => r.path === `/files/${id}.csv`);
		expect(fetched).toHaveLength(1);
		expect(fetched[0].headers.authorization).toBeUndefined();

		const binary = await run([id], { operation: 'getResults', resultFormat: 'binary' });
		const bytes = await Container.get(core.BinaryDataService).getAsBuffer(binary.output('Status')[0].binary?.data as IBinaryData);
		expect(bytes.toString('utf8')).toBe(csv);
	});

	it('a URL that answers 404 is an error naming the file without its signed query', async () => {
		const id = await taskIn('completed', 2);
		whilter.tasks.get(id)!.outputKey = `${files.url}/files/missing.csv?X-Amz-Signature=secret-signature`;
		const result = await run([id], { operation: 'getResults' });
		expect(result.error?.message).toBe(`Item 0: cannot read the results file ${files.url}/files/missing.csv: HTTP 404: no such file`);
		expect(result.error?.message).not.toContain('secret-signature');
	});

	it('a malformed output file is an error naming the file and the row', async () => {
		const id = await taskIn('completed', 2);
		const key = `incoming/acme/output/broken-${id}.csv`;
		const client = new S3Client({
			endpoint: s3.endpoint,
			region: s3.region,
			forcePathStyle: true,
			credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
		});
		await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'phone,media-url,error\r\n1,https://m/1.mp4,\r\n2,https://m/2.mp4\r\n' }));
		client.destroy();
		whilter.tasks.get(id)!.outputKey = key;
		const result = await run([id], { operation: 'getResults' });
		expect(result.error?.message).toBe(`Item 0: the results file s3://${BUCKET}/${key} is not a valid CSV: row 2 (line 3) has 2 fields, the header has 3`);
	});

	it('a missing output file is an error naming the bucket and key', async () => {
		const id = await taskIn('completed', 2);
		whilter.tasks.get(id)!.outputKey = 'incoming/acme/output/nowhere.csv';
		const result = await run([id], { operation: 'getResults' });
		expect(result.error?.message).toBe(`Item 0: cannot read the results file s3://${BUCKET}/incoming/acme/output/nowhere.csv: there is no such file in the bucket`);
	});

	it('a task that is not completed is a clear error with its state, and nothing is read', async () => {
		const id = await taskIn('in-progress');
		const s3Before = s3.requests.length;
		const result = await run([id], { operation: 'getResults' });
		expect(result.error?.message).toBe(`Item 0: task ${id} is "in-progress", not completed: its results are not ready`);
		expect(result.error?.description).toMatch(/Wait for Completion/);
		expect(s3.requests.length).toBe(s3Before);
	});

	it('with Wait for Completion: waits for the task, then gives its rows', async () => {
		const id = await taskIn('in-progress', 5);
		// Whilter completes the task 200 ms into the wait.
		clock.current.at(200, async () => await whilter.advance(id));
		const result = await run([id], { operation: 'getResults', waitForCompletion: true, rowFilter: 'failed', ...FAST_WAIT, waitTimeout: 20 });
		expect(result.error).toBeUndefined();
		expect(result.output('Status').map((i) => i.json)).toEqual([{ phone: '+919000000004', name: 'Seed 4', 'media-url': '', error: ROW_ERROR }]);
		// Checks at 0, 50, 125 (in-progress) and 225 ms (completed).
		expect(statusGets(id)).toHaveLength(4);
	});

	it('with Wait for Completion and "Output Last Status": a timeout gives the status item instead of rows', async () => {
		const id = await taskIn('pending');
		const s3Reads = s3.requests.length;
		const result = await run([id], { operation: 'getResults', waitForCompletion: true, ...FAST_WAIT, waitTimeout: 0.25, onTimeout: 'outputLastStatus' });
		expect(result.output('Status').map((i) => i.json)).toEqual([expect.objectContaining({ 'task-id': id, status: 'pending', 'timed-out': true })]);
		// Checks at 0, 50, 125, 225 and 250 ms; no results file is read.
		expect(statusGets(id)).toHaveLength(5);
		expect(s3.requests.length).toBe(s3Reads);
	});

	it('several tasks: each row paired to the item that asked for it', async () => {
		const a = await taskIn('completed', 3);
		const b = await taskIn('completed', 2);
		const out = (await run([a, b], { operation: 'getResults' })).output('Status');
		expect(out.map((i) => [i.json.name, i.pairedItem])).toEqual([
			['Seed 0', { item: 0 }],
			['Seed 1', { item: 0 }],
			['Seed 2', { item: 0 }],
			['Seed 0', { item: 1 }],
			['Seed 1', { item: 1 }],
		]);
	});
});

describe('Whilter Status: Cancel', () => {
	it('POSTs /image/task/cancel/<task-id> (not under the client path) and the task is cancelled', async () => {
		const id = await taskIn('in-progress');
		const result = await run([id], { operation: 'cancel' });
		expect(result.error).toBeUndefined();
		const posts = whilter.requests.filter((r) => r.method === 'POST' && r.path.includes('/cancel/'));
		expect(posts.map((r) => r.path)).toContain(`/image/task/cancel/${id}`);
		expect(posts.filter((r) => r.path === `/image/task/cancel/${id}`)).toHaveLength(1);
		expect(posts.at(-1)?.headers.authorization).toMatch(/^Bearer wt-/);
		expect(whilter.tasks.get(id)?.state).toBe('cancelled');
		expect(result.output('Status')[0].json).toMatchObject({ 'task-id': id, status: 'cancelled', cancelled: true, message: 'Task cancelled successfully.' });
		// And Get now says so.
		expect((await run([id], { operation: 'get' })).output('Status')[0].json.status).toBe('cancelled');
	});

	it('a cancel Whilter refuses (task already completed) is an error with its message, sent once', async () => {
		const id = await taskIn('completed', 1);
		const result = await run([id], { operation: 'cancel' });
		expect(result.error?.message).toBe(`Whilter answered HTTP 409 to POST /image/task/cancel/${id} (sent once, not retried): Task ${id} is already completed`);
		expect(whilter.requests.filter((r) => r.path === `/image/task/cancel/${id}`)).toHaveLength(1);
		expect(whilter.tasks.get(id)?.state).toBe('completed');
	});

	it('the cancel path is under Options', async () => {
		const id = await taskIn('pending');
		const result = await run([id], { operation: 'cancel', options: { cancelPath: '/image/task/cancel/{taskId}' } });
		expect(result.error).toBeUndefined();
		const wrong = await run([id], { operation: 'cancel', options: { cancelPath: '/video/task/cancel/{taskId}' } });
		expect(wrong.error?.message).toMatch(/HTTP 404 to POST \/video\/task\/cancel\//);
	});

	it('the status path is under Options, and a bad one is refused by its place before any request', async () => {
		const id = await taskIn('pending');
		const moved = await run([id], { operation: 'get', options: { statusPath: '/v2/task/status/{taskId}' } });
		expect(moved.error?.message).toMatch(new RegExp(`HTTP 404 to GET /acme/v2/task/status/${id}`));
		const before = whilter.requests.length;
		const bad = await run([id], { operation: 'get', options: { statusPath: '/task/status' } });
		expect(bad.error?.message).toMatch(/"Options → Status Path"/);
		expect(whilter.requests.length).toBe(before);
	});
});

describe('Whilter Status: several items', () => {
	it('each task on its own; with continue on fail a bad item becomes its error and the rest go on', async () => {
		const good = await taskIn('completed', 3);
		const other = await taskIn('pending');
		const result = await run([good, 'task-unknown', '', other], { operation: 'get' }, { continueOnFail: true });
		expect(result.error).toBeUndefined();
		const out = result.output('Status');
		expect(out.map((i) => i.pairedItem)).toEqual([0, 1, 2, 3].map((item) => ({ item })));
		expect(out[0].json.status).toBe('completed');
		expect(out[1].json.error).toBe('Whilter answered HTTP 404 to GET /acme/task/status/task-unknown: Task task-unknown not found');
		expect(out[2].json.error).toBe('Item 2: "Task ID" is empty');
		expect(out[3].json.status).toBe('pending');
	});

	it('Get Results with continue on fail: rows of completed tasks, an error item for one that is not', async () => {
		const done = await taskIn('completed', 2);
		const pending = await taskIn('pending');
		const out = (await run([pending, done], { operation: 'getResults' }, { continueOnFail: true })).output('Status');
		expect(out.map((i) => [i.json.name ?? i.json.error, i.pairedItem])).toEqual([
			[`Item 0: task ${pending} is "pending", not completed: its results are not ready`, { item: 0 }],
			['Seed 0', { item: 1 }],
			['Seed 1', { item: 1 }],
		]);
	});

	it('Cancel with continue on fail: one refused, one cancelled', async () => {
		const done = await taskIn('completed', 1);
		const open = await taskIn('pending');
		const out = (await run([done, open], { operation: 'cancel' }, { continueOnFail: true })).output('Status');
		expect(out[0].json.error).toMatch(/HTTP 409/);
		expect(out[1].json).toMatchObject({ 'task-id': open, cancelled: true });
		expect(whilter.tasks.get(open)?.state).toBe('cancelled');
	});

	it('without continue on fail the first bad item stops the node', async () => {
		const good = await taskIn('pending');
		const result = await run([good, 'task-unknown'], { operation: 'get' });
		expect(result.error?.message).toMatch(/HTTP 404/);
	});
});
