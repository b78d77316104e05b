/**
 * Whilter Batch's "Wait for Completion Callback" in a real n8n (2.41.1, the package loaded from
 * dist/ with N8N_CUSTOM_EXTENSIONS) against the sandbox, whose Whilter server moves tasks on by
 * itself and POSTs the callback to the URL the task was created with.
 *
 * - The execution creates the task with its own resume URL as callback, is `waiting`, and once the
 *   sandbox completes the task and calls back it resumes to `success`: the node's output is the
 *   task's result rows (media-url, error), which the next node receives.
 * - Forged POSTs to the resume URL (an unknown task, another real and completed task, no task id)
 *   are refused with a 4xx and leave the execution waiting; only the real callback resumes it.
 */
import type { IDataObject } from 'n8n-workflow';

import { CUSTOM_PREFIX, nodeOutput } from '../../e2e/examples';
import { DEFAULT_N8N_VERSION, startN8n } from '../../e2e/n8n';
import type { N8nHandle } from '../../e2e/n8n';
import { DIST_DIR, ensurePackageBuilt } from '../../e2e/package';
import { batchWaitWorkflow, executionReaching, postJson, startManualRun, taskOfCampaign } from '../../e2e/whilterFlows';
import type { CredentialRef } from '../../e2e/whilterFlows';
import { startSandbox } from '../servers/sandbox';
import type { Sandbox } from '../servers/sandbox';
import { ROW_ERROR } from '../servers/whilter';

jest.setTimeout(240_000);

// Every 4 s each open task moves a step: created → in-progress → completed 4 to 8 s after creation,
// room enough to see the execution waiting and to try forged callbacks first.
const ADVANCE_MS = 4000;
const CUSTOMERS = 7;

let sandbox: Sandbox;
let n8n: N8nHandle;
let credentialId: string;

beforeAll(async () => {
	await ensurePackageBuilt();
	sandbox = await startSandbox({ autoAdvanceMs: ADVANCE_MS });
	n8n = await startN8n({ extensionsDir: DIST_DIR });
	credentialId = (await n8n.createCredential('Whilter (sandbox)', 'whilterApi', sandbox.credentials.whilterApi as unknown as IDataObject)).id;
}, 900_000);

afterAll(async () => {
	await n8n?.stop();
	await sandbox?.close();
});

const whilterApi = (): CredentialRef => ({ id: credentialId, name: 'Whilter (sandbox)' });

/** Starts the wait-for-callback workflow as the editor's "Execute workflow" does; returns the execution id at once. */
async function start(name: string, batchOptions: IDataObject = {}): Promise<string> {
	const saved = await n8n.importWorkflow(batchWaitWorkflow({ name, prefix: CUSTOM_PREFIX, whilterApi: whilterApi(), customers: CUSTOMERS, batchOptions }));
	return await startManualRun(n8n, DEFAULT_N8N_VERSION, saved.id);
}

const until = (executionId: string, statuses: string[], timeoutMs: number) => executionReaching(n8n, executionId, statuses, timeoutMs);
const taskOf = (campaign: string) => taskOfCampaign(sandbox, campaign);
const post = postJson;

