/**
 * The example workflows of `examples/` in a real n8n against the local sandbox: what `npm run demo`
 * shows and what test/e2e/examples.test.ts asserts on, so the two can never drift apart.
 *
 * (2) callback-flow.json is imported and published first; (1) batch-campaign.json polls with Whilter
 * Status, and its Whilter Batch is given (2)'s production URL as Callback URL, as the README tells
 * users to do to start (2), so the sandbox's completion callback starts (2) for real; (3)
 * realtime-flow.json runs last.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { IDataObject, INode } from 'n8n-workflow';

import { httpCall, REPO_ROOT } from './n8n';
import type { Execution, N8nHandle, WorkflowJson } from './n8n';
import type { Sandbox } from '../test/servers/sandbox';

/** The credential names the example files refer to. */
export const EXAMPLE_CREDENTIAL_NAMES: Record<string, string> = {
	whilterApi: 'Whilter (sandbox)',
	insiderApi: 'Insider (sandbox)',
	timePayApi: 'TimePay (sandbox)',
};

/** The type prefix in the example files: the package name, as a user's n8n knows the nodes. */
export const PACKAGE_PREFIX = 'n8n-nodes-whilter.';
/** Loaded from N8N_CUSTOM_EXTENSIONS (tests, demo), n8n names the same types `CUSTOM.<name>`. */
export const CUSTOM_PREFIX = 'CUSTOM.';

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms));

export interface ExampleOptions {
	/** `PACKAGE_PREFIX` (installed as a community package) or `CUSTOM_PREFIX`. */
	prefix: string;
	/** Credential ids by type, as n8n's import needs them. */
	credentialIds: Record<string, string>;
}

/** An example workflow as a user imports it into this n8n: type prefix and credential ids filled in. */
export function readExample(file: string, options: ExampleOptions): WorkflowJson {
	const json = JSON.parse(readFileSync(join(REPO_ROOT, 'examples', file), 'utf8')) as WorkflowJson;
	json.nodes = json.nodes.map((node: INode) => ({
		...node,
		type: node.type.replace(PACKAGE_PREFIX, options.prefix),
		...(node.credentials
			? { credentials: Object.fromEntries(Object.entries(node.credentials).map(([type, ref]) => [type, { ...ref, id: options.credentialIds[type] }])) }
			: {}),
	}));
	return json;
}

/** The sandbox's three credentials, created in n8n under the names the examples use; their ids by type. */
export async function createSandboxCredentials(n8n: N8nHandle, sandbox: Sandbox): Promise<Record<string, string>> {
	const ids: Record<string, string> = {};
	for (const [type, data] of Object.entries(sandbox.credentials)) {
		ids[type] = (await n8n.createCredential(EXAMPLE_CREDENTIAL_NAMES[type], type, data as IDataObject)).id;
	}
	return ids;
}

/** The JSON of the items a node output (its last run, first output). */
export function nodeOutput(execution: Execution, nodeName: string): IDataObject[] {
	const runs = execution.data?.resultData.runData[nodeName] ?? [];
	return (runs.at(-1)?.data?.main?.[0] ?? []).map((item) => item.json);
}

/** The production URL of an active workflow's Whilter Trigger. */
export function triggerUrl(n8nUrl: string, workflow: WorkflowJson): string {
	const trigger = workflow.nodes.find((node) => node.type.endsWith('.whilterTrigger'));
	if (!trigger?.webhookId) throw new Error(`workflow "${workflow.name}" has no Whilter Trigger with a webhook id`);
	return `${n8nUrl}/webhook/${trigger.webhookId}/whilter`;
}

/**
 * Activates a workflow and resolves once n8n serves its production webhook (2.41 registers it
 * asynchronously). Probed with a bodiless POST, which the Whilter Trigger refuses (nothing starts).
 */
export async function activateWebhookWorkflow(n8n: N8nHandle, workflowId: string, url: string, timeoutMs = 60_000): Promise<void> {
	await n8n.activate(workflowId);
	const deadline = Date.now() + timeoutMs;
	while ((await httpCall('POST', url)).status === 404) {
		if (Date.now() > deadline) throw new Error(`${url} still answers 404 ${timeoutMs / 1000} s after activation`);
		await sleep(250);
	}
}

/** Waits until a workflow has `count` finished executions; returns them oldest first. */
export async function finishedExecutions(n8n: N8nHandle, workflowId: string, count: number, timeoutMs = 60_000): Promise<Execution[]> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const done = (await n8n.executions(workflowId)).filter((e) => e.stoppedAt && !['new', 'running', 'waiting'].includes(e.status));
		if (done.length >= count) return done.sort((a, b) => Number(a.id) - Number(b.id));
		if (Date.now() > deadline) throw new Error(`workflow ${workflowId}: ${done.length} of ${count} executions finished within ${timeoutMs / 1000} s`);
		await sleep(200);
	}
}

