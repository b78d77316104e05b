/**
 * One measured execution of a path: import its workflow, wait for n8n's memory to settle, run it
 * while sampling RSS, then check that the job was really done (a task id, and the ZIP in S3 with
 * every row).
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';

import type { Execution, N8nHandle } from '../../e2e/n8n';
import { countZipLineFeeds, readZipEntries } from '../../test/servers/zipEntries';
import { BUCKET, PREFIX, SAMPLE_MS, sleep } from './config';
import type { RunPath } from './config';
import type { RunResult } from './report';
import { sampleTree, settle, startSampler } from './rss';
import type { RssPeaks } from './rss';
import { campaignWorkflow, zipNameOf } from './workflows';
import type { CredentialIds } from './workflows';
import type { ServerAddresses } from './servers';

/** Polls until the execution has stopped, without its data: n8n must not serialise 100k items while it is measured. */
async function waitUntilStopped(n8n: N8nHandle, executionId: string): Promise<void> {
	const deadline = Date.now() + 240_000;
	for (;;) {
		const res = await n8n.raw('GET', `/api/v1/executions/${executionId}`);
		const found = res.body as Execution | undefined;
		if (res.status === 200 && found?.stoppedAt && !['new', 'running'].includes(found.status)) return;
		if (res.status !== 200 && res.status !== 404) throw new Error(`GET /api/v1/executions/${executionId} answered ${res.status}: ${res.text.slice(0, 500)}`);
		if (Date.now() > deadline) throw new Error(`execution ${executionId} did not finish within 240 s`);
		await sleep(SAMPLE_MS);
	}
}

interface Measured {
	execution: Execution;
	clientMs: number;
	rss: RssPeaks;
	startTotalKb: number;
}

/** Runs the saved workflow from its Manual Trigger ("Start") as the editor does, sampling RSS until it stops. */
async function execute(n8n: N8nHandle, workflowId: string): Promise<Measured> {
	const start = sampleTree(n8n.pid);
	const stopSampler = startSampler(n8n.pid);
	const t0 = performance.now();
	try {
		const started = await n8n.rest<{ data: { executionId?: string } }>('POST', `/workflows/${workflowId}/run`, {
			triggerToStartFrom: { name: 'Start' },
		});
		const executionId = started.data.executionId;
		if (!executionId) throw new Error(`n8n did not start an execution: ${JSON.stringify(started)}`);
		await waitUntilStopped(n8n, executionId);
		const clientMs = performance.now() - t0;
		const rss = stopSampler();
		// Read after the sampling stopped; at a million rows the data is past n8n's display limit.
		return { execution: await n8n.execution(executionId, { ignoreDataSizeLimit: true }), clientMs, rss, startTotalKb: start.mainKb + start.childrenKb };
	} catch (error) {
		stopSampler();
		throw error;
	}
}

/** The ZIP the run uploaded: exactly one CSV, a header plus one line per row (no value here holds a line break). */
async function checkZip(s3: S3Client, campaign: string, rows: number): Promise<void> {
	const key = `${PREFIX}/${zipNameOf(campaign)}`;
	const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
	const entries = await readZipEntries(Buffer.from(await object.Body!.transformToByteArray()));
	const csvs = entries.filter((e) => e.name.toLowerCase().endsWith('.csv'));
	if (csvs.length !== 1) throw new Error(`s3://${BUCKET}/${key} holds ${csvs.length} CSV files, not 1`);
	// Convert to File starts its CSV with a byte order mark.
	const lines = csvs[0].text.replace(/^\uFEFF/, '').split(/\r?\n/).filter((line) => line !== '');
	const header = lines[0].split(',');
	for (const column of ['phone', 'name', 'city', 'offer', 'amount', 'language']) {
		if (!header.includes(column)) throw new Error(`s3://${BUCKET}/${key}: the CSV header "${lines[0]}" lacks ${column}`);
	}
	if (lines.length - 1 !== rows) throw new Error(`s3://${BUCKET}/${key}: ${lines.length - 1} data lines, expected ${rows}`);
}

