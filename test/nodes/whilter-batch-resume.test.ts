/**
 * Whilter Batch's "Wait for Completion Callback" resume: the node's restart webhook, run in-process
 * (test/harness/webhook.ts: n8n-core's WebhookContext with the waiting execution's run data, custom
 * data included) against the Whilter contract server and a real S3-compatible server. The same
 * scenarios as test/e2e/submit-and-wait.test.ts, plus every branch of the resume:
 * nothing waited for / still submitting → 409, another task → 403, status API unreachable → 503
 * (the execution keeps waiting), not completed → 409, failed/cancelled → the execution fails,
 * completed → the result rows (Callback Result Rows filter).
 */

import type { IDataObject, INodeParameters, INodeProperties, INodeType, IRunExecutionData } from 'n8n-workflow';
import { sleep } from 'n8n-workflow';

import { CredentialStore, packageNodeTypes, runChain, shutdownN8nCore } from '../harness/run';
import { batchTaskKey, callWebhook, expectRefused, startWebhookRelay } from '../harness/webhook';
import type { WebhookRelay, WebhookResult } from '../harness/webhook';
import { seedTaskAt, startWhilterWithS3, statusLookupsSince, whilterCredentialData } from '../harness/whilter';
import type { WhilterWithS3 } from '../harness/whilter';
import { closedPortUrl } from '../servers/http';
import type { S3Server } from '../servers/s3';
import { ROW_ERROR } from '../servers/whilter';
import type { WhilterServer } from '../servers/whilter';

// The retry policy waits between attempts with n8n-workflow's sleep (up to ~7 s for 5 attempts).
// Only the tests that exhaust the retries make it return at once; every other test waits for real.
jest.mock('n8n-workflow', () => {
	const actual = jest.requireActual<typeof import('n8n-workflow')>('n8n-workflow');
	return { ...actual, sleep: jest.fn(actual.sleep) };
});

const MEDIA = 'https://media.example.test';
const NODE_ID = 'd0000000-0000-4000-8000-000000000003';
const CUSTOMERS = 7;

let servers: WhilterWithS3;
let s3: S3Server;
let whilter: WhilterServer;
let store: CredentialStore;
let credential: { id: string; name: string };

beforeAll(async () => {
	servers = await startWhilterWithS3();
	({ s3, whilter } = servers);
	store = new CredentialStore();
	credential = store.add('whilterApi', whilterCredentialData(whilter, servers.drop));
});

afterAll(async () => {
	await servers?.close();
	await shutdownN8nCore();
});

afterEach(() => {
	whilter.faults.clear();
	whilter.statusVariant = 'lower';
	jest.mocked(sleep).mockReset();
	jest.mocked(sleep).mockImplementation(jest.requireActual<typeof import('n8n-workflow')>('n8n-workflow').sleep);
});

/** An option of Whilter Batch's Options collection, found by the label users see (its name has been renamed before). */
function batchOption(displayName: string): string {
	const collection = (packageNodeTypes.whilterBatch as INodeType).description.properties.find((p) => p.name === 'options');
	const found = (collection?.options as INodeProperties[] | undefined)?.find((o) => o.displayName === displayName);
	if (!found) throw new Error(`Whilter Batch has no option "${displayName}"`);
	return found.name;
}

function batchParameters(options: IDataObject = {}): INodeParameters {
	return { inputSource: 'items', identifierColumn: 'phone', templateId: 'T-WAIT', campaignId: 'resume', options: { waitForCallback: true, ...options } };
}

/** One POST to the resume URL of an execution whose Whilter Batch waits for `waitingFor` (its custom data). */
async function resume(waitingFor: string | undefined, body: unknown, options: IDataObject = {}, whilterApi = credential): Promise<WebhookResult> {
	return await callWebhook({
		node: { type: 'whilterBatch', id: NODE_ID, name: 'Whilter Batch', parameters: batchParameters(options), credentials: { whilterApi } },
		credentials: store,
		request: { json: body },
		waiting: { customData: waitingFor === undefined ? {} : { [batchTaskKey(NODE_ID)]: waitingFor } },
	});
}

function expectResumed(result: WebhookResult): IDataObject[] {
	expect(result.error).toBeUndefined();
	expect({ status: result.status, answeredByNode: result.answeredByNode }).toEqual({ status: 200, answeredByNode: false });
	expect(result.workflowData).toHaveLength(1);
	return result.items;
}

async function taskAt(steps: 0 | 1 | 2, rows = 6): Promise<string> {
	return await seedTaskAt(whilter, steps, { rows, campaign: `resume-${steps}` });
}

