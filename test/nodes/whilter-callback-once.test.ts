/**
 * Exactly-once starts for the Whilter Trigger: a genuine callback that arrives again (Whilter
 * retrying, or anyone replaying it) does not start the workflow again. In-process (test/harness/
 * webhook.ts) against the Whilter contract server, with the workflow's static data kept from one
 * call to the next as n8n keeps it (`storedWorkflow()`: loaded before each call, stored after it when
 * the node changed it).
 *
 * What is remembered is (task id, status) for batch callbacks, (request id, status) for real-time
 * ones, and only once the workflow started: refused and ignored callbacks are not remembered, so
 * Whilter's retry of those can still start it. Time runs on the virtual clock (test/harness/clock.ts).
 */
import type { IDataObject, INodeCredentials, INodeParameters } from 'n8n-workflow';
import { sleep } from 'n8n-workflow';

import { useVirtualClock } from '../harness/clock';
import { CredentialStore, shutdownN8nCore } from '../harness/run';
import { callWebhook, expectRefused, storedWorkflow } from '../harness/webhook';
import type { StoredWorkflow, WebhookResult } from '../harness/webhook';
import { seedTaskAt, startWhilterWithS3, statusLookupsSince, whilterCredentialData } from '../harness/whilter';
import type { WhilterWithS3 } from '../harness/whilter';
import type { WhilterServer } from '../servers/whilter';

jest.mock('n8n-workflow', () => {
	const actual = jest.requireActual<typeof import('n8n-workflow')>('n8n-workflow');
	return { ...actual, sleep: jest.fn(actual.sleep) };
});
const clock = useVirtualClock(jest.mocked(sleep));

const HEADER = 'X-Whilter-Secret';
const SECRET = 'once-callback-secret-0b7d4e19c2';
const API_KEY = 'acme-api-key';
const MEDIA = 'https://media.example.test';
const DAY = 24 * 60 * 60 * 1000;

let servers: WhilterWithS3;
let whilter: WhilterServer;
let store: CredentialStore;
let credentials: INodeCredentials;

beforeAll(async () => {
	servers = await startWhilterWithS3({ server: { apiKey: API_KEY } });
	whilter = servers.whilter;
	store = new CredentialStore();
	credentials = {
		whilterApi: store.add('whilterApi', { ...whilterCredentialData(whilter, servers.drop), apiKey: API_KEY }),
		whilterCallbackHeaderAuthApi: store.add('whilterCallbackHeaderAuthApi', { headerName: HEADER, secret: SECRET }),
	};
});

afterAll(async () => {
	await servers?.close();
	await shutdownN8nCore();
});

afterEach(() => {
	whilter.faults.clear();
});

const auth = { [HEADER]: SECRET };
const batchTrigger = (parameters: INodeParameters = {}): INodeParameters => ({ event: 'batchTask', authentication: 'headerAuth', ...parameters });
const realtimeTrigger = (parameters: INodeParameters = {}): INodeParameters => ({ event: 'realtimeMedia', authentication: 'headerAuth', ...parameters });

async function post(workflow: StoredWorkflow, parameters: INodeParameters, body: unknown, headers: Record<string, string> = auth): Promise<WebhookResult> {
	return await callWebhook({ workflow, node: { type: 'whilterTrigger', parameters, credentials }, credentials: store, request: { json: body, headers } });
}

function expectStarted(result: WebhookResult): IDataObject[] {
	expect({ status: result.status, error: result.error?.message, started: result.workflowData !== undefined }).toEqual({ status: 200, error: undefined, started: true });
	return result.items;
}

/** 200, nothing started: the answer to a callback that already started the workflow. */
function expectRepeat(result: WebhookResult): IDataObject {
	expect({ status: result.status, error: result.error?.message, started: result.workflowData !== undefined }).toEqual({ status: 200, error: undefined, started: false });
	expect(result.json).toMatchObject({ duplicate: true, message: expect.stringMatching(/^Already handled: /) });
	return result.json as IDataObject;
}

function lookupsSince(mark: number, pathStart?: string): string[] {
	return statusLookupsSince(whilter, mark, pathStart);
}

async function completedTask(rows = 2): Promise<string> {
	return await seedTaskAt(whilter, 2, { rows, campaign: 'once' });
}

