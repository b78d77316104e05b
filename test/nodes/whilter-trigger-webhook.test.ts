/**
 * Whilter Trigger's webhook() in-process (test/harness/webhook.ts: n8n-core's WebhookContext over a
 * recorded request/response) against the Whilter contract server and a real S3-compatible server.
 * The same scenarios as test/e2e/whilter-trigger.test.ts, in the order the node checks a callback:
 * authentication, body size, shape, status filter, confirmation with the Whilter API, result rows;
 * then real-time callbacks. Every refusal: its status, its message, and nothing started.
 */

import type { IDataObject, INodeCredentials, INodeParameters } from 'n8n-workflow';
import { sleep } from 'n8n-workflow';

import { CredentialStore, shutdownN8nCore } from '../harness/run';
import { callWebhook, expectRefused, messageOf, n8nLogs, startWebhookRelay } from '../harness/webhook';
import type { WebhookRelay, WebhookRequestInit, WebhookResult } from '../harness/webhook';
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

const HEADER = 'X-Whilter-Secret';
const SECRET = 'in-process-callback-secret-4f1c9a77';
const BASIC = { user: 'whilter', password: 'in-process-basic-password-8e2d11' };
const API_KEY = 'acme-api-key';
const MEDIA = 'https://media.example.test';

let servers: WhilterWithS3;
let s3: S3Server;
let whilter: WhilterServer;
let relay: WebhookRelay;
let store: CredentialStore;
const creds: Record<'api' | 'header' | 'basic' | 'emptyHeader' | 'emptyBasic', { id: string; name: string }> = {} as never;
/** What the relay's trigger is set to (each relayed test sets it). */
let relayed: { parameters: INodeParameters; credentials: INodeCredentials };

beforeAll(async () => {
	servers = await startWhilterWithS3({ server: { apiKey: API_KEY } });
	({ s3, whilter } = servers);
	store = new CredentialStore();
	creds.api = store.add('whilterApi', { ...whilterCredentialData(whilter, servers.drop), apiKey: API_KEY });
	creds.header = store.add('whilterCallbackHeaderAuthApi', { headerName: HEADER, secret: SECRET });
	creds.basic = store.add('whilterCallbackBasicAuthApi', BASIC);
	creds.emptyHeader = store.add('whilterCallbackHeaderAuthApi', { headerName: HEADER, secret: '' });
	creds.emptyBasic = store.add('whilterCallbackBasicAuthApi', { user: '', password: '' });
	// Whilter's own POSTs (the contract server's callback payloads) reach the trigger through this.
	relay = await startWebhookRelay(() => ({ node: { type: 'whilterTrigger', ...relayed }, credentials: store }));
});

afterAll(async () => {
	await relay?.close();
	await servers?.close();
	await shutdownN8nCore();
});

afterEach(() => {
	whilter.faults.clear();
	relay.calls.splice(0);
	jest.mocked(sleep).mockReset();
	jest.mocked(sleep).mockImplementation(jest.requireActual<typeof import('n8n-workflow')>('n8n-workflow').sleep);
});

type Auth = 'none' | 'headerAuth' | 'basicAuth';

/** The credentials a trigger with this authentication is given (override to test the wrong ones). */
function credentialsFor(authentication: Auth, override: INodeCredentials = {}): INodeCredentials {
	return {
		whilterApi: creds.api,
		...(authentication === 'headerAuth' ? { whilterCallbackHeaderAuthApi: creds.header } : {}),
		...(authentication === 'basicAuth' ? { whilterCallbackBasicAuthApi: creds.basic } : {}),
		...override,
	};
}

async function post(parameters: INodeParameters, request: WebhookRequestInit, credentials?: INodeCredentials): Promise<WebhookResult> {
	const authentication = (parameters.authentication as Auth | undefined) ?? 'none';
	return await callWebhook({
		node: { type: 'whilterTrigger', parameters, credentials: credentials ?? credentialsFor(authentication) },
		credentials: store,
		request,
	});
}

