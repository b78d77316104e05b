/**
 * The package in n8n's queue mode (n8n 2.41.1, e2e/queue.ts): main, two workers and a webhook
 * processor, PostgreSQL 17 and Redis of their own, against the sandbox.
 *
 * - The three examples end to end, as `npm run demo` runs them (e2e/examples.ts), and each
 *   execution ran on a worker, not on main (the processes' own log lines say which).
 * - The callback flow (2) is started through the webhook processor: its production URL, given to
 *   Whilter Batch as Callback URL, is the webhook processor's, and the sandbox's callback arrives
 *   there (the webhook processor enqueues the execution, a worker runs it).
 * - Whilter Batch's "Wait for Completion Callback": started on main, run on a worker until it waits;
 *   its resume URL is the webhook processor's, the sandbox's callback reaches it there, and a worker
 *   (possibly the other one) finishes it with the task's result rows.
 */
import { createSandboxCredentials, CUSTOM_PREFIX, nodeOutput, runExamples } from '../../e2e/examples';
import type { ExamplesRun } from '../../e2e/examples';
import { DEFAULT_N8N_VERSION } from '../../e2e/n8n';
import type { Execution } from '../../e2e/n8n';
import { DIST_DIR, ensurePackageBuilt } from '../../e2e/package';
import { memoryLine, startQueueCluster } from '../../e2e/queue';
import { batchWaitWorkflow, executionReaching, startManualRun, taskOfCampaign } from '../../e2e/whilterFlows';
import type { QueueCluster, WhoRan } from '../../e2e/queue';
import { startSandbox } from '../servers/sandbox';
import type { Sandbox } from '../servers/sandbox';
import { ROW_ERROR } from '../servers/whilter';
import { recordDeployFigures } from './figures';

jest.setTimeout(300_000);

// Tasks move a step every 4 s (completed 4 to 8 s after creation): room enough for a waiting
// execution to be saved as waiting before the callback comes.
const ADVANCE_MS = 4000;
const WAIT_CUSTOMERS = 7;

let sandbox: Sandbox;
let cluster: QueueCluster;
let ids: Record<string, string>;
let run: ExamplesRun;

const say = (line: string) => process.stderr.write(`[queue-examples] ${line}\n`);
const isWorker = (name: string) => /^worker-\d+$/.test(name);

beforeAll(async () => {
	await ensurePackageBuilt();
	sandbox = await startSandbox({ autoAdvanceMs: ADVANCE_MS });
	cluster = await startQueueCluster({ extensionsDir: DIST_DIR, workers: 2, webhookProcessors: 1 });
	const { startupMs } = cluster;
	say(`cluster ready in ${startupMs.total} ms (PostgreSQL + Redis ${startupMs.postgresAndRedis} ms, n8n processes ${startupMs.n8n} ms: ${cluster.processes.map((p) => `${p.name} ${p.startupMs} ms`).join(', ')})`);
	say(`memory after start-up: ${memoryLine(cluster.memory())}`);
	ids = await createSandboxCredentials(cluster.main, sandbox);
	run = await runExamples(cluster.main, ids, say, { webhookBaseUrl: cluster.webhookUrl });
	recordDeployFigures('queue', { queue_examples: '3/3' });
}, 900_000);

afterAll(async () => {
	if (cluster) say(`memory at the end: ${memoryLine(cluster.memory())}`);
	await cluster?.stop();
	await sandbox?.close();
});

const taskId = (): string => String(run.batch.task['task-id']);