describe('Whilter Trigger: a batch callback starts the workflow once per task and status', () => {
	it('the same callback twice: one start; the repeat is answered 200 "already handled" without asking the status API', async () => {
		const workflow = storedWorkflow();
		const taskId = await completedTask();
		const body = { 'task-id': taskId, status: 'completed', 'file-path': whilter.outputKeyOf(taskId) };
		const mark = whilter.requests.length;

		const [item] = expectStarted(await post(workflow, batchTrigger(), body));
		expect(item).toMatchObject({ 'task-id': taskId, status: 'completed', confirmed: true });
		expect(workflow.saves).toBe(1);

		const repeat = expectRepeat(await post(workflow, batchTrigger(), body));
		expect(repeat).toEqual({
			message: `Already handled: task ${taskId} ("completed") started this workflow at ${new Date(clock.current.now).toISOString()}`,
			duplicate: true,
			'task-id': taskId,
			status: 'completed',
		});
		// The same claim in other words is the same callback.
		expectRepeat(await post(workflow, batchTrigger(), { taskId, status: 'Succeeded' }));
		expect(lookupsSince(mark)).toEqual([`/acme/task/status/${taskId}`]);
	});

	it('what is remembered lives in the workflow\'s static data: the same workflow loaded afresh (another process) still knows it', async () => {
		const workflow = storedWorkflow();
		const taskId = await completedTask();
		const body = { 'task-id': taskId, status: 'completed' };
		expectStarted(await post(workflow, batchTrigger(), body));
		// Only the static data as stored, under another workflow id: nothing this process holds applies.
		const reloaded = storedWorkflow(workflow.staticData);
		const mark = whilter.requests.length;
		expectRepeat(await post(reloaded, batchTrigger(), body));
		expect(lookupsSince(mark)).toEqual([]);
		// A workflow without that static data starts.
		expectStarted(await post(storedWorkflow(), batchTrigger(), body));
	});

	it('another status of the same task starts; each status once', async () => {
		const workflow = storedWorkflow();
		const trigger = batchTrigger({ statuses: ['in-progress', 'completed'] });
		const taskId = await seedTaskAt(whilter, 1, { rows: 2, campaign: 'once' });

		expect(expectStarted(await post(workflow, trigger, { 'task-id': taskId, status: 'in-progress' }))[0]).toMatchObject({ status: 'in-progress' });
		expectRepeat(await post(workflow, trigger, { 'task-id': taskId, status: 'in-progress' }));
		await whilter.advance(taskId);
		expect(expectStarted(await post(workflow, trigger, { 'task-id': taskId, status: 'completed' }))[0]).toMatchObject({ status: 'completed' });
		expectRepeat(await post(workflow, trigger, { 'task-id': taskId, status: 'completed' }));
		// Another task with the same status starts.
		expectStarted(await post(workflow, trigger, { 'task-id': await completedTask(), status: 'completed' }));
	});

	it('Options → Start Once per ID and Status off: every genuine callback starts', async () => {
		const workflow = storedWorkflow();
		const trigger = batchTrigger({ options: { startOnce: false } });
		const taskId = await completedTask();
		const mark = whilter.requests.length;
		for (let i = 0; i < 3; i++) expectStarted(await post(workflow, trigger, { 'task-id': taskId, status: 'completed' }));
		expect(lookupsSince(mark)).toHaveLength(3);
		// Nothing was remembered meanwhile: turned on again, the next one starts, once.
		expectStarted(await post(workflow, batchTrigger(), { 'task-id': taskId, status: 'completed' }));
		expectRepeat(await post(workflow, batchTrigger(), { 'task-id': taskId, status: 'completed' }));
	});

	it('refused and ignored callbacks are not remembered: the genuine one after them starts', async () => {
		const workflow = storedWorkflow();
		const taskId = await seedTaskAt(whilter, 1, { rows: 2, campaign: 'once' });
		const completed = { 'task-id': taskId, status: 'completed' };
		const inProgress = { 'task-id': taskId, status: 'in-progress' };

		expectRefused(await post(workflow, batchTrigger(), completed, { [HEADER]: 'wrong-secret' }), 403);
		// Claims "completed" before the task is: the status API contradicts it.
		expectRefused(await post(workflow, batchTrigger(), completed), 409);
		// Ignored: a real status this trigger does not start on.
		expect((await post(workflow, batchTrigger(), inProgress)).json).toMatchObject({ ignored: true });
		expect(workflow.saves).toBe(0);
		// The in-progress callback was ignored, not remembered: a trigger set to start on it does.
		expectStarted(await post(workflow, batchTrigger({ statuses: ['in-progress', 'completed'] }), inProgress));

		await whilter.advance(taskId);
		// The status API failing: Whilter is asked to try again.
		whilter.faults.add({ method: 'GET', path: `/acme/task/status/${taskId}`, kind: 'status', status: 500 });
		expectRefused(await post(workflow, batchTrigger(), completed), 503);
		expectStarted(await post(workflow, batchTrigger(), completed));
		expectRepeat(await post(workflow, batchTrigger(), completed));
	});

	it('a completed task whose result rows are all filtered out starts nothing and is not remembered', async () => {
		const workflow = storedWorkflow();
		const taskId = await completedTask(3);
		const body = { 'task-id': taskId, status: 'completed' };
		// The contract server writes every row with its media: no failed rows.
		const none = await post(workflow, batchTrigger({ output: 'rows', rowFilter: 'failed' }), body);
		expect(none.json).toMatchObject({ ignored: true, rows: 0 });
		expect(expectStarted(await post(workflow, batchTrigger({ output: 'rows' }), body))).toHaveLength(3);
		expectRepeat(await post(workflow, batchTrigger({ output: 'rows' }), body));
	});

	it('a callback that names no status: known by the status the API confirms (one lookup per repeat)', async () => {
		const workflow = storedWorkflow();
		const taskId = await completedTask();
		const mark = whilter.requests.length;
		expectStarted(await post(workflow, batchTrigger(), { 'task-id': taskId }));
		expect(expectRepeat(await post(workflow, batchTrigger(), { 'task-id': taskId }))).toMatchObject({ 'task-id': taskId, status: 'completed' });
		expect(lookupsSince(mark)).toHaveLength(2);
		// The same task and status, now named: known without asking.
		expectRepeat(await post(workflow, batchTrigger(), { 'task-id': taskId, status: 'completed' }));
		expect(lookupsSince(mark)).toHaveLength(2);
	});

	it('without Confirm With Whilter API, the claimed status is what is remembered, a word the node does not know included', async () => {
		const workflow = storedWorkflow();
		const trigger = batchTrigger({ confirmWithApi: false, statuses: ['completed', 'other'] });
		expectStarted(await post(workflow, trigger, { 'task-id': 'task-unconfirmed-1', status: 'completed' }));
		expectRepeat(await post(workflow, trigger, { 'task-id': 'task-unconfirmed-1', status: 'completed' }));
		expect(expectStarted(await post(workflow, trigger, { 'task-id': 'task-unconfirmed-1', status: 'Archived' }))[0]).toMatchObject({ status: 'Archived' });
		expect(expectRepeat(await post(workflow, trigger, { 'task-id': 'task-unconfirmed-1', status: 'Archived' }))).toMatchObject({ status: 'Archived' });
		// The longest task id there can be.
		const longId = `t-${'x'.repeat(254)}`;
		expectStarted(await post(workflow, trigger, { 'task-id': longId, status: 'completed' }));
		expect(expectRepeat(await post(workflow, trigger, { 'task-id': longId, status: 'completed' }))).toMatchObject({ 'task-id': longId });
		expectStarted(await post(workflow, trigger, { 'task-id': `${longId.slice(0, -1)}y`, status: 'completed' }));
	});

	it('deliveries of the same callback at once (both read the same static data): exactly one starts', async () => {
		const workflow = storedWorkflow();
		const taskId = await completedTask();
		const body = { 'task-id': taskId, status: 'completed' };
		const mark = whilter.requests.length;
		const results = await Promise.all(Array.from({ length: 5 }, async () => await post(workflow, batchTrigger(), body)));
		expect(results.filter((r) => r.workflowData !== undefined)).toHaveLength(1);
		for (const result of results.filter((r) => r.workflowData === undefined)) expectRepeat(result);
		// The repeats waited for the first and did not ask Whilter themselves.
		expect(lookupsSince(mark)).toHaveLength(1);
	});

	it('deliveries at once where the first is refused: the next one goes on and starts', async () => {
		const workflow = storedWorkflow();
		const taskId = await completedTask();
		whilter.faults.add({ method: 'GET', path: `/acme/task/status/${taskId}`, kind: 'status', status: 500 });
		const results = await Promise.all([0, 1].map(async () => await post(workflow, batchTrigger(), { 'task-id': taskId, status: 'completed' })));
		expect(results.map((r) => r.status).sort()).toEqual([200, 503]);
		expect(results.filter((r) => r.workflowData !== undefined)).toHaveLength(1);
	});
});