/** Answered 200 "ignored": nothing started. */
function expectIgnored(result: WebhookResult): IDataObject {
	expect(result.status).toBe(200);
	expect(result.workflowData).toBeUndefined();
	expect(result.error).toBeUndefined();
	expect(result.json).toMatchObject({ ignored: true });
	return result.json as IDataObject;
}

/** Started: the items the workflow starts with. */
function expectStarted(result: WebhookResult): IDataObject[] {
	expect(result.error).toBeUndefined();
	expect({ status: result.status, answeredByNode: result.answeredByNode }).toEqual({ status: 200, answeredByNode: false });
	expect(result.workflowData).toBeDefined();
	return result.items;
}

/** A task the server has moved `steps` on (1: in-progress, 2: completed, output CSV written). */
async function taskAt(steps: 0 | 1 | 2, rows = 3): Promise<string> {
	return await seedTaskAt(whilter, steps, { rows, campaign: `trigger-${steps}` });
}

function lookupsSince(mark: number, pathStart?: string): string[] {
	return statusLookupsSince(whilter, mark, pathStart);
}

const json = (body: unknown, headers: Record<string, string> = {}): WebhookRequestInit => ({ json: body, headers });
const basicAuth = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

describe('Whilter Trigger webhook: authentication', () => {
	const headerTrigger: INodeParameters = { event: 'batchTask', authentication: 'headerAuth' };
	const basicTrigger: INodeParameters = { event: 'batchTask', authentication: 'basicAuth' };

	it('none: a callback without any secret goes on to the checks after it (and here starts)', async () => {
		const taskId = await taskAt(2);
		const [item] = expectStarted(await post({ event: 'batchTask', authentication: 'none' }, json({ 'task-id': taskId, status: 'completed' })));
		expect(item).toMatchObject({ 'task-id': taskId, status: 'completed', confirmed: true });
	});

	it('header auth: missing → 401, wrong, empty or sent twice → 403, without the status API being asked; right → starts', async () => {
		const taskId = await taskAt(2);
		const body = { 'task-id': taskId, status: 'completed' };
		const mark = whilter.requests.length;

		expectRefused(await post(headerTrigger, json(body)), 401, 'Authorization required: the x-whilter-secret header is missing');
		const wrong = await post(headerTrigger, json(body, { [HEADER]: `${SECRET}-not` }));
		expectRefused(wrong, 403, 'The x-whilter-secret header is wrong');
		expect(JSON.stringify(wrong.json)).not.toContain(SECRET);
		// Logged for the workflow's owner, without what was sent.
		expect(wrong.logs.map((l) => l.message)).toEqual([expect.stringContaining('HTTP 403')]);
		expect(JSON.stringify(wrong.logs)).not.toContain(SECRET);
		expectRefused(await post(headerTrigger, json(body, { [HEADER]: '' })), 403);
		expectRefused(await post(headerTrigger, { json: body, headers: { [HEADER.toLowerCase()]: [SECRET, SECRET] } }), 403);
		// Not a basic-auth header either.
		expectRefused(await post(headerTrigger, json(body, basicAuth('whilter', SECRET))), 401);
		expect(lookupsSince(mark)).toEqual([]);

		// The header name is matched whatever its case.
		const [item] = expectStarted(await post(headerTrigger, json(body, { 'x-whilter-SECRET': SECRET })));
		expect(item).toMatchObject({ 'task-id': taskId, status: 'completed', confirmed: true });
		expect(lookupsSince(mark)).toEqual([`/acme/task/status/${taskId}`]);
	});

	it('basic auth: missing or not basic → 401 with a challenge, wrong → 403; right → starts', async () => {
		const taskId = await taskAt(2);
		const body = { 'task-id': taskId, status: 'completed' };
		const mark = whilter.requests.length;

		const missing = await post(basicTrigger, json(body));
		expectRefused(missing, 401, 'Authorization required (HTTP basic auth)');
		expect(missing.headers['www-authenticate']).toMatch(/^Basic realm="Whilter Trigger"/);
		const bearer = await post(basicTrigger, json(body, { authorization: 'Bearer abc' }));
		expectRefused(bearer, 401);
		expect(bearer.headers['www-authenticate']).toMatch(/^Basic realm="Whilter Trigger"/);
		const wrong = await post(basicTrigger, json(body, basicAuth(BASIC.user, 'guess')));
		expectRefused(wrong, 403, 'The basic auth user or password is wrong');
		expect(wrong.headers['www-authenticate']).toBeUndefined();
		expectRefused(await post(basicTrigger, json(body, basicAuth('someone', BASIC.password))), 403);
		expect(lookupsSince(mark)).toEqual([]);

		const [item] = expectStarted(await post(basicTrigger, json(body, basicAuth(BASIC.user, BASIC.password))));
		expect(item).toMatchObject({ 'task-id': taskId, status: 'completed', confirmed: true });
		expect(JSON.stringify(item)).not.toContain(BASIC.password);
	});

	it('a credential without its values → 500, whatever the caller sends; no credential at all → 500', async () => {
		const body = { 'task-id': 'task-any', status: 'completed' };
		const mark = whilter.requests.length;
		const noSecret = await post(headerTrigger, json(body, { [HEADER]: '' }), credentialsFor('headerAuth', { whilterCallbackHeaderAuthApi: creds.emptyHeader }));
		expectRefused(noSecret, 500, /Header Auth credential has no header name or value/);
		const noUser = await post(basicTrigger, json(body, basicAuth('', '')), credentialsFor('basicAuth', { whilterCallbackBasicAuthApi: creds.emptyBasic }));
		expectRefused(noUser, 500, /Basic Auth credential has no user or password/);
		expectRefused(await post(headerTrigger, json(body, { [HEADER]: SECRET }), { whilterApi: creds.api }), 500, 'The Whilter Trigger has no credential for its authentication set');
		expect(lookupsSince(mark)).toEqual([]);
	});
});