function lookupsSince(mark: number): string[] {
	return statusLookupsSince(whilter, mark);
}

const phone = (i: number) => `+9198000000${String(i).padStart(2, '0')}`;

describe('Whilter Batch resume: the round trip', () => {
	let relay: WebhookRelay | undefined;
	afterAll(async () => await relay?.close());

	it('submits with the execution\'s resume URL, waits, refuses forged callbacks, and resumes on Whilter\'s own with the result rows', async () => {
		const customers = Array.from({ length: CUSTOMERS }, (_, i) => ({ json: { phone: phone(i), name: `Customer ${i}` } }));
		const submitted = await runChain({
			items: customers,
			nodes: [{ name: 'Whilter Batch', type: 'whilterBatch', parameters: batchParameters({ [batchOption('Callback Timeout (Minutes)')]: 10 }), credentials: { whilterApi: credential } }],
			credentials: store,
		});
		expect(submitted.error).toBeUndefined();
		expect(submitted.run.status).toBe('waiting');
		const [out] = submitted.output('Whilter Batch');
		const taskId = String(out.json['task-id']);
		expect(out.json).toMatchObject({ 'task-id': taskId, 'row-count': CUSTOMERS, 'waiting-for-callback': true });
		const waiting: IRunExecutionData = submitted.run.data;
		const waitingNode = waiting.executionData!.nodeExecutionStack[0].node;
		expect(waitingNode.name).toBe('Whilter Batch');
		// The task id is in the execution's custom data, under the node's key.
		expect(waiting.resultData.metadata).toEqual({ [batchTaskKey(waitingNode.id)]: taskId });
		// The task's callback is this execution's resume URL.
		const task = whilter.tasks.get(taskId)!;
		const resumeUrl = String(task.body['callback-url']);
		expect(resumeUrl).toMatch(/^http:\/\/127\.0\.0\.1\/webhook-waiting\/\d+/);

		const post = async (body: unknown) => await callWebhook({ credentials: store, request: { json: body }, waiting: { runData: waiting } });
		const other = await taskAt(2);
		expectRefused(await post({ 'task-id': 'task-forged', status: 'completed', 'file-path': 'x.csv' }), 403);
		expectRefused(await post({ 'task-id': other, status: 'completed', 'file-path': whilter.outputKeyOf(other) }), 403);
		expectRefused(await post({ status: 'completed' }), 400, 'The callback names no task-id');
		expectRefused(await post({ 'task-id': taskId, status: 'completed' }), 409, `Task ${taskId} is "pending" according to the status API, not completed`);
		await whilter.advance(taskId);
		expectRefused(await post({ 'task-id': taskId, status: 'completed' }), 409, `Task ${taskId} is "in-progress" according to the status API, not completed`);

		// Whilter's POST to the resume URL reaches the node through a stand-in for n8n's /webhook-waiting/ endpoint.
		relay = await startWebhookRelay((_request, path) => ({ credentials: store, waiting: { runData: waiting, executionId: path.split('/')[2] } }));
		task.body['callback-url'] = resumeUrl.replace('http://127.0.0.1', relay.url);
		const mark = whilter.requests.length;
		await whilter.advance(taskId); // completed: output CSV written, callback POSTed
		const callbacks = whilter.callbacks.filter((c) => c.taskId === taskId);
		expect(callbacks.map((c) => c.status)).toEqual([200]);
		expect(relay.calls.map((c) => c.path)).toEqual([new URL(resumeUrl).pathname]);
		const rows = expectResumed(relay.calls[0].result);
		expect(rows).toHaveLength(CUSTOMERS);
		expect(rows.map((r) => r.phone)).toEqual(customers.map((c) => c.json.phone));
		expect(rows[0]).toEqual({ phone: phone(0), name: 'Customer 0', 'media-url': `${MEDIA}/${taskId}/0.mp4`, error: '' });
		expect(rows[4]).toEqual({ phone: phone(4), name: 'Customer 4', 'media-url': '', error: ROW_ERROR });
		// Confirmed against the status API before the rows were read.
		expect(lookupsSince(mark)).toEqual([`/acme/task/status/${taskId}`]);
	});
});

