/**
 * Whilter Trigger in a real n8n (2.41.1, the package loaded from dist/ with N8N_CUSTOM_EXTENSIONS),
 * its production webhook called over HTTP, against the sandbox's Whilter contract server.
 *
 * - A genuine callback (the contract server's own payload, with the shared secret) starts the
 *   workflow with the status the status API confirmed; the secret is nowhere in the execution.
 * - Forged and malformed calls get their 4xx and start nothing: wrong and missing secret, unknown
 *   task, a status the API contradicts, malformed JSON, no task id, a body above the limit, the wrong
 *   method, a body that is not JSON; a real status the trigger does not start on is answered 200
 *   "ignored", also starting nothing.
 * - End to end: Whilter Batch (same n8n) creates a task with examples/callback-flow.json's
 *   production URL as its callback URL; when the task completes, the contract server POSTs its
 *   callback there and the active example workflow starts with the task's result rows.
 * - Basic auth, and real-time callbacks: confirmed through GET /status/<id> when they carry the ID,
 *   refused when its media URL is not Whilter's.
 * - Exactly once: the same genuine callback sent 5 times, one after the other and 5 at once, starts
 *   one execution; the repeats are answered 200 "already handled", and what the trigger remembers is
 *   in the workflow's static data in n8n's database. Whilter Batch's resume URL called again after
 *   the execution resumed (again, and 5 at once) resumes it once: n8n itself answers the others.
 */
import type { IDataObject, INodeParameters } from 'n8n-workflow';

import { CUSTOM_PREFIX, finishedExecutions, nodeOutput, readExample } from '../../e2e/examples';
import { httpCall, startN8n } from '../../e2e/n8n';
import type { Execution, N8nHandle, WorkflowJson } from '../../e2e/n8n';
import { DIST_DIR, ensurePackageBuilt } from '../../e2e/package';
import { activateTrigger, messageOf, postJson, seededTaskAt, triggerWorkflow as sharedTriggerWorkflow } from '../../e2e/whilterFlows';
import type { ActiveTrigger } from '../../e2e/whilterFlows';
import { startSandbox } from '../servers/sandbox';
import type { Sandbox } from '../servers/sandbox';
import { ROW_ERROR } from '../servers/whilter';

jest.setTimeout(240_000);

const SECRET = 'e2e-callback-secret-7d9f2c41b8a6';
const HEADER = 'X-Whilter-Secret';
const BASIC = { user: 'whilter', password: 'e2e-basic-password-5c1e9a' };
const CUSTOMERS = 6;

let sandbox: Sandbox;
let n8n: N8nHandle;
const credentialIds: Record<string, string> = {};

const sleep = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
	await ensurePackageBuilt();
	sandbox = await startSandbox();
	n8n = await startN8n({ extensionsDir: DIST_DIR });
	credentialIds.whilterApi = (await n8n.createCredential('Whilter (sandbox)', 'whilterApi', sandbox.credentials.whilterApi as unknown as IDataObject)).id;
	credentialIds.header = (await n8n.createCredential('Whilter callback secret', 'whilterCallbackHeaderAuthApi', { headerName: HEADER, secret: SECRET })).id;
	credentialIds.basic = (await n8n.createCredential('Whilter callback basic', 'whilterCallbackBasicAuthApi', BASIC)).id;
}, 900_000);

afterAll(async () => {
	await n8n?.stop();
	await sandbox?.close();
});

function triggerWorkflow(name: string, webhookId: string, parameters: INodeParameters): WorkflowJson {
	return sharedTriggerWorkflow({
		name,
		webhookId,
		prefix: CUSTOM_PREFIX,
		parameters,
		whilterApi: { id: credentialIds.whilterApi, name: 'Whilter (sandbox)' },
		header: { id: credentialIds.header, name: 'Whilter callback secret' },
		basic: { id: credentialIds.basic, name: 'Whilter callback basic' },
	});
}

const activate = (workflow: WorkflowJson): Promise<ActiveTrigger> => activateTrigger(n8n, workflow);
const post = postJson;
const taskAt = (steps: number, rows = 3): Promise<string> => seededTaskAt(sandbox, steps, rows);