describe('the examples in queue mode', () => {
	test('each of the three executions ran on a worker; main and the webhook processor only enqueued them', async () => {
		const executions: Array<[string, Execution]> = [
			['batch', run.batch.execution],
			['callback', run.callback.execution],
			['realtime', run.realtime.execution],
		];
		const who: Record<string, WhoRan> = {};
		for (const [name, execution] of executions) who[name] = await cluster.waitForWhoRan(execution.id);
		say(`who ran the examples: ${JSON.stringify(who)}`);
		recordDeployFigures('queue', { on_worker: `${Object.values(who).filter((w) => w.startedOn.length === 1 && isWorker(w.startedOn[0])).length}/3` });

		for (const [name, execution] of executions) {
			expect({ name, status: execution.status }).toEqual({ name, status: 'success' });
			expect({ name, startedOn: who[name].startedOn }).toEqual({ name, startedOn: [expect.stringMatching(/^worker-\d+$/)] });
			expect({ name, finishedOn: who[name].finishedOn }).toEqual({ name, finishedOn: who[name].startedOn });
		}
		expect(who.batch.enqueuedBy).toEqual(['main']);
		expect(who.realtime.enqueuedBy).toEqual(['main']);
		expect(who.callback.enqueuedBy).toEqual(['webhook-1']);
	});

	test("the callback flow (2) started through the webhook processor: its production URL is the webhook processor's, and the sandbox's callback reached it there", async () => {
		const task = sandbox.whilter.tasks.get(taskId());
		const callbackUrl = String(task?.body['callback-url']);
		expect(callbackUrl).toMatch(new RegExp(`^${cluster.webhookUrl}/webhook/[0-9a-f-]{36}/whilter$`));
		expect(cluster.webhookUrl).toBe(cluster.webhookProcessors[0].url);
		expect(sandbox.whilter.callbacks.filter((c) => c.taskId === taskId())).toEqual([expect.objectContaining({ status: 200 })]);

		expect(run.callback.execution).toMatchObject({ status: 'success', mode: 'webhook' });
		expect(run.callback.rows.map((row) => [row.phone, row['media-url'], row.error])).toEqual(run.batch.rows.map((row) => [row.phone, row['media-url'], row.error]));
		const who = await cluster.waitForWhoRan(run.callback.execution.id);
		expect(who.enqueuedBy).toEqual(['webhook-1']);
		expect(who.startedOn).toEqual([expect.stringMatching(/^worker-\d+$/)]);
		recordDeployFigures('queue', { webhook_processor: 'ok' });
	});
});

// ---------------------------------------------------------------------------------------------
// Wait for the completion callback, resumed across processes

describe("Whilter Batch's wait for the completion callback in queue mode", () => {
	test('waits on a worker, is resumed through the webhook processor and finished on a worker with the result rows', async () => {
		const campaign = 'queue-wait';
		const whilterApi = { id: ids.whilterApi, name: 'Whilter (sandbox)' };
		const saved = await cluster.main.importWorkflow(batchWaitWorkflow({ name: campaign, prefix: CUSTOM_PREFIX, whilterApi, customers: WAIT_CUSTOMERS }));
		const executionId = await startManualRun(cluster.main, DEFAULT_N8N_VERSION, saved.id);

		const waiting = await executionReaching(cluster.main, executionId, ['waiting'], 120_000);
		const { task, callbackUrl } = taskOfCampaign(sandbox, campaign);
		// The resume URL was built on the worker from WEBHOOK_URL: the webhook processor's.
		expect(callbackUrl).toMatch(new RegExp(`^${cluster.webhookUrl}/webhook-waiting/${executionId}\\?signature=`));
		expect(nodeOutput(waiting, 'Whilter Batch')[0]).toMatchObject({ 'task-id': task.id, 'row-count': WAIT_CUSTOMERS, 'waiting-for-callback': true });
		const beforeResume = await cluster.waitForWhoRan(executionId, 1);
		expect(beforeResume.enqueuedBy).toEqual(['main']);
		expect(beforeResume.startedOn).toEqual([expect.stringMatching(/^worker-\d+$/)]);

		const done = await executionReaching(cluster.main, executionId, ['success'], 120_000);
		expect(sandbox.whilter.callbacks.filter((c) => c.taskId === task.id).map((c) => c.status)).toEqual([200]);
		const rows = nodeOutput(done, 'Whilter Batch');
		expect(rows).toHaveLength(WAIT_CUSTOMERS);
		expect(rows[0]).toEqual({ phone: '+919800000000', name: 'Customer 0', 'media-url': `${sandbox.whilter.url}/media/${task.id}/0.mp4`, error: '' });
		expect(rows[4]).toMatchObject({ 'media-url': '', error: ROW_ERROR });
		expect(nodeOutput(done, 'After')).toEqual(rows);

		// The callback to /webhook-waiting/… reached the webhook processor, which enqueued the resume;
		// a worker (either one) ran the rest.
		const who = await cluster.waitForWhoRan(executionId, 2);
		say(`who ran the waiting execution ${executionId}: ${JSON.stringify(who)}`);
		expect([...who.enqueuedBy].sort()).toEqual(['main', 'webhook-1']);
		expect(who.startedOn).toHaveLength(2);
		expect(who.startedOn.every(isWorker)).toBe(true);
		recordDeployFigures('queue', { resume_across_processes: 'ok' });
	});
});