describe('Whilter Trigger webhook: body size', () => {
	it('above Max Body Size → 413, checked after the secret and before anything else', async () => {
		const small: INodeParameters = { event: 'batchTask', authentication: 'headerAuth', options: { maxBodySize: 1 } };
		const auth = { [HEADER]: SECRET };
		const mark = whilter.requests.length;
		const exactly = (bytes: number) => {
			const base = JSON.stringify({ 'task-id': 'task-size', status: 'in-progress', padding: '' });
			return { 'task-id': 'task-size', status: 'in-progress', padding: 'x'.repeat(bytes - base.length) };
		};

		expectRefused(await post(small, json(exactly(1025), auth)), 413, 'The callback body is 1025 bytes; this trigger accepts at most 1024');
		// The secret comes first: a wrong one is 403 whatever the size.
		expectRefused(await post(small, json(exactly(5000), { [HEADER]: 'nope' })), 403);
		// 1024 bytes pass on to the next checks (here: ignored, a status the trigger does not start on).
		expectIgnored(await post(small, json(exactly(1024), auth)));
		// The default is 1 MB.
		const big = await post({ event: 'batchTask' }, json({ 'task-id': 'task-size', status: 'completed', padding: 'x'.repeat(1_100_000) }));
		expectRefused(big, 413, /this trigger accepts at most 1048576$/);
		// The size of a body that is not JSON counts too (before its shape is looked at).
		expectRefused(await post(small, { raw: 'y'.repeat(2000), contentType: 'text/plain', headers: auth }), 413);
		expect(lookupsSince(mark)).toEqual([]);
	});
});