/**
 * The ZIP of a CSV file too large to read back as text (10M rows are more than a JavaScript string
 * holds): exactly one CSV, whose line feeds are counted as it inflates: a header plus one per row.
 */
async function checkLargeZip(s3: S3Client, campaign: string, rows: number): Promise<void> {
	const key = `${PREFIX}/${zipNameOf(campaign)}`;
	const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
	const entries = await countZipLineFeeds(Buffer.from(await object.Body!.transformToByteArray()));
	const csvs = entries.filter((e) => e.name.toLowerCase().endsWith('.csv'));
	if (csvs.length !== 1) throw new Error(`s3://${BUCKET}/${key} holds ${csvs.length} CSV files, not 1`);
	if (csvs[0].lineFeeds - 1 !== rows) throw new Error(`s3://${BUCKET}/${key}: ${csvs[0].lineFeeds - 1} data lines, expected ${rows}`);
}

/** The task id the path's last node returned; throws unless the execution succeeded and (Whilter Batch) counted every row. */
function taskIdOf(execution: Execution, path: RunPath, run: number, rows: number): string {
	if (execution.status !== 'success') {
		const error = execution.data?.resultData.error;
		const where = execution.data?.resultData.lastNodeExecuted;
		throw new Error(`${path} run ${run}: the execution ended "${execution.status}"${where ? ` in "${where}"` : ''}: ${error?.message ?? ''} ${error?.description ?? ''}`);
	}
	const runData = execution.data?.resultData.runData ?? {};
	const lastNode = path === 'builtin' ? 'Create task' : 'Whilter Batch';
	const out = runData[lastNode]?.[0]?.data?.main?.[0]?.[0]?.json ?? {};
	const taskId = String(out['task-id'] ?? '');
	if (!taskId.startsWith('task-')) throw new Error(`${path} run ${run}: "${lastNode}" returned no task id: ${JSON.stringify(out).slice(0, 500)}`);
	if (path !== 'builtin' && out['row-count'] !== rows) throw new Error(`${path} run ${run}: row-count ${String(out['row-count'])}, expected ${rows}`);
	return taskId;
}

/** Everything a run needs besides its own numbers: the n8n, its credentials, the servers and a client to read S3 back. */
export interface RunContext {
	n8n: N8nHandle;
	ids: CredentialIds;
	servers: ServerAddresses;
	s3: S3Client;
}

/** Executions so far in this process: every campaign (so its file name in the S3 drop) is new, warm-ups too. */
let executions = 0;

/** One measured run; `csvPath` is the file of `rows` rows that whilter-file reads. */
export async function runPath(ctx: RunContext, path: RunPath, run: number, rows: number, csvPath?: string): Promise<RunResult> {
	// The S3 server outlives each n8n: a warm-up's file of an earlier n8n would otherwise be in the way.
	const campaign = `bench-${path}-${rows}-${run}-${++executions}`;
	const workflow = campaignWorkflow(path, campaign, rows, ctx.ids, ctx.servers, csvPath);
	const stored = await ctx.n8n.importWorkflow(workflow);
	await settle(ctx.n8n.pid);
	const { execution, clientMs, rss, startTotalKb } = await execute(ctx.n8n, stored.id);
	const taskId = taskIdOf(execution, path, run, rows);
	if (path === 'whilter-file') await checkLargeZip(ctx.s3, campaign, rows);
	else await checkZip(ctx.s3, campaign, rows);
	const runData = execution.data?.resultData.runData ?? {};
	const nodeMs = workflow.nodes
		.filter((node) => node.type !== 'n8n-nodes-base.manualTrigger')
		.map((node): [string, number] => [node.name, runData[node.name]?.[0]?.executionTime ?? 0]);
	return {
		path,
		run,
		rows,
		wallMs: new Date(execution.stoppedAt!).getTime() - new Date(execution.startedAt).getTime(),
		clientMs: Math.round(clientMs),
		nodeMs,
		peakTotalKb: rss.total,
		peakMainKb: rss.main,
		peakRunnerKb: rss.children,
		startTotalKb,
		samples: rss.samples,
		taskId,
	};
}
