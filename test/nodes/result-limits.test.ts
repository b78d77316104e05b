/**
 * What a results file can make a node hold: one field (Max Field Size (KB), in Whilter Status' Get
 * Results, the Whilter Trigger's Result Rows and Whilter Batch's resume) and, where the rows become
 * the items a webhook starts or resumes with, their number (Max Result Rows).
 *
 * The large files are made by a loopback HTTP server as they are sent, with backpressure, so a file of
 * hundreds of MiB never exists whole. How much it sent before the node hung up is the measure of how
 * far the node read: it does not depend on the machine's speed, only on the buffers between the two
 * (the kernel's socket buffers and the streams', a few MiB together).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { IDataObject, INodeParameters } from 'n8n-workflow';

import { CredentialStore, runChain, shutdownN8nCore } from '../harness/run';
import { batchTaskKey, callWebhook, expectRefused } from '../harness/webhook';
import type { WebhookResult } from '../harness/webhook';
import { seedTaskAt, startWhilterWithS3, whilterCredentialData } from '../harness/whilter';
import type { WhilterWithS3 } from '../harness/whilter';
import { ROW_ERROR } from '../servers/whilter';
import type { WhilterServer } from '../servers/whilter';

const KIB = 1024;
const MIB = 1024 * KIB;
/** Far below the files the tests offer, far above what the buffers between server and node hold. */
const READ_BOUND = 32 * MIB;
const NODE_ID = 'd0000000-0000-4000-8000-00000000000f';

interface Served {
	path: string;
	/** Bytes handed to the socket. */
	sent: number;
	/** Whether the whole file was sent. */
	finished: boolean;
	/** Settles when the connection is closed, by either side. */
	closed: Promise<void>;
}

interface FileServer {
	url: string;
	served: Served[];
	close(): Promise<void>;
}

const HEADER = 'phone,note,media-url,error\r\n';

/**
 * GET /field/<bytes>: one row whose note is that many "x" (unquoted).
 * GET /rows/<count>/<width>: that many rows with a note of `width` characters, none failed.
 */
function* fileParts(path: string): Generator<Buffer> {
	const field = /^\/field\/(\d+)$/.exec(path);
	if (field) {
		yield Buffer.from(`${HEADER}+919000000000,`, 'utf8');
		const chunk = Buffer.alloc(64 * KIB, 'x');
		for (let left = Number(field[1]); left > 0; left -= chunk.length) yield left >= chunk.length ? chunk : chunk.subarray(0, left);
		yield Buffer.from(',https://m/0.mp4,\r\n', 'utf8');
		return;
	}
	const rows = /^\/rows\/(\d+)\/(\d+)$/.exec(path);
	if (!rows) throw new Error(`no such generated file: ${path}`);
	yield Buffer.from(HEADER, 'utf8');
	const note = 'y'.repeat(Number(rows[2]));
	let batch: string[] = [];
	for (let i = 0; i < Number(rows[1]); i++) {
		batch.push(`+91${String(i).padStart(10, '0')},${note},https://m/${i}.mp4,\r\n`);
		if (batch.length === 256) {
			yield Buffer.from(batch.join(''), 'utf8');
			batch = [];
		}
	}
	if (batch.length) yield Buffer.from(batch.join(''), 'utf8');
}