describe('Whilter Trigger webhook: shape', () => {
	const trigger: INodeParameters = { event: 'batchTask' };

	it.each<[string, WebhookRequestInit, string | RegExp]>([
		['a list', { json: [{ 'task-id': 'task-1', status: 'completed' }] }, /must be a JSON object \(Content-Type: application\/json\); got a list$/],
		['a JSON string', { json: 'task-1' }, /got a string$/],
		['a JSON number', { json: 42 }, /got a number$/],
		['text/plain', { raw: 'task-id=task-1', contentType: 'text/plain' }, /must be a JSON object/],
		['an empty body', {}, /got an empty body$/],
		['an empty object', { json: {} }, /got an empty body$/],
		['no task-id', { json: { status: 'completed', 'file-path': 'x.csv' } }, 'The callback names no task-id'],
		['a task-id with a space', { json: { 'task-id': 'task 1', status: 'completed' } }, /"task-id" must be a task ID/],
		['a task-id of 257 characters', { json: { 'task-id': 'a'.repeat(257), status: 'completed' } }, /"task-id" must be a task ID/],
		['a task-id that is an object', { json: { 'task-id': { id: 1 }, status: 'completed' } }, /"task-id" must be a task ID/],
		['an empty taskId', { json: { taskId: '  ', status: 'completed' } }, /"taskId" must be a task ID/],
		['a status that is not text', { json: { 'task-id': 'task-1', status: 5 } }, 'The callback\'s "status" must be a non-empty text'],
	])('%s → 400, without the status API being asked', async (_name, request, message) => {
		const mark = whilter.requests.length;
		expectRefused(await post(trigger, request), 400, message);
		expect(lookupsSince(mark)).toEqual([]);
	});

	it('takes the task ID as task-id, taskId or task_id, and as a number', async () => {
		const taskId = await taskAt(2);
		for (const key of ['taskId', 'task_id']) {
			const [item] = expectStarted(await post(trigger, json({ [key]: taskId, status: 'completed' })));
			expect(item).toMatchObject({ 'task-id': taskId, confirmed: true });
		}
		// A numeric id is looked up as text (the server knows no such task: 403).
		const mark = whilter.requests.length;
		expectRefused(await post(trigger, json({ 'task-id': 12345, status: 'completed' })), 403, 'Whilter knows no task 12345');
		expect(lookupsSince(mark)).toEqual(['/acme/task/status/12345']);
	});
});

describe('Whilter Trigger webhook: status filter', () => {
	it('a claimed status the trigger does not start on → 200 ignored, nothing started, no API call (even for an unknown task)', async () => {
		const running = await taskAt(1);
		const mark = whilter.requests.length;
		const ignored = expectIgnored(await post({ event: 'batchTask' }, json({ 'task-id': running, status: 'in-progress' })));
		expect(ignored).toEqual({ message: `Ignored: task ${running} is "in-progress"; this trigger starts on completed`, ignored: true, 'task-id': running, status: 'in-progress' });
		expectIgnored(await post({ event: 'batchTask' }, json({ 'task-id': 'task-forged-0002', status: 'failed' })));
		const none = expectIgnored(await post({ event: 'batchTask', statuses: [] }, json({ 'task-id': running, status: 'completed' })));
		expect(none.message).toBe(`Ignored: task ${running} is "completed"; this trigger starts on nothing (no status selected)`);
		expect(lookupsSince(mark)).toEqual([]);
	});

	it('no claimed status: the status the API gives is filtered (one lookup)', async () => {
		const running = await taskAt(1);
		const mark = whilter.requests.length;
		const ignored = expectIgnored(await post({ event: 'batchTask' }, json({ 'task-id': running })));
		expect(ignored).toMatchObject({ 'task-id': running, status: 'in-progress' });
		expect(lookupsSince(mark)).toEqual([`/acme/task/status/${running}`]);
	});

	it('starts on another status when it is selected, with the callback item', async () => {
		const running = await taskAt(1, 5);
		const [item] = expectStarted(await post({ event: 'batchTask', statuses: ['in-progress', 'completed'], output: 'rows' }, json({ 'task-id': running, status: 'in-progress' })));
		// Rows are read only for a completed task: the callback item instead.
		expect(item).toMatchObject({ 'task-id': running, status: 'in-progress', confirmed: true, count: 5 });
	});
});