describe('Whilter Trigger: what is remembered is bounded', () => {
	const trigger = batchTrigger({ confirmWithApi: false });

	it('by age: 7 days, on the clock', async () => {
		const workflow = storedWorkflow();
		const body = { 'task-id': 'task-aging', status: 'completed' };
		expectStarted(await post(workflow, trigger, body));
		clock.current.now += 7 * DAY - 60_000;
		expectRepeat(await post(workflow, trigger, body));
		clock.current.now += 2 * 60_000;
		expectStarted(await post(workflow, trigger, body));
		expectRepeat(await post(workflow, trigger, body));
	});

	it('by number: the last 1,000 started; the oldest is forgotten first', async () => {
		const workflow = storedWorkflow();
		for (let i = 0; i <= 1000; i++) {
			expectStarted(await post(workflow, trigger, { 'task-id': `task-many-${i}`, status: 'completed' }));
			clock.current.now += 1000;
		}
		expect(JSON.stringify(workflow.staticData).length).toBeLessThan(100_000);
		// The static data as stored (read under another workflow id), and this process's memory: both bounded.
		for (const copy of [storedWorkflow(workflow.staticData), workflow]) {
			expectRepeat(await post(copy, trigger, { 'task-id': 'task-many-1000', status: 'completed' }));
			expectRepeat(await post(copy, trigger, { 'task-id': 'task-many-1', status: 'completed' }));
			expectStarted(await post(copy, trigger, { 'task-id': 'task-many-0', status: 'completed' }));
		}
	});
});