async function startFileServer(): Promise<FileServer> {
	const served: Served[] = [];
	const server = http.createServer((req, res) => {
		const path = new URL(req.url ?? '/', 'http://files').pathname;
		const entry: Served = { path, sent: 0, finished: false, closed: new Promise((resolve) => res.once('close', () => resolve())) };
		served.push(entry);
		const parts = fileParts(path);
		res.writeHead(200, { 'content-type': 'text/csv' });
		const pump = (): void => {
			for (;;) {
				if (res.destroyed) return;
				const next = parts.next();
				if (next.done) {
					entry.finished = true;
					res.end();
					return;
				}
				entry.sent += next.value.length;
				// Full buffers: wait until the reader takes more. A reader that hangs up never drains them.
				if (!res.write(next.value)) return void res.once('drain', pump);
			}
		};
		pump();
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		served,
		close: async () => {
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

let servers: WhilterWithS3;
let whilter: WhilterServer;
let files: FileServer;
let store: CredentialStore;
let credential: { id: string; name: string };

beforeAll(async () => {
	servers = await startWhilterWithS3();
	({ whilter } = servers);
	files = await startFileServer();
	store = new CredentialStore();
	credential = store.add('whilterApi', whilterCredentialData(whilter, servers.drop));
});

afterAll(async () => {
	await files?.close();
	await servers?.close();
	await shutdownN8nCore();
});

/** A completed task; given a generated file, its results are that file (the status API's file-path). */
async function completedTask(file?: string, rows = 6): Promise<string> {
	const id = await seedTaskAt(whilter, 2, { rows, campaign: 'limits' });
	if (file) whilter.tasks.get(id)!.outputKey = `${files.url}${file}`;
	return id;
}

/** The one request for `path` the file server got, once its connection is closed. */
async function servedFor(path: string): Promise<Served> {
	const matching = files.served.filter((s) => s.path === path);
	expect(matching).toHaveLength(1);
	await matching[0].closed;
	return matching[0];
}

beforeEach(() => {
	files.served.length = 0;
});

async function getResults(taskId: string, parameters: IDataObject = {}) {
	return await runChain({
		items: [{ json: { taskId } }],
		nodes: [{ name: 'Status', type: 'whilterStatus', parameters: { taskId: '={{ $json.taskId }}', operation: 'getResults', ...parameters }, credentials: { whilterApi: credential } }],
		credentials: store,
	});
}

async function trigger(taskId: string, parameters: INodeParameters = {}): Promise<WebhookResult> {
	return await callWebhook({
		node: { type: 'whilterTrigger', parameters: { event: 'batchTask', output: 'rows', ...parameters }, credentials: { whilterApi: credential } },
		credentials: store,
		request: { json: { 'task-id': taskId, status: 'completed' } },
	});
}

async function resume(taskId: string, options: IDataObject = {}): Promise<WebhookResult> {
	return await callWebhook({
		node: {
			type: 'whilterBatch',
			id: NODE_ID,
			name: 'Whilter Batch',
			parameters: { inputSource: 'items', identifierColumn: 'phone', templateId: 'T-LIMITS', campaignId: 'limits', options: { waitForCallback: true, ...options } },
			credentials: { whilterApi: credential },
		},
		credentials: store,
		request: { json: { 'task-id': taskId, status: 'completed' } },
		waiting: { customData: { [batchTaskKey(NODE_ID)]: taskId } },
	});
}

function tooManyRowsForTrigger(taskId: string, limit: number, filter = ''): string {
	return (
		`Task ${taskId} has more than ${limit} ${filter}result rows (Max Result Rows); nothing was started with a partial list. ` +
		'For a task this large, set Output to Callback and read its rows with Whilter Status → Get Results, which streams them, or gets the output file as a CSV file.'
	);
}

describe('Max Field Size: Whilter Status → Get Results', () => {
	it(
		'a 300 MiB field, at the default limit (1024 KB): an error naming the file, row, column and limit; the node stopped reading just past the limit',
		async () => {
			const path = `/field/${300 * MIB}`;
			const id = await completedTask(path);
			const result = await getResults(id);
			expect(result.error?.message).toBe(`Item 0: reading the results file ${files.url}${path} stopped: row 1 (line 2), column "note": the field is larger than the limit of 1024 KB`);
			expect(result.error?.description).toMatch(/Max Field Size \(KB\)/);
			const served = await servedFor(path);
			expect(served.finished).toBe(false);
			expect(served.sent).toBeLessThan(READ_BOUND);
		},
		180_000,
	);

	it('the option: a 3 KB field is refused under a 2 KB limit and read under a 4 KB one', async () => {
		const path = `/field/${3 * KIB}`;
		const id = await completedTask(path);
		const refused = await getResults(id, { options: { maxFieldSize: 2 } });
		expect(refused.error?.message).toBe(`Item 0: reading the results file ${files.url}${path} stopped: row 1 (line 2), column "note": the field is larger than the limit of 2 KB`);
		const read = await getResults(id, { options: { maxFieldSize: 4 } });
		expect(read.error).toBeUndefined();
		expect(read.output('Status').map((item) => String(item.json.note).length)).toEqual([3 * KIB]);
	});
});

describe('Max Result Rows and Max Field Size: Whilter Trigger, Output Result Rows', () => {
	it(
		'by default at most 100,000 rows: a task with 100,001 gets 500 and starts nothing; the answer points to Whilter Status → Get Results',
		async () => {
			const path = '/rows/100001/8';
			const id = await completedTask(path);
			expectRefused(await trigger(id), 500, tooManyRowsForTrigger(id, 100000));
		},
		120_000,
	);

	it('the option: a task with exactly the limit starts, one row more is refused; rows are counted after the Rows filter', async () => {
		const id = await completedTask(undefined, 6);
		const started = await trigger(id, { options: { maxResultRows: 6 } });
		expect(started.error).toBeUndefined();
		expect(started.items).toHaveLength(6);
		expect(started.webhookResponse).toMatchObject({ rows: 6 });

		expectRefused(await trigger(id, { options: { maxResultRows: 5 } }), 500, tooManyRowsForTrigger(id, 5));
		// Six rows, one of them failed (every fifth): one failed row is within a limit of one.
		const failedOnly = await trigger(id, { rowFilter: 'failed', options: { maxResultRows: 1 } });
		expect(failedOnly.items.map((row) => row.error)).toEqual([ROW_ERROR]);
		const succeededOnly = await trigger(id, { rowFilter: 'succeeded', options: { maxResultRows: 4 } });
		expectRefused(succeededOnly, 500, tooManyRowsForTrigger(id, 4, 'succeeded '));
	});

	it(
		'stops at the row after the limit: of a 68 MB file, the server sent little more than the first rows',
		async () => {
			const path = '/rows/65536/1000';
			const id = await completedTask(path);
			expectRefused(await trigger(id, { options: { maxResultRows: 100 } }), 500, tooManyRowsForTrigger(id, 100));
			const served = await servedFor(path);
			expect(served.finished).toBe(false);
			expect(served.sent).toBeLessThan(READ_BOUND);
		},
		120_000,
	);

	it('Max Field Size (KB): a field over it fails the webhook (n8n answers 500), naming the file, row, column and limit', async () => {
		const path = `/field/${3 * KIB}`;
		const id = await completedTask(path);
		const refused = await trigger(id, { options: { maxFieldSize: 2 } });
		expect({ status: refused.status, started: refused.workflowData !== undefined }).toEqual({ status: 500, started: false });
		expect(refused.error?.message).toBe(`Item 0: reading the results file ${files.url}${path} stopped: row 1 (line 2), column "note": the field is larger than the limit of 2 KB`);
		const started = await trigger(id, { options: { maxFieldSize: 3 } });
		expect(started.error).toBeUndefined();
		expect(started.items.map((row) => String(row.note).length)).toEqual([3 * KIB]);
	});
});

describe('Max Result Rows and Max Field Size: Whilter Batch resume', () => {
	it('more rows than the limit fail the execution, naming the task and pointing to Whilter Status; at the limit it resumes', async () => {
		const id = await completedTask(undefined, 6);
		const failed = await resume(id, { maxResultRows: 5 });
		expect({ status: failed.status, resumed: failed.workflowData !== undefined }).toEqual({ status: 500, resumed: false });
		expect(failed.error?.message).toBe(`Whilter task ${id} has more than 5 result rows (Max Result Rows): the execution was not resumed with a partial list`);
		expect(failed.error?.description).toBe(`Read them with Whilter Status → Get Results for task ${id}, which streams them, or gets the output file as a CSV file.`);

		const resumed = await resume(id, { maxResultRows: 6 });
		expect(resumed.error).toBeUndefined();
		expect(resumed.items).toHaveLength(6);
	});

	it(
		'by default at most 100,000 rows',
		async () => {
			const path = '/rows/100001/8';
			const id = await completedTask(path);
			const failed = await resume(id);
			expect(failed.error?.message).toBe(`Whilter task ${id} has more than 100000 result rows (Max Result Rows): the execution was not resumed with a partial list`);
		},
		120_000,
	);

	it('Max Field Size (KB): a field over it fails the execution, naming the file, row, column and limit', async () => {
		const path = `/field/${3 * KIB}`;
		const id = await completedTask(path);
		const failed = await resume(id, { maxFieldSize: 2 });
		expect(failed.error?.message).toBe(`Item 0: reading the results file ${files.url}${path} stopped: row 1 (line 2), column "note": the field is larger than the limit of 2 KB`);
		const resumed = await resume(id, { maxFieldSize: 3 });
		expect(resumed.error).toBeUndefined();
		expect(resumed.items.map((row) => String(row.note).length)).toEqual([3 * KIB]);
	});
});