describe('Whilter Trigger webhook: confirmation with the Whilter API', () => {
	const trigger: INodeParameters = { event: 'batchTask', authentication: 'headerAuth' };
	const auth = { [HEADER]: SECRET };

	it('an unknown task → 403; a status the API contradicts → 409', async () => {
		const running = await taskAt(1);
		expectRefused(await post(trigger, json({ 'task-id': 'task-forged-0001', status: 'completed' }, auth)), 403, 'Whilter knows no task task-forged-0001');
		expectRefused(
			await post(trigger, json({ 'task-id': running, status: 'completed' }, auth)),
			409,
			`The callback says task ${running} is "completed", but the Whilter status API says "in-progress"`,
		);
		const pending = await taskAt(0);
		expectRefused(await post(trigger, json({ 'task-id': pending, status: 'completed' }, auth)), 409, /the Whilter status API says "pending"$/);
	});

	it('a 5xx that is not retried → 503 after one lookup', async () => {
		const taskId = await taskAt(2);
		whilter.faults.add({ method: 'GET', path: `/acme/task/status/${taskId}`, kind: 'status', status: 500 });
		const mark = whilter.requests.length;
		const result = await post(trigger, json({ 'task-id': taskId, status: 'completed' }, auth));
		expectRefused(result, 503, `The callback for task ${taskId} could not be confirmed against the Whilter API; try again later`);
		expect(lookupsSince(mark)).toHaveLength(1);
		// The reason goes to n8n's log for the workflow's owner, not to the caller.
		expect(result.logs.some((l) => l.level === 'warn' && l.message.includes('HTTP 500'))).toBe(true);
		expect(messageOf(result)).not.toContain('500');
	});

	it.each([
		['503 on every attempt', { kind: 'status' as const, status: 503 as const }],
		['the connection dropped on every attempt (API unreachable)', { kind: 'reset' as const }],
	])('%s → 503 once the retries are used up', async (_name, fault) => {
		jest.mocked(sleep).mockImplementation(async () => undefined);
		const taskId = await taskAt(2);
		whilter.faults.add({ method: 'GET', path: `/acme/task/status/${taskId}`, times: 5, ...fault });
		const mark = whilter.requests.length;
		expectRefused(await post(trigger, json({ 'task-id': taskId, status: 'completed' }, auth)), 503, /could not be confirmed against the Whilter API; try again later$/);
		expect(lookupsSince(mark)).toHaveLength(5);
		expect(whilter.faults.pending()).toBe(0);
		// The next callback is confirmed again.
		expectStarted(await post(trigger, json({ 'task-id': taskId, status: 'completed' }, auth)));
	});

	it('the status API unreachable (nothing listening) → 503', async () => {
		jest.mocked(sleep).mockImplementation(async () => undefined);
		const dead = store.add('whilterApi', { ...store.data(creds.api.id), baseUrl: await closedPortUrl() });
		const result = await post(trigger, json({ 'task-id': 'task-any', status: 'completed' }, auth), credentialsFor('headerAuth', { whilterApi: dead }));
		expectRefused(result, 503, /could not be confirmed against the Whilter API; try again later$/);
	});

	it('a genuine callback (the server\'s own POST, with the secret) starts with the status the API confirmed', async () => {
		relayed = { parameters: trigger, credentials: credentialsFor('headerAuth') };
		const taskId = await taskAt(2, 4);
		const record = await whilter.sendCallback({ taskId, url: `${relay.url}/webhook/x/whilter`, headers: auth });
		expect(record.status).toBe(200);
		expect(record.body).toEqual({ 'task-id': taskId, status: 'completed', 'file-path': whilter.outputKeyOf(taskId), count: 4, message: 'Task completed' });
		expect(relay.calls).toHaveLength(1);
		const [item] = expectStarted(relay.calls[0].result);
		expect(relay.calls[0].result.json).toEqual({ message: 'Workflow started', 'task-id': taskId, status: 'completed' });
		expect(relay.calls[0].result.items).toHaveLength(1);
		expect(item).toMatchObject({
			'task-id': taskId,
			status: 'completed',
			confirmed: true,
			'file-path': whilter.outputKeyOf(taskId),
			count: 4,
			message: 'Task completed',
			callback: record.body,
		});
		expect(JSON.stringify(relay.calls[0].result.workflowData)).not.toContain(SECRET);
	});

	it('the confirmed item carries the API\'s file path and count, not the callback\'s; status words are normalised', async () => {
		const taskId = await taskAt(2, 4);
		const [item] = expectStarted(await post(trigger, json({ 'task-id': taskId, status: 'COMPLETED', 'file-path': 'elsewhere/evil.csv', count: 999 }, auth)));
		expect(item).toMatchObject({ 'task-id': taskId, status: 'completed', confirmed: true, 'file-path': whilter.outputKeyOf(taskId), count: 4 });
	});

	it('Confirm With Whilter API off: no lookup, the claimed status (confirmed: false); no status → 400', async () => {
		const off: INodeParameters = { ...trigger, confirmWithApi: false };
		const mark = whilter.requests.length;
		const [item] = expectStarted(await post(off, json({ 'task-id': 'task-unchecked', status: 'completed', 'file-path': 'out/x.csv', count: 2 }, auth)));
		expect(item).toMatchObject({ 'task-id': 'task-unchecked', status: 'completed', confirmed: false, 'file-path': 'out/x.csv', count: 2 });
		expectRefused(await post(off, json({ 'task-id': 'task-unchecked' }, auth)), 400, /names no status/);
		expect(lookupsSince(mark)).toEqual([]);
	});
});