describe('Whilter Trigger: a real-time callback starts the workflow once per request and status', () => {
	async function readyRequest(clientRequestId: string): Promise<string> {
		const response = await fetch(`${whilter.url}/video/request`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', authorization: `Bearer ${whilter.issueToken()}`, 'x-api-key': API_KEY },
			body: JSON.stringify({ 'client-request-id': clientRequestId, 'customer-id': 'cust-1', 'use-case-id': 'uc-1', 'user-id': `user-${clientRequestId}` }),
		});
		expect(response.status).toBe(200);
		const id = String(((await response.json()) as IDataObject)['whilter-request-id']);
		whilter.realtime.get(id)!.status = 'SUCCESS';
		return id;
	}

	it('with the Whilter request ID: one start, the repeat answered without a second GET /status', async () => {
		const workflow = storedWorkflow();
		const id = await readyRequest('order-once-1');
		const body = { 'client-request-id': 'order-once-1', 'whilter-request-id': id, 'video-url': `${MEDIA}/rt/${id}.mp4` };
		const mark = whilter.requests.length;
		expectStarted(await post(workflow, realtimeTrigger(), body));
		expect(expectRepeat(await post(workflow, realtimeTrigger(), body))).toMatchObject({
			'client-request-id': 'order-once-1',
			'whilter-request-id': id,
			status: 'SUCCESS',
		});
		expect(lookupsSince(mark, '/status/')).toEqual([`/status/${id}`]);
	});

	it('the documented payload (client-request-id only): once; another status of the request starts', async () => {
		const workflow = storedWorkflow();
		const trigger = realtimeTrigger({ realtimeStatuses: ['SUCCESS', 'FAILURE'] });
		const body = { 'client-request-id': 'order-once-2', 'user-id': 'u-2', 'video-url': `${MEDIA}/v2.mp4` };
		expectStarted(await post(workflow, trigger, body));
		expectRepeat(await post(workflow, trigger, body));
		expectStarted(await post(workflow, trigger, { 'client-request-id': 'order-once-2', status: 'FAILURE' }));
		expectRepeat(await post(workflow, trigger, { 'client-request-id': 'order-once-2', status: 'FAILURE' }));
		// Off: each starts.
		expectStarted(await post(workflow, realtimeTrigger({ options: { startOnce: false } }), body));
	});
});