describe('Whilter Batch resume: refusals (the execution keeps waiting)', () => {
	it('no task waited for → 409, without the status API being asked', async () => {
		const taskId = await taskAt(2);
		const mark = whilter.requests.length;
		expectRefused(await resume(undefined, { 'task-id': taskId, status: 'completed' }), 409, 'This execution is not waiting for a Whilter task');
		// Custom data of another Whilter Batch node of the workflow is not this node's.
		const otherNode = await callWebhook({
			node: { type: 'whilterBatch', id: NODE_ID, parameters: batchParameters(), credentials: { whilterApi: credential } },
			credentials: store,
			request: { json: { 'task-id': taskId } },
			waiting: { customData: { [batchTaskKey('another-node-id')]: taskId } },
		});
		expectRefused(otherNode, 409, 'This execution is not waiting for a Whilter task');
		expect(lookupsSince(mark)).toEqual([]);
	});

	it('still submitting (the slot reserved, no task created yet) → 409', async () => {
		// What the node keeps in the custom data before it submits: seen in a run whose task creation failed.
		whilter.faults.add({ method: 'POST', path: '/acme/task', kind: 'status', status: 500 });
		const tasksBefore = whilter.tasks.size;
		const failed = await runChain({
			items: [{ json: { phone: phone(0), name: 'Customer 0' } }],
			// A file name of its own: the round trip's file is in the drop already, and would be refused before the task call.
			nodes: [{ name: 'Whilter Batch', type: 'whilterBatch', parameters: { ...batchParameters(), campaignName: 'still-submitting' }, credentials: { whilterApi: credential }, continueOnFail: true }],
			credentials: store,
		});
		expect(whilter.tasks.size).toBe(tasksBefore);
		expect(failed.run.status).not.toBe('waiting');
		const reserved = Object.entries(failed.run.data.resultData.metadata ?? {});
		expect(reserved).toHaveLength(1);
		expect(reserved[0][0]).toMatch(/^whilter_task_/);
		const [, submitting] = reserved[0];

		const taskId = await taskAt(2);
		const mark = whilter.requests.length;
		expectRefused(await resume(submitting, { 'task-id': taskId, status: 'completed' }), 409, 'This execution is not waiting for a Whilter task');
		expectRefused(await resume(submitting, { 'task-id': submitting, status: 'completed' }), 409, 'This execution is not waiting for a Whilter task');
		expect(lookupsSince(mark)).toEqual([]);
	});

	it('a callback for another task → 403; a malformed one → 400; neither asks the status API', async () => {
		const waitedFor = await taskAt(1);
		const other = await taskAt(2);
		const mark = whilter.requests.length;
		expectRefused(await resume(waitedFor, { 'task-id': other, status: 'completed' }), 403, 'The callback is for another task than the one this execution waits for');
		expectRefused(await resume(waitedFor, { 'task-id': 'task-forged', status: 'completed' }), 403);
		expectRefused(await resume(waitedFor, [{ 'task-id': waitedFor }]), 400, /must be a JSON object/);
		expectRefused(await resume(waitedFor, {}), 400, /got an empty body$/);
		expectRefused(await resume(waitedFor, { 'task-id': `${waitedFor} x` }), 400, /must be a task ID/);
		expect(lookupsSince(mark)).toEqual([]);
	});

	it('the task not completed according to the status API → 409, whatever the callback claims', async () => {
		const pending = await taskAt(0);
		const running = await taskAt(1);
		expectRefused(await resume(pending, { 'task-id': pending, status: 'completed' }), 409, `Task ${pending} is "pending" according to the status API, not completed`);
		expectRefused(await resume(running, { 'task-id': running, status: 'completed', 'file-path': 'x.csv' }), 409, `Task ${running} is "in-progress" according to the status API, not completed`);
	});

	describe('the status API unreachable → 503', () => {
		it('a 5xx that is not retried: one lookup', async () => {
			const taskId = await taskAt(2);
			whilter.faults.add({ method: 'GET', path: `/acme/task/status/${taskId}`, kind: 'status', status: 500 });
			const mark = whilter.requests.length;
			expectRefused(await resume(taskId, { 'task-id': taskId, status: 'completed' }), 503, 'The callback could not be confirmed against the Whilter status API; try again');
			expect(lookupsSince(mark)).toHaveLength(1);
			// Still waiting: the next callback resumes it.
			expect(expectResumed(await resume(taskId, { 'task-id': taskId, status: 'completed' }))).toHaveLength(6);
		});

		it.each([
			['503 on every attempt', { kind: 'status' as const, status: 503 as const }],
			['the connection dropped on every attempt', { kind: 'reset' as const }],
		])('%s: 503 once the retries are used up', async (_name, fault) => {
			jest.mocked(sleep).mockImplementation(async () => undefined);
			const taskId = await taskAt(2);
			whilter.faults.add({ method: 'GET', path: `/acme/task/status/${taskId}`, times: 5, ...fault });
			const mark = whilter.requests.length;
			expectRefused(await resume(taskId, { 'task-id': taskId, status: 'completed' }), 503, /could not be confirmed against the Whilter status API/);
			expect(lookupsSince(mark)).toHaveLength(5);
			expect(whilter.faults.pending()).toBe(0);
		});

		it('nothing listening at the API\'s address', async () => {
			jest.mocked(sleep).mockImplementation(async () => undefined);
			const taskId = await taskAt(2);
			const dead = store.add('whilterApi', { ...store.data(credential.id), baseUrl: await closedPortUrl() });
			expectRefused(await resume(taskId, { 'task-id': taskId, status: 'completed' }, {}, dead), 503, /could not be confirmed against the Whilter status API/);
		});
	});
});