describe('Whilter Trigger webhook: Output Result Rows', () => {
	const rowsTrigger = (rowFilter: string): INodeParameters => ({ event: 'batchTask', output: 'rows', rowFilter });

	it('one item per row of the output CSV the server wrote to S3 (media URL and error columns)', async () => {
		const taskId = await taskAt(2, 6);
		const mark = whilter.requests.length;
		const rows = expectStarted(await post(rowsTrigger('all'), json({ 'task-id': taskId, status: 'completed' })));
		expect(rows).toHaveLength(6);
		expect(rows[0]).toEqual({ phone: '+919000000000', name: 'Seed 0', 'media-url': `${MEDIA}/${taskId}/0.mp4`, error: '' });
		expect(rows[4]).toEqual({ phone: '+919000000004', name: 'Seed 4', 'media-url': '', error: ROW_ERROR });
		expect(rows.map((r) => r.phone)).toEqual(Array.from({ length: 6 }, (_, i) => `+9190000${String(i).padStart(5, '0')}`));
		// Confirmed first, then read from the path the API gave.
		expect(lookupsSince(mark)).toEqual([`/acme/task/status/${taskId}`]);
		expect(s3.requests.some((r) => r.method === 'GET' && r.path.endsWith(whilter.outputKeyOf(taskId)))).toBe(true);
	});

	it('Rows: failed only, succeeded only; no row left → 200 ignored, nothing started', async () => {
		const taskId = await taskAt(2, 6);
		const failed = expectStarted(await post(rowsTrigger('failed'), json({ 'task-id': taskId, status: 'completed' })));
		expect(failed.map((r) => [r.phone, r.error])).toEqual([['+919000000004', ROW_ERROR]]);
		const succeeded = expectStarted(await post(rowsTrigger('succeeded'), json({ 'task-id': taskId, status: 'completed' })));
		expect(succeeded.map((r) => r.phone)).toEqual(['+919000000000', '+919000000001', '+919000000002', '+919000000003', '+919000000005']);
		expect(succeeded.every((r) => r.error === '' && String(r['media-url']).startsWith(`${MEDIA}/${taskId}/`))).toBe(true);

		const clean = await taskAt(2, 3);
		const none = expectIgnored(await post(rowsTrigger('failed'), json({ 'task-id': clean, status: 'completed' })));
		expect(none).toEqual({ message: `Task ${clean} has no failed result rows; nothing started`, ignored: true, 'task-id': clean, status: 'completed', rows: 0 });
	});
});