describe('Whilter Trigger (real n8n, production webhook)', () => {
	let secured: ActiveTrigger;

	beforeAll(async () => {
		secured = await activate(
			triggerWorkflow('trigger-header-secret', '1f0e9d8c-7b6a-4a5b-8c7d-000000000001', {
				event: 'batchTask',
				authentication: 'headerAuth',
				confirmWithApi: true,
				statuses: ['completed'],
				output: 'callback',
				options: {},
			}),
		);
	});

	it('refuses forged and malformed callbacks with the right 4xx and starts nothing', async () => {
		const completed = await taskAt(2);
		const running = await taskAt(1);
		const auth = { [HEADER]: SECRET };
		const genuineBody = { 'task-id': completed, status: 'completed' };

		const wrongSecret = await post(secured.url, genuineBody, { [HEADER]: `${SECRET}-not` });
		expect([wrongSecret.status, messageOf(wrongSecret)]).toEqual([403, 'The x-whilter-secret header is wrong']);
		expect(wrongSecret.text).not.toContain(SECRET);

		const missingSecret = await post(secured.url, genuineBody);
		expect([missingSecret.status, messageOf(missingSecret)]).toEqual([401, 'Authorization required: the x-whilter-secret header is missing']);

		const unknownTask = await post(secured.url, { 'task-id': 'task-forged-0001', status: 'completed' }, auth);
		expect([unknownTask.status, messageOf(unknownTask)]).toEqual([403, 'Whilter knows no task task-forged-0001']);

		const mismatch = await post(secured.url, { 'task-id': running, status: 'completed' }, auth);
		expect(mismatch.status).toBe(409);
		expect(messageOf(mismatch)).toBe(`The callback says task ${running} is "completed", but the Whilter status API says "in-progress"`);

		// n8n parses JSON before any node sees it, and answers a body it cannot parse itself.
		const malformed = await httpCall('POST', secured.url, { headers: { 'content-type': 'application/json', ...auth }, body: `{"task-id": "${completed}", ` });
		expect(malformed.status).toBe(422);
		expect(malformed.text).toContain('Failed to parse request body');

		const noTaskId = await post(secured.url, { status: 'completed', 'file-path': 'x.csv' }, auth);
		expect([noTaskId.status, messageOf(noTaskId)]).toEqual([400, 'The callback names no task-id']);

		const notJson = await httpCall('POST', secured.url, { headers: { 'content-type': 'text/plain', ...auth }, body: `task-id=${completed}` });
		expect(notJson.status).toBe(400);
		expect(messageOf(notJson)).toMatch(/must be a JSON object/);

		// Above the trigger's 1 MB default, below n8n's own 16 MB limit: the trigger answers.
		const oversized = await post(secured.url, { ...genuineBody, padding: 'x'.repeat(1_100_000) }, auth);
		expect(oversized.status).toBe(413);
		expect(messageOf(oversized)).toMatch(/this trigger accepts at most 1048576$/);

		// The webhook is registered for POST only: n8n itself answers other methods.
		const wrongMethod = await httpCall('GET', secured.url, { headers: auth });
		expect(wrongMethod.status).toBe(404);
		expect(messageOf(wrongMethod)).toMatch(/not registered for GET requests/);
		const put = await httpCall('PUT', secured.url, { headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify(genuineBody) });
		expect(put.status).toBe(404);

		// A real, confirmed status the trigger is not set to start on: 200 so Whilter does not retry, nothing starts.
		const ignored = await post(secured.url, { 'task-id': running, status: 'in-progress' }, auth);
		expect(ignored.status).toBe(200);
		expect(JSON.parse(ignored.text)).toEqual({ message: `Ignored: task ${running} is "in-progress"; this trigger starts on completed`, ignored: true, 'task-id': running, status: 'in-progress' });

		await sleep(1500);
		expect(await n8n.executions(secured.workflowId)).toEqual([]);
		// Only the unknown task and the mismatch reached the status API (the rest stopped earlier).
		const lookups = sandbox.whilter.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/demo/task/status/'));
		expect(lookups.map((r) => r.path).sort()).toEqual(['/demo/task/status/task-forged-0001', `/demo/task/status/${running}`].sort());
	});

	it('starts on a genuine callback with the status the API confirmed, and keeps the secret out of the execution', async () => {
		const taskId = await taskAt(2, 4);
		const record = await sandbox.whilter.sendCallback({ taskId, url: secured.url, headers: { [HEADER]: SECRET } });
		expect(record.status).toBe(200);
		expect(record.body).toEqual({ 'task-id': taskId, status: 'completed', 'file-path': sandbox.whilter.outputKeyOf(taskId), count: 4, message: 'Task completed' });
		// What Whilter reads back: a small JSON answer, not n8n's literal "firstEntryJson" for onReceived webhooks.
		const answer = sandbox.whilter.callbacks.find((c) => c.taskId === taskId);
		expect(answer?.responseText === undefined ? undefined : JSON.parse(answer.responseText)).toEqual({ message: 'Workflow started', 'task-id': taskId, status: 'completed' });

		const [execution] = await finishedExecutions(n8n, secured.workflowId, 1);
		expect(execution.status).toBe('success');
		expect(execution.mode).toBe('webhook');
		const [item] = nodeOutput(execution, 'Whilter Trigger');
		expect(item).toEqual({
			'task-id': taskId,
			status: 'completed',
			confirmed: true,
			'file-path': sandbox.whilter.outputKeyOf(taskId),
			count: 4,
			message: 'Task completed',
			callback: record.body,
			response: { 'task-id': taskId, status: 'completed', count: 4, message: 'Task completed', 'file-path': sandbox.whilter.outputKeyOf(taskId) },
		});
		expect(nodeOutput(execution, 'Received')).toEqual([item]);
		expect(JSON.stringify(execution)).not.toContain(SECRET);
		expect(n8n.log()).not.toContain(SECRET);
	});

	it('end to end: Whilter Batch\'s task calls back the example workflow, which starts with the result rows', async () => {
		const receiver = await activate(readExample('callback-flow.json', { prefix: CUSTOM_PREFIX, credentialIds }));

		const customers = Array.from({ length: CUSTOMERS }, (_, i) => ({ phone: `+9197000000${String(i).padStart(2, '0')}`, name: `Customer ${i}` }));
		const batch = await n8n.importWorkflow({
			name: 'batch-with-callback',
			nodes: [
				{ id: 'e0000000-0000-4000-8000-000000000001', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
				{
					id: 'e0000000-0000-4000-8000-000000000002',
					name: 'Customers',
					type: 'n8n-nodes-base.code',
					typeVersion: 2,
					position: [220, 0],
					parameters: { jsCode: `return ${JSON.stringify(customers)}.map((json) => ({ json }));` },
				},
				{
					id: 'e0000000-0000-4000-8000-000000000003',
					name: 'Whilter Batch',
					type: 'CUSTOM.whilterBatch',
					typeVersion: 1,
					position: [440, 0],
					parameters: { inputSource: 'items', identifierColumn: 'phone', templateId: 'T-TRIG', campaignId: 'trigger-e2e', options: { callbackUrl: receiver.url } },
					credentials: { whilterApi: { id: credentialIds.whilterApi, name: 'Whilter (sandbox)' } },
				},
			],
			connections: {
				Start: { main: [[{ node: 'Customers', type: 'main', index: 0 }]] },
				Customers: { main: [[{ node: 'Whilter Batch', type: 'main', index: 0 }]] },
			},
			settings: {},
		});
		const submitted = await n8n.runManually(batch.id);
		expect(submitted.status).toBe('success');
		const taskId = String(nodeOutput(submitted, 'Whilter Batch')[0]['task-id']);
		expect(sandbox.whilter.tasks.get(taskId)?.body['callback-url']).toBe(receiver.url);
		expect(await n8n.executions(receiver.workflowId)).toEqual([]);

		await sandbox.whilter.advance(taskId); // in progress
		await sandbox.whilter.advance(taskId); // completed: output CSV written, callback POSTed
		const callbacks = sandbox.whilter.callbacks.filter((c) => c.taskId === taskId);
		expect(callbacks.map((c) => [c.url, c.status])).toEqual([[receiver.url, 200]]);

		const [execution] = await finishedExecutions(n8n, receiver.workflowId, 1);
		expect(execution.status).toBe('success');
		const rows = nodeOutput(execution, 'Whilter Trigger');
		expect(rows).toHaveLength(CUSTOMERS);
		expect(rows[0]).toEqual({ phone: customers[0].phone, name: 'Customer 0', 'media-url': `${sandbox.whilter.url}/media/${taskId}/0.mp4`, error: '' });
		expect(rows[4]).toEqual({ phone: customers[4].phone, name: 'Customer 4', 'media-url': '', error: ROW_ERROR });
		expect(nodeOutput(execution, 'Result rows').map((r) => r['media-ready'])).toEqual([true, true, true, true, false, true]);
		// Confirmed before the rows were read.
		expect(sandbox.whilter.requests.some((r) => r.method === 'GET' && r.path === `/demo/task/status/${taskId}` && r.time >= callbacks[0].time)).toBe(true);
	});

	it('basic auth: missing → 401 with a challenge, wrong → 403, right → starts', async () => {
		const trigger = await activate(
			triggerWorkflow('trigger-basic', '1f0e9d8c-7b6a-4a5b-8c7d-000000000003', { event: 'batchTask', authentication: 'basicAuth', options: {} }),
		);
		const taskId = await taskAt(2);
		const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
		const missing = await sandbox.whilter.sendCallback({ taskId, url: trigger.url });
		expect(missing.status).toBe(401);
		const challenge = await post(trigger.url, { 'task-id': taskId, status: 'completed' });
		expect(challenge.headers['www-authenticate']).toMatch(/^Basic realm="Whilter Trigger"/);
		const wrong = await sandbox.whilter.sendCallback({ taskId, url: trigger.url, headers: basic(BASIC.user, 'guess') });
		expect(wrong.status).toBe(403);
		await sleep(1000);
		expect(await n8n.executions(trigger.workflowId)).toEqual([]);

		const right = await sandbox.whilter.sendCallback({ taskId, url: trigger.url, headers: basic(BASIC.user, BASIC.password) });
		expect(right.status).toBe(200);
		const [execution] = await finishedExecutions(n8n, trigger.workflowId, 1);
		expect(nodeOutput(execution, 'Whilter Trigger')[0]).toMatchObject({ 'task-id': taskId, status: 'completed', confirmed: true });
		expect(JSON.stringify(execution)).not.toContain(BASIC.password);
	});

	it('real-time callbacks: confirmed through GET /status/<id> when they carry it, refused when the media URL is not Whilter\'s', async () => {
		const trigger = await activate(
			triggerWorkflow('trigger-realtime', '1f0e9d8c-7b6a-4a5b-8c7d-000000000004', { event: 'realtimeMedia', authentication: 'headerAuth', options: {} }),
		);
		const token = sandbox.whilter.issueToken();
		const created = await httpCall('POST', `${sandbox.whilter.url}/video/request`, {
			headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-api-key': sandbox.credentials.whilterApi.apiKey },
			body: JSON.stringify({ 'client-request-id': 'order-77', 'customer-id': 'cust-1', 'use-case-id': 'uc-1', 'user-id': 'user-77' }),
		});
		expect(created.status).toBe(200);
		const whilterRequestId = String((JSON.parse(created.text) as IDataObject)['whilter-request-id']);
		const entry = sandbox.whilter.realtime.get(whilterRequestId);
		if (!entry) throw new Error('real-time request not stored');
		entry.status = 'SUCCESS';
		const auth = { [HEADER]: SECRET };
		const videoUrl = `${sandbox.whilter.url}/media/rt/${whilterRequestId}.mp4`;

		const forgedUrl = await post(trigger.url, { 'client-request-id': 'order-77', 'user-id': 'user-77', 'video-url': 'https://evil.example/v.mp4', 'whilter-request-id': whilterRequestId }, auth);
		expect([forgedUrl.status, messageOf(forgedUrl)]).toEqual([409, `The callback's video-url for request ${whilterRequestId} is not the one the Whilter status API gives`]);
		const unknown = await post(trigger.url, { 'client-request-id': 'order-77', 'video-url': videoUrl, 'whilter-request-id': 'wr-forged' }, auth);
		expect(unknown.status).toBe(403);
		const noClientId = await post(trigger.url, { 'user-id': 'user-77', 'video-url': videoUrl }, auth);
		expect(noClientId.status).toBe(400);
		await sleep(1000);
		expect(await n8n.executions(trigger.workflowId)).toEqual([]);

		const confirmed = await sandbox.whilter.sendRealtimeCallback({ whilterRequestId, url: trigger.url, headers: auth, includeWhilterRequestId: true });
		expect(confirmed.status).toBe(200);
		// The documented payload (no whilter-request-id) cannot be looked up: it starts unconfirmed, on the shared secret alone.
		const documented = await sandbox.whilter.sendRealtimeCallback({ whilterRequestId, url: trigger.url, headers: auth });
		expect(documented.status).toBe(200);

		const executions = await finishedExecutions(n8n, trigger.workflowId, 2);
		const items = executions.map((e) => nodeOutput(e, 'Whilter Trigger')[0]);
		expect(items[0]).toMatchObject({
			'client-request-id': 'order-77',
			'user-id': 'user-77',
			'whilter-request-id': whilterRequestId,
			status: 'SUCCESS',
			'video-url': videoUrl,
			confirmed: true,
			response: { status: 'SUCCESS', 'video-url': videoUrl },
		});
		expect(items[1]).toEqual({
			'client-request-id': 'order-77',
			'user-id': 'user-77',
			status: 'SUCCESS',
			'video-url': videoUrl,
			confirmed: false,
			callback: { 'client-request-id': 'order-77', 'user-id': 'user-77', 'video-url': videoUrl },
		});
	});
});

describe('Exactly once (real n8n): a callback delivered again starts nothing again', () => {
	const auth = { [HEADER]: SECRET };
	let once: ActiveTrigger;

	beforeAll(async () => {
		once = await activate(
			triggerWorkflow('trigger-once', '1f0e9d8c-7b6a-4a5b-8c7d-000000000005', { event: 'batchTask', authentication: 'headerAuth', options: {} }),
		);
	});

	function lookupsOf(taskId: string): number {
		return sandbox.whilter.requests.filter((r) => r.method === 'GET' && r.path === `/demo/task/status/${taskId}`).length;
	}

	/** Waits until the workflow has `count` finished executions, then long enough for a late one to show. */
	async function executionsSettled(workflowId: string, count: number): Promise<Execution[]> {
		await finishedExecutions(n8n, workflowId, count);
		await sleep(1500);
		return await n8n.executions(workflowId);
	}

	function expectRepeat(answer: { status?: number; text?: string }, taskId: string): void {
		expect(answer.status).toBe(200);
		expect(JSON.parse(answer.text ?? '')).toMatchObject({ duplicate: true, 'task-id': taskId, status: 'completed', message: expect.stringMatching(/^Already handled: /) });
	}

	it('the same genuine callback 5 times in a row: one execution, 4 answers "already handled" without a status lookup', async () => {
		const taskId = await taskAt(2);
		const records = [];
		for (let i = 0; i < 5; i++) records.push(await sandbox.whilter.sendCallback({ taskId, url: once.url, headers: auth }));
		expect(JSON.parse(records[0].responseText ?? '')).toEqual({ message: 'Workflow started', 'task-id': taskId, status: 'completed' });
		for (const record of records.slice(1)) expectRepeat({ status: record.status, text: record.responseText }, taskId);
		expect(lookupsOf(taskId)).toBe(1);

		const executions = await executionsSettled(once.workflowId, 1);
		expect(executions.filter((e) => nodeOutput(e, 'Whilter Trigger')[0]?.['task-id'] === taskId)).toHaveLength(1);
		// Kept by n8n in its database with the workflow: what a restarted n8n would read.
		const stored = await n8n.api<{ staticData: IDataObject | null }>('GET', `/workflows/${once.workflowId}`);
		expect(JSON.stringify(stored.staticData)).toContain(taskId);
	});

	it('the same genuine callback 5 times at once: one execution', async () => {
		const taskId = await taskAt(2);
		const before = (await n8n.executions(once.workflowId)).length;
		const answers = await Promise.all(Array.from({ length: 5 }, async () => await post(once.url, { 'task-id': taskId, status: 'completed' }, auth)));
		expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
		const bodies = answers.map((a) => JSON.parse(a.text) as IDataObject);
		expect(bodies.filter((b) => b.message === 'Workflow started')).toHaveLength(1);
		for (const answer of answers.filter((a) => (JSON.parse(a.text) as IDataObject).duplicate === true)) expectRepeat(answer, taskId);
		expect(bodies.filter((b) => b.duplicate === true)).toHaveLength(4);

		const executions = await executionsSettled(once.workflowId, before + 1);
		expect(executions).toHaveLength(before + 1);
		expect(executions.filter((e) => nodeOutput(e, 'Whilter Trigger')[0]?.['task-id'] === taskId)).toHaveLength(1);
	});

	describe('Whilter Batch\'s resume URL', () => {
		const ROWS = 3;

		async function startWaiting(name: string): Promise<{ workflowId: string; executionId: string; taskId: string; resumeUrl: string }> {
			const customers = Array.from({ length: ROWS }, (_, i) => ({ phone: `+9196000000${String(i).padStart(2, '0')}`, name: `Customer ${i}` }));
			const saved = await n8n.importWorkflow({
				name,
				nodes: [
					{ id: 'f0000000-0000-4000-8000-000000000001', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
					{
						id: 'f0000000-0000-4000-8000-000000000002',
						name: 'Customers',
						type: 'n8n-nodes-base.code',
						typeVersion: 2,
						position: [220, 0],
						parameters: { jsCode: `return ${JSON.stringify(customers)}.map((json) => ({ json }));` },
					},
					{
						id: 'f0000000-0000-4000-8000-000000000003',
						name: 'Whilter Batch',
						type: 'CUSTOM.whilterBatch',
						typeVersion: 1,
						position: [440, 0],
						parameters: { inputSource: 'items', identifierColumn: 'phone', templateId: 'T-ONCE', campaignId: name, options: { waitForCallback: true, callbackTimeout: 10 } },
						credentials: { whilterApi: { id: credentialIds.whilterApi, name: 'Whilter (sandbox)' } },
					},
				],
				connections: {
					Start: { main: [[{ node: 'Customers', type: 'main', index: 0 }]] },
					Customers: { main: [[{ node: 'Whilter Batch', type: 'main', index: 0 }]] },
				},
				settings: {},
			});
			const started = await n8n.rest<{ data: { executionId?: string } }>('POST', `/workflows/${saved.id}/run`, { triggerToStartFrom: { name: 'Start' } });
			const executionId = String(started.data.executionId);
			await executionIn(executionId, ['waiting']);
			const task = [...sandbox.whilter.tasks.values()].find((t) => t.body['campaign-id'] === name);
			if (!task) throw new Error(`no task for campaign ${name}`);
			return { workflowId: saved.id, executionId, taskId: task.id, resumeUrl: String(task.body['callback-url']) };
		}

		async function executionIn(executionId: string, statuses: string[]): Promise<Execution> {
			const deadline = Date.now() + 60_000;
			for (;;) {
				const res = await n8n.raw('GET', `/api/v1/executions/${executionId}?includeData=true`);
				if (res.status === 200 && statuses.includes((res.body as Execution).status)) return res.body as Execution;
				if (Date.now() > deadline) throw new Error(`execution ${executionId} is not ${statuses.join('/')} after 60 s`);
				await sleep(150);
			}
		}

		it('called again after the execution resumed: n8n answers 409 itself, nothing runs again', async () => {
			const waiting = await startWaiting('once-resume-again');
			await sandbox.whilter.advance(waiting.taskId);
			await sandbox.whilter.advance(waiting.taskId); // completed: the callback goes to the resume URL
			const done = await executionIn(waiting.executionId, ['success']);
			expect(nodeOutput(done, 'Whilter Batch')).toHaveLength(ROWS);

			const again = [];
			for (let i = 0; i < 3; i++) again.push(await sandbox.whilter.sendCallback({ taskId: waiting.taskId, url: waiting.resumeUrl }));
			expect(again.map((r) => r.status)).toEqual([409, 409, 409]);
			expect(again[0].responseText).toContain('has finished already');
			await sleep(1000);
			const after = await n8n.execution(waiting.executionId);
			expect(after.status).toBe('success');
			expect(nodeOutput(after, 'Whilter Batch')).toHaveLength(ROWS);
			expect(await n8n.executions(waiting.workflowId)).toHaveLength(1);
		});

		it('5 deliveries at once: one resumes; n8n refuses the others (the execution is no longer waiting)', async () => {
			const waiting = await startWaiting('once-resume-at-once');
			const task = sandbox.whilter.tasks.get(waiting.taskId)!;
			// Completed without Whilter's own callback, which the test then delivers 5 times at once.
			delete task.body['callback-url'];
			await sandbox.whilter.advance(waiting.taskId);
			await sandbox.whilter.advance(waiting.taskId);
			const answers = await Promise.all(Array.from({ length: 5 }, async () => await sandbox.whilter.sendCallback({ taskId: waiting.taskId, url: waiting.resumeUrl })));
			const statuses = answers.map((a) => a.status ?? 0);
			expect(statuses.filter((s) => s === 200)).toHaveLength(1);
			expect(statuses.filter((s) => s !== 200).every((s) => s === 409 || s === 500)).toBe(true);

			const done = await executionIn(waiting.executionId, ['success']);
			await sleep(1000);
			const after = await n8n.execution(done.id);
			expect(after.status).toBe('success');
			expect(nodeOutput(after, 'Whilter Batch')).toHaveLength(ROWS);
			expect(await n8n.executions(waiting.workflowId)).toHaveLength(1);
		});
	});
});