describe('Whilter Batch resume: the task ended', () => {
	it('failed → the execution fails (webhook() throws), naming the task', async () => {
		const taskId = await taskAt(1);
		// Whilter documents no failed state for batch tasks, but one is accepted: the server is told to show it.
		(whilter.tasks.get(taskId) as unknown as { state: string }).state = 'failed';
		const result = await resume(taskId, { 'task-id': taskId, status: 'failed' });
		expect(result.workflowData).toBeUndefined();
		expect(result.answeredByNode).toBe(false);
		expect(result.status).toBe(500);
		expect(result.error?.message).toBe(`Whilter task ${taskId} ended "failed": Task failed`);
	});

	it('cancelled (through the API) → the execution fails, even when the callback claims completed', async () => {
		const taskId = await taskAt(1);
		const cancel = await fetch(`${whilter.url}/image/task/cancel/${taskId}`, { method: 'POST', headers: { authorization: `Bearer ${whilter.issueToken()}` } });
		expect(cancel.status).toBe(200);
		const result = await resume(taskId, { 'task-id': taskId, status: 'completed' });
		expect(result.workflowData).toBeUndefined();
		expect(result.status).toBe(500);
		expect(result.error?.message).toMatch(new RegExp(`^Whilter task ${taskId} ended "cancelled"`));
	});
});

describe('Whilter Batch resume: completed', () => {
	it('resumes with the rows of the output file (the API\'s path, not the callback\'s), with or without a claimed status', async () => {
		const taskId = await taskAt(2, 6);
		const mark = whilter.requests.length;
		const rows = expectResumed(await resume(taskId, { 'task-id': taskId, status: 'completed', 'file-path': 'elsewhere/evil.csv' }));
		expect(rows).toHaveLength(6);
		expect(rows[0]).toEqual({ phone: '+919000000000', name: 'Seed 0', 'media-url': `${MEDIA}/${taskId}/0.mp4`, error: '' });
		expect(rows[4]).toEqual({ phone: '+919000000004', name: 'Seed 4', 'media-url': '', error: ROW_ERROR });
		expect(lookupsSince(mark)).toEqual([`/acme/task/status/${taskId}`]);
		expect(s3.requests.some((r) => r.method === 'GET' && r.path.includes('evil'))).toBe(false);
		expect(expectResumed(await resume(taskId, { taskId }))).toHaveLength(6);
	});

	it('Callback Result Rows: failed only, succeeded only', async () => {
		const taskId = await taskAt(2, 6);
		const rows = batchOption('Callback Result Rows');
		const failed = expectResumed(await resume(taskId, { 'task-id': taskId, status: 'completed' }, { [rows]: 'failed' }));
		expect(failed.map((r) => [r.phone, r.error])).toEqual([['+919000000004', ROW_ERROR]]);
		const succeeded = expectResumed(await resume(taskId, { 'task-id': taskId, status: 'completed' }, { [rows]: 'succeeded' }));
		expect(succeeded.map((r) => r.phone)).toEqual(['+919000000000', '+919000000001', '+919000000002', '+919000000003', '+919000000005']);
		expect(succeeded.every((r) => r.error === '')).toBe(true);
	});

	// The status words Whilter may use (see test/nodes/vendor-variants.test.ts), with the word its callback carries.
	it.each([
		['lower', 'completed'],
		['upper', 'COMPLETED'],
		['synonyms', 'finished'],
	] as const)('status words %s: resumes on its completion callback ("%s"), refuses a task the API says is running', async (variant, callbackWord) => {
		whilter.statusVariant = variant;
		try {
			const taskId = await taskAt(2, 3);
			expect(expectResumed(await resume(taskId, { 'task-id': taskId, status: callbackWord }))).toHaveLength(3);
			const running = await taskAt(1);
			expectRefused(await resume(running, { 'task-id': running }), 409, `Task ${running} is "in-progress" according to the status API, not completed`);
		} finally {
			whilter.statusVariant = 'lower';
		}
	});
});