describe('Whilter Trigger webhook: real-time media', () => {
	const realtime = (parameters: INodeParameters = {}): INodeParameters => ({ event: 'realtimeMedia', authentication: 'headerAuth', ...parameters });
	const auth = { [HEADER]: SECRET };

	/** A real-time request made through the API; `ready` moves it to SUCCESS. */
	async function realtimeRequest(clientRequestId: string, options: { ready?: boolean; useCase?: string } = {}): Promise<string> {
		const response = await fetch(`${whilter.url}/video/request`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', authorization: `Bearer ${whilter.issueToken()}`, 'x-api-key': API_KEY },
			body: JSON.stringify({ 'client-request-id': clientRequestId, 'customer-id': 'cust-1', 'use-case-id': options.useCase ?? 'uc-1', 'user-id': `user-${clientRequestId}` }),
		});
		expect(response.status).toBe(200);
		const id = String(((await response.json()) as IDataObject)['whilter-request-id']);
		if (options.ready !== false) whilter.realtime.get(id)!.status = 'SUCCESS';
		return id;
	}

	it('with the Whilter request ID (the server\'s own POST): confirmed through GET /status/<id>, the API\'s media URLs', async () => {
		relayed = { parameters: realtime(), credentials: credentialsFor('headerAuth') };
		const id = await realtimeRequest('order-77');
		const mark = whilter.requests.length;
		const record = await whilter.sendRealtimeCallback({ whilterRequestId: id, url: `${relay.url}/webhook/x/whilter`, headers: auth, includeWhilterRequestId: true });
		expect(record.status).toBe(200);
		const [item] = expectStarted(relay.calls[0].result);
		expect(item).toMatchObject({
			'client-request-id': 'order-77',
			'user-id': 'user-order-77',
			'whilter-request-id': id,
			status: 'SUCCESS',
			'video-url': `${MEDIA}/rt/${id}.mp4`,
			'image-url': `${MEDIA}/rt/${id}.png`,
			confirmed: true,
			callback: record.body,
		});
		expect(lookupsSince(mark, '/status/')).toEqual([`/status/${id}`]);
		expect(whilter.requests.slice(mark).find((r) => r.path === `/status/${id}`)?.headers['x-api-key']).toBe(API_KEY);
	});

	it('the documented payload (no Whilter request ID): starts unconfirmed, no lookup; Always → 400', async () => {
		const id = await realtimeRequest('order-78');
		const videoUrl = `${MEDIA}/rt/${id}.mp4`;
		const body = { 'client-request-id': 'order-78', 'user-id': 'user-78', 'video-url': videoUrl };
		const mark = whilter.requests.length;
		const [item] = expectStarted(await post(realtime(), json(body, auth)));
		expect(item).toEqual({ 'client-request-id': 'order-78', 'user-id': 'user-78', status: 'SUCCESS', 'video-url': videoUrl, confirmed: false, callback: body });
		expectRefused(
			await post(realtime({ realtimeConfirmation: 'requireId' }), json(body, auth)),
			400,
			'The callback names no whilter-request-id, which this trigger needs to confirm it against the Whilter API',
		);
		expect(lookupsSince(mark, '/status/')).toEqual([]);
	});

	it('Always with the ID confirms; Never trusts the callback (no lookup, even with an ID)', async () => {
		const id = await realtimeRequest('order-79');
		const body = { 'client-request-id': 'order-79', 'whilter-request-id': id, 'video-url': `${MEDIA}/rt/${id}.mp4` };
		const mark = whilter.requests.length;
		const [confirmed] = expectStarted(await post(realtime({ realtimeConfirmation: 'requireId' }), json(body, auth)));
		expect(confirmed).toMatchObject({ 'whilter-request-id': id, confirmed: true, status: 'SUCCESS' });
		expect(lookupsSince(mark, '/status/')).toHaveLength(1);
		const [trusted] = expectStarted(await post(realtime({ realtimeConfirmation: 'off' }), json({ ...body, 'video-url': 'https://elsewhere.example/v.mp4' }, auth)));
		expect(trusted).toMatchObject({ 'whilter-request-id': id, confirmed: false, status: 'SUCCESS', 'video-url': 'https://elsewhere.example/v.mp4' });
		expect(lookupsSince(mark, '/status/')).toHaveLength(1);
	});

	it('refused by the real-time status API: unknown request → 403, another video URL or a request not ready → 409, API failing → 503', async () => {
		const id = await realtimeRequest('order-80');
		const videoUrl = `${MEDIA}/rt/${id}.mp4`;
		expectRefused(
			await post(realtime(), json({ 'client-request-id': 'order-80', 'video-url': 'https://evil.example/v.mp4', 'whilter-request-id': id }, auth)),
			409,
			`The callback's video-url for request ${id} is not the one the Whilter status API gives`,
		);
		expectRefused(await post(realtime(), json({ 'client-request-id': 'order-80', 'image-url': 'https://evil.example/i.png', 'whilter-request-id': id }, auth)), 409, /image-url/);
		expectRefused(await post(realtime(), json({ 'client-request-id': 'order-80', 'video-url': videoUrl, 'whilter-request-id': 'wr-forged' }, auth)), 403, 'Whilter knows no real-time request wr-forged');

		const processing = await realtimeRequest('order-81', { ready: false, useCase: 'never' });
		expectRefused(
			await post(realtime(), json({ 'client-request-id': 'order-81', 'video-url': `${MEDIA}/rt/${processing}.mp4`, 'whilter-request-id': processing }, auth)),
			409,
			`The callback says request ${processing} is SUCCESS, but the Whilter status API says PROCESSING`,
		);

		whilter.faults.add({ method: 'GET', path: `/status/${id}`, kind: 'status', status: 500 });
		expectRefused(await post(realtime(), json({ 'client-request-id': 'order-80', 'video-url': videoUrl, 'whilter-request-id': id }, auth)), 503, /could not be confirmed/);
	});

	it('shape and status filter: no client-request-id or a bad URL → 400; a status not started on → 200 ignored', async () => {
		const mark = whilter.requests.length;
		expectRefused(await post(realtime(), json({ 'user-id': 'user-77', 'video-url': `${MEDIA}/v.mp4` }, auth)), 400, 'The callback names no client-request-id');
		expectRefused(await post(realtime(), json({ 'client-request-id': 'o-1', 'video-url': 'ftp://media/v.mp4' }, auth)), 400, 'The callback\'s "video-url" must be an http(s) URL');
		expectRefused(await post(realtime(), json({ 'client-request-id': 'o-1', status: 'DONE' }, auth)), 400, /"status" must be SUCCESS, FAILURE or PROCESSING/);
		expectRefused(await post(realtime(), json({ 'client-request-id': 'o-1', 'whilter-request-id': 'has space' }, auth)), 400, /must be a request ID/);
		const ignored = expectIgnored(await post(realtime(), json({ 'client-request-id': 'o-1', status: 'FAILURE', 'whilter-request-id': 'wr-x' }, auth)));
		expect(ignored).toMatchObject({ 'client-request-id': 'o-1', status: 'FAILURE' });
		expect(lookupsSince(mark, '/status/')).toEqual([]);
		// And the secret is still checked first.
		expectRefused(await post(realtime(), json({ 'client-request-id': 'o-1' })), 401);
	});
});

describe('Whilter Trigger webhook: secrets', () => {
	it('no shared secret or password reached n8n\'s log in any of the calls above', () => {
		expect(n8nLogs.length).toBeGreaterThan(0);
		const logged = JSON.stringify(n8nLogs);
		for (const secret of [SECRET, BASIC.password, 'acme-secret-value']) expect(logged).not.toContain(secret);
	});
});