function expectSuccess(execution: Execution, example: string): void {
	if (execution.status === 'success') return;
	const error = execution.data?.resultData.error;
	throw new Error(`${example} ended "${execution.status}"${error ? `: ${error.message}` : ''}`);
}

export interface ExamplesRun {
	workflowIds: { batch: string; callback: string; realtime: string };
	/** (1) the batch campaign. */
	batch: {
		execution: Execution;
		/** Whilter Batch's output item: task-id, row-count, file-name, file-path, bucket… */
		task: IDataObject;
		/** Whilter Status' result rows: the customer columns plus media-url and error. */
		rows: IDataObject[];
		/** The downloaded media the Insider node uploaded, and what Insider answered. */
		insider: IDataObject;
		/** TimePay Initiate's output item (success, partial-success, status-code, TimePay's answer with the counts under response). */
		timepay: IDataObject;
	};
	/** (2) the callback flow, started by the sandbox's completion callback of (1)'s task. */
	callback: { execution: Execution; rows: IDataObject[] };
	/** (3) the real-time flow. */
	realtime: { execution: Execution; items: IDataObject[] };
}

export interface RunExamplesOptions {
	/**
	 * Where n8n serves production webhooks (its WEBHOOK_URL, no trailing slash): in queue mode a
	 * webhook processor, not main. Default: the n8n the examples run in.
	 */
	webhookBaseUrl?: string;
}

/** Runs examples (2), (1) and (3) as described at the top; `progress` hears about each long step. */
export async function runExamples(
	n8n: N8nHandle,
	credentialIds: Record<string, string>,
	progress: (line: string) => void = () => {},
	runOptions: RunExamplesOptions = {},
): Promise<ExamplesRun> {
	const options: ExampleOptions = { prefix: CUSTOM_PREFIX, credentialIds };

	const callbackJson = readExample('callback-flow.json', options);
	const callbackWorkflow = await n8n.importWorkflow(callbackJson);
	const callbackUrl = triggerUrl(runOptions.webhookBaseUrl ?? n8n.url, callbackJson);
	progress(`publishing "${callbackJson.name}" (production webhook ${callbackUrl})…`);
	await activateWebhookWorkflow(n8n, callbackWorkflow.id, callbackUrl);

	const batchJson = readExample('batch-campaign.json', options);
	// What the user does to start (2) from a batch: (2)'s production URL as Whilter Batch's Callback URL.
	const batchNode = batchJson.nodes.find((node) => node.type.endsWith('.whilterBatch'));
	if (!batchNode) throw new Error(`"${batchJson.name}" has no Whilter Batch`);
	batchNode.parameters = { ...batchNode.parameters, options: { ...(batchNode.parameters.options as IDataObject), callbackUrl } };
	const batchWorkflow = await n8n.importWorkflow(batchJson);
	progress(`running "${batchJson.name}": upload, task, waiting for Whilter to finish it, WhatsApp media, TimePay…`);
	const batchExecution = await n8n.runManually(batchWorkflow.id, { triggerName: 'Start', timeoutMs: 300_000 });
	expectSuccess(batchExecution, `"${batchJson.name}"`);

	progress(`waiting for Whilter's callback to start "${callbackJson.name}"…`);
	const [callbackExecution] = await finishedExecutions(n8n, callbackWorkflow.id, 1, 120_000);
	expectSuccess(callbackExecution, `"${callbackJson.name}"`);

	const realtimeJson = readExample('realtime-flow.json', options);
	const realtimeWorkflow = await n8n.importWorkflow(realtimeJson);
	progress(`running "${realtimeJson.name}"…`);
	const realtimeExecution = await n8n.runManually(realtimeWorkflow.id, { triggerName: 'Start', timeoutMs: 300_000 });
	expectSuccess(realtimeExecution, `"${realtimeJson.name}"`);

	return {
		workflowIds: { batch: batchWorkflow.id, callback: callbackWorkflow.id, realtime: realtimeWorkflow.id },
		batch: {
			execution: batchExecution,
			task: nodeOutput(batchExecution, 'Whilter Batch')[0] ?? {},
			rows: nodeOutput(batchExecution, 'Whilter Status'),
			insider: nodeOutput(batchExecution, 'Insider WhatsApp Media')[0] ?? {},
			timepay: nodeOutput(batchExecution, 'TimePay Initiate')[0] ?? {},
		},
		callback: { execution: callbackExecution, rows: nodeOutput(callbackExecution, 'Result rows') },
		realtime: { execution: realtimeExecution, items: nodeOutput(realtimeExecution, 'Whilter Realtime') },
	};
}
