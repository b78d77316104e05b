/**
 * The main job, as `npm run demo` runs it (e2e/examples.ts), in a real n8n 2.41.1 on Node 24 with the
 * package from dist/: the three example workflows against the sandbox, asserted on the executions'
 * data and on what the sandbox's servers received.
 */
import type { IDataObject } from 'n8n-workflow';

import { createSandboxCredentials, runExamples } from '../../e2e/examples';
import type { ExamplesRun } from '../../e2e/examples';
import { startN8n } from '../../e2e/n8n';
import type { N8nHandle } from '../../e2e/n8n';
import { DIST_DIR, ensurePackageBuilt } from '../../e2e/package';
import { SANDBOX_CREDENTIALS, startSandbox } from '../servers/sandbox';
import type { Sandbox } from '../servers/sandbox';
import { ROW_ERROR, SAMPLE_MP4 } from '../servers/whilter';

jest.setTimeout(300_000);

const CUSTOMERS = 25;

let sandbox: Sandbox;
let n8n: N8nHandle;
let run: ExamplesRun;

beforeAll(async () => {
	await ensurePackageBuilt();
	sandbox = await startSandbox({ autoAdvanceMs: 500 });
	n8n = await startN8n({ extensionsDir: DIST_DIR });
	const ids = await createSandboxCredentials(n8n, sandbox);
	run = await runExamples(n8n, ids, (line) => process.stderr.write(`[examples] ${line}\n`));
}, 900_000);

afterAll(async () => {
	await n8n?.stop();
	await sandbox?.close();
});

const taskId = (): string => String(run.batch.task['task-id']);

describe('example (1): batch campaign', () => {
	test('Whilter Batch uploaded the 25 customers and created the task the sandbox holds', async () => {
		const task = sandbox.whilter.tasks.get(taskId());
		expect(run.batch.task).toMatchObject({ 'row-count': CUSTOMERS, 'campaign-id': 'diwali-2026', 'template-id': 'T-1001', 'file-name': 'T-1001_Diwali-Offers.zip' });
		expect(task?.body).toMatchObject({ 'row-count': CUSTOMERS, 'file-path': run.batch.task['file-path'] });
		// The callback URL is the active callback workflow's production webhook, in this n8n.
		expect(String(task?.body['callback-url'])).toMatch(new RegExp(`^${n8n.url}/webhook/[0-9a-f-]{36}/whilter$`));
		expect(await sandbox.s3.listKeys(SANDBOX_CREDENTIALS.bucket)).toContain(String(run.batch.task['file-path']));
		expect(task?.state).toBe('completed');
	});

	test('Whilter Status waited for completion and gave one item per output row, with media-url and error', () => {
		const { rows } = run.batch;
		const mediaBase = `${sandbox.whilter.url}/media/${taskId()}/`;
		expect(rows).toHaveLength(CUSTOMERS);
		expect(rows.map((row) => row.phone)).toEqual(Array.from({ length: CUSTOMERS }, (_, i) => `+9198${10000000 + i}`));
		rows.forEach((row, i) => {
			const fails = (i + 1) % 5 === 0;
			expect({ i, media: row['media-url'], error: row.error }).toEqual({ i, media: fails ? '' : `${mediaBase}${i}.mp4`, error: fails ? ROW_ERROR : '' });
		});
		expect(rows.filter((row) => row.error)).toHaveLength(sandbox.whilter.tasks.get(taskId())?.failedRows ?? -1);
		// Every row is paired with the one input item (the Batch output) that asked for it.
		const items = run.batch.execution.data?.resultData.runData['Whilter Status']?.[0]?.data?.main?.[0] ?? [];
		expect(items.map((item) => item.pairedItem)).toEqual(Array(CUSTOMERS).fill({ item: 0 }));
	});

	test('the first ready video went to Insider for WhatsApp: the bytes the sandbox served, as video/mp4', () => {
		const { insider } = run.batch;
		const stored = sandbox.insider.media.get(String(insider.id));
		expect(stored?.bytes.equals(SAMPLE_MP4)).toBe(true);
		expect(stored?.mimeType).toBe('video/mp4');
		expect(insider).toMatchObject({ id: stored?.id, 'mime-type': 'video/mp4', 'file-size': SAMPLE_MP4.length, sha256: stored?.sha256 });
		expect(String(insider.url)).toContain(String(insider.id));
		expect(sandbox.insider.media.size).toBe(1);
	});

	test('TimePay Initiate: the 207 partial success is an item with the counts, and the sandbox messaged exactly those customers', () => {
		const { timepay } = run.batch;
		const [initiation, ...more] = sandbox.timepay.initiations;
		expect(more).toEqual([]);
		expect(initiation).toMatchObject({ campaignId: 'camp-loans', channel: 'whatsapp', templateId: 'hfu7VL6sBhI6NPm' });
		expect(initiation.failed).toEqual(['LOANID-2043155-FAIL', 'LOANID-2043161-FAIL']);
		expect(timepay).toMatchObject({
			success: false,
			'partial-success': true,
			'status-code': 207,
			'campaign-id': 'camp-loans',
			'failed-customers': initiation.failed.map((id) => expect.objectContaining({ 'customer-id': id }) as IDataObject),
			response: expect.objectContaining({ results: expect.objectContaining({ initiated: initiation.initiated.length, failed: 2 }) as IDataObject }) as IDataObject,
		});
		// Filters → Payment Status: bounced, pending, partial (8 of the campaign's 12 customers).
		expect(initiation.initiated.length + initiation.failed.length).toBe(8);
	});
});

describe('example (2): callback flow', () => {
	test("the sandbox's completion callback, POSTed to the production webhook, started it with the task's result rows", () => {
		const callbacks = sandbox.whilter.callbacks.filter((c) => c.taskId === taskId());
		expect(callbacks).toEqual([expect.objectContaining({ status: 200 })]);
		expect(run.callback.execution).toMatchObject({ status: 'success', mode: 'webhook' });
		const rows = run.callback.rows;
		expect(rows.map((row) => [row.phone, row['media-url'], row.error])).toEqual(run.batch.rows.map((row) => [row.phone, row['media-url'], row.error]));
		expect(rows.filter((row) => row['media-ready'] === true)).toHaveLength(CUSTOMERS - CUSTOMERS / 5);
	});
});

describe('example (3): real-time flow', () => {
	test('three personalised videos, each the media of its own real-time request', () => {
		const { items } = run.realtime;
		expect(items.map((item) => [item['user-id'], item.status])).toEqual([
			['u-1001', 'SUCCESS'],
			['u-1002', 'SUCCESS'],
			['u-1003', 'SUCCESS'],
		]);
		for (const item of items) {
			const id = String(item['whilter-request-id']);
			expect(sandbox.whilter.realtime.get(id)?.status).toBe('SUCCESS');
			expect(item['video-url']).toBe(`${sandbox.whilter.url}/media/rt/${id}.mp4`);
		}
	});
});