describe('Whilter Batch: submit and wait for the completion callback (real n8n)', () => {
	let firstTaskId = '';

	it('waits, then resumes on Whilter\'s callback with the result rows', async () => {
		const executionId = await start('wait-one');
		const waiting = await until(executionId, ['waiting'], 60_000);
		const { task, callbackUrl } = taskOf('wait-one');
		firstTaskId = task.id;
		// The task's callback is this execution's own resume URL (with n8n's resume token).
		expect(callbackUrl).toMatch(new RegExp(`^${n8n.url}/webhook-waiting/${executionId}\\?signature=`));
		expect(nodeOutput(waiting, 'Whilter Batch')[0]).toMatchObject({ 'task-id': task.id, 'row-count': CUSTOMERS, 'waiting-for-callback': true });
		expect(nodeOutput(waiting, 'After')).toEqual([]);

		const done = await until(executionId, ['success'], 60_000);
		expect(sandbox.whilter.tasks.get(task.id)?.state).toBe('completed');
		const callbacks = sandbox.whilter.callbacks.filter((c) => c.taskId === task.id);
		expect(callbacks).toHaveLength(1);
		expect(callbacks[0].status).toBe(200);

		const rows = nodeOutput(done, 'Whilter Batch');
		expect(rows).toHaveLength(CUSTOMERS);
		expect(rows.map((r) => r.phone)).toEqual(Array.from({ length: CUSTOMERS }, (_, i) => `+9198000000${String(i).padStart(2, '0')}`));
		expect(rows[0]).toEqual({ phone: '+919800000000', name: 'Customer 0', 'media-url': `${sandbox.whilter.url}/media/${task.id}/0.mp4`, error: '' });
		expect(rows[4]).toMatchObject({ 'media-url': '', error: ROW_ERROR });
		expect(nodeOutput(done, 'After')).toEqual(rows);
		// The callback was confirmed against the status API before the rows were read.
		const statusCall = sandbox.whilter.requests.find((r) => r.method === 'GET' && r.path === `/demo/task/status/${task.id}` && r.time >= callbacks[0].time);
		expect(statusCall).toBeDefined();
	});

	it('forged callbacks to the resume URL are refused and do not resume the execution', async () => {
		expect(firstTaskId).not.toBe('');
		const executionId = await start('wait-two');
		await until(executionId, ['waiting'], 60_000);
		const { task, callbackUrl } = taskOf('wait-two');
		expect(task.state).not.toBe('completed');

		const unknown = await post(callbackUrl, { 'task-id': 'task-forged', status: 'completed', 'file-path': 'x.csv' });
		expect(unknown.status).toBe(403);
		// A real task of the same client, completed, but not the one this execution waits for.
		const other = await post(callbackUrl, { 'task-id': firstTaskId, status: 'completed', 'file-path': sandbox.whilter.outputKeyOf(firstTaskId) });
		expect(other.status).toBe(403);
		const nameless = await post(callbackUrl, { status: 'completed' });
		expect(nameless.status).toBe(400);
		// The resume token is n8n's: without it, n8n itself refuses.
		const unsigned = await post(callbackUrl.replace(/\?.*$/, ''), { 'task-id': task.id, status: 'completed' });
		expect(unsigned.status).toBe(401);
		// The right task, but the status API says it is not completed yet (checked just before).
		if (sandbox.whilter.tasks.get(task.id)?.state !== 'completed') {
			const early = await post(callbackUrl, { 'task-id': task.id, status: 'completed' });
			expect(early.status).toBe(409);
		}

		const still = await n8n.execution(executionId);
		expect(still.status).toBe('waiting');
		expect(nodeOutput(still, 'After')).toEqual([]);
		expect(sandbox.whilter.callbacks.filter((c) => c.taskId === task.id)).toHaveLength(0);

		const done = await until(executionId, ['success'], 60_000);
		const rows = nodeOutput(done, 'Whilter Batch');
		expect(rows).toHaveLength(CUSTOMERS);
		expect(rows.every((r) => String(r['media-url']).includes(`/media/${task.id}/`) || r.error === ROW_ERROR)).toBe(true);
		expect(sandbox.whilter.callbacks.filter((c) => c.taskId === task.id).map((c) => c.status)).toEqual([200]);
	});
	it('no confirmed callback before the Callback Timeout: the next node gets one timed-out item naming the task, not the customer rows as if they were results', async () => {
		// A Status Path that does not exist: Whilter's callback cannot be confirmed (503), so nothing resumes it.
		const executionId = await start('wait-timeout', { callbackTimeout: 0.05, statusPath: '/task/nowhere/{taskId}' });
		await until(executionId, ['waiting'], 60_000);
		const { task } = taskOf('wait-timeout');
		// n8n's wait tracker looks for due executions once a minute.
		const done = await until(executionId, ['success'], 150_000);
		const after = nodeOutput(done, 'After');
		process.stderr.write(`[submit-and-wait] after the Callback Timeout, the next node got: ${JSON.stringify(after).slice(0, 400)}\n`);
		// n8n passes a timed-out waiting node's input on: the node left one item there that says so.
		expect(after).toEqual([expect.objectContaining({ 'task-id': task.id, 'timed-out': true, 'waiting-for-callback': false, 'row-count': CUSTOMERS })]);
		expect(String(after[0].message)).toContain('no result rows');
		expect(after[0]).not.toHaveProperty('phone');
	});
});
