/**
 * Workflows and calls the real-n8n tests of the Whilter Trigger's production webhook and of Whilter
 * Batch's wait-and-resume share, for any n8n version the tests run and either way of loading the
 * package (type prefix `CUSTOM.` or `n8n-nodes-whilter.`).
 */
import type { IDataObject, INode, INodeParameters } from 'n8n-workflow';

import { activateWebhookWorkflow, triggerUrl } from './examples';
import { dataMatchesStatus, httpCall, isN8n28OrOlder } from './n8n';
import type { Execution, HttpResponse, N8nHandle, WorkflowJson } from './n8n';
import type { Sandbox } from '../test/servers/sandbox';

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms));

/** A credential as a workflow node refers to it. */
export interface CredentialRef {
	id: string;
	name: string;
}

export interface ActiveTrigger {
	workflowId: string;
	url: string;
}

/**
 * Whilter Trigger → No Operation ("Received"). The callback credential is added for header or basic
 * authentication.
 */
export function triggerWorkflow(options: {
	name: string;
	webhookId: string;
	prefix: string;
	parameters: INodeParameters;
	whilterApi: CredentialRef;
	header?: CredentialRef;
	basic?: CredentialRef;
}): WorkflowJson {
	const { name, webhookId, prefix, parameters } = options;
	const credentials: INode['credentials'] = { whilterApi: options.whilterApi };
	if (parameters.authentication === 'headerAuth' && options.header) credentials.whilterCallbackHeaderAuthApi = options.header;
	if (parameters.authentication === 'basicAuth' && options.basic) credentials.whilterCallbackBasicAuthApi = options.basic;
	return {
		name,
		nodes: [
			{ id: `${webhookId.slice(0, 30)}000001`, name: 'Whilter Trigger', type: `${prefix}whilterTrigger`, typeVersion: 1, position: [0, 0], webhookId, parameters, credentials },
			{ id: `${webhookId.slice(0, 30)}000002`, name: 'Received', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [220, 0], parameters: {} },
		],
		connections: { 'Whilter Trigger': { main: [[{ node: 'Received', type: 'main', index: 0 }]] } },
		settings: {},
	};
}

/** Imports and activates; resolves once n8n serves the production URL (activation is asynchronous in 2.41). */
export async function activateTrigger(n8n: N8nHandle, workflow: WorkflowJson): Promise<ActiveTrigger> {
	const saved = await n8n.importWorkflow(workflow);
	const url = triggerUrl(n8n.url, workflow);
	await activateWebhookWorkflow(n8n, saved.id, url);
	return { workflowId: saved.id, url };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpResponse> {
	return await httpCall('POST', url, { headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** The `message` of a JSON answer, else the text. */
export function messageOf(res: HttpResponse): string {
	try {
		return String((JSON.parse(res.text) as { message?: unknown }).message ?? res.text);
	} catch {
		return res.text;
	}
}

/** A task that exists and has moved `steps` on (1: in-progress, 2: completed); no callback URL of its own. */
export async function seededTaskAt(sandbox: Sandbox, steps: number, rows = 3): Promise<string> {
	const taskId = await sandbox.whilter.seedTask({ rows, campaign: `seed-${steps}` });
	for (let i = 0; i < steps; i++) await sandbox.whilter.advance(taskId);
	return taskId;
}

/**
 * Start → Customers (Code, `customers` rows with phone and name) → Whilter Batch with "Wait for
 * Completion Callback" → After (No Operation). The campaign id is the workflow's name.
 */
export function batchWaitWorkflow(options: { name: string; prefix: string; whilterApi: CredentialRef; customers: number; batchOptions?: IDataObject }): WorkflowJson {
	const { name, prefix, whilterApi } = options;
	const customers = Array.from({ length: options.customers }, (_, i) => ({ phone: `+9198000000${String(i).padStart(2, '0')}`, name: `Customer ${i}` }));
	const nodes: INode[] = [
		{ id: 'd0000000-0000-4000-8000-000000000001', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
		{
			id: 'd0000000-0000-4000-8000-000000000002',
			name: 'Customers',
			type: 'n8n-nodes-base.code',
			typeVersion: 2,
			position: [220, 0],
			parameters: { jsCode: `return ${JSON.stringify(customers)}.map((json) => ({ json }));` },
		},
		{
			id: 'd0000000-0000-4000-8000-000000000003',
			name: 'Whilter Batch',
			type: `${prefix}whilterBatch`,
			typeVersion: 1,
			position: [440, 0],
			parameters: {
				inputSource: 'items',
				identifierColumn: 'phone',
				templateId: 'T-WAIT',
				campaignId: name.replace(/[^A-Za-z0-9-]/g, '-'),
				options: { waitForCallback: true, callbackTimeout: 10, ...options.batchOptions },
			},
			credentials: { whilterApi },
		},
		{ id: 'd0000000-0000-4000-8000-000000000004', name: 'After', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [660, 0], parameters: {} },
	];
	return {
		name,
		nodes,
		connections: {
			Start: { main: [[{ node: 'Customers', type: 'main', index: 0 }]] },
			Customers: { main: [[{ node: 'Whilter Batch', type: 'main', index: 0 }]] },
			'Whilter Batch': { main: [[{ node: 'After', type: 'main', index: 0 }]] },
		},
		settings: {},
	};
}

/**
 * Starts a saved workflow from its Manual Trigger as the editor's "Execute workflow" does and returns
 * the execution id at once (runManually waits for the end). Up to 2.8 n8n runs the `workflowData` of
 * the body, so the saved workflow is sent along.
 */
export async function startManualRun(n8n: N8nHandle, version: string, workflowId: string, triggerName = 'Start'): Promise<string> {
	const body: { triggerToStartFrom: { name: string }; workflowData?: unknown } = { triggerToStartFrom: { name: triggerName } };
	if (isN8n28OrOlder(version)) body.workflowData = (await n8n.rest<{ data: unknown }>('GET', `/workflows/${workflowId}`)).data;
	const started = await n8n.rest<{ data: { executionId?: string } }>('POST', `/workflows/${workflowId}/run`, body);
	const executionId = started.data.executionId;
	if (!executionId) throw new Error(`n8n did not start an execution: ${JSON.stringify(started)}`);
	return executionId;
}

/**
 * Polls an execution until it has one of `statuses` (and, when given, `ready` holds for its data: n8n
 * 1.x may show a resumed execution's new status a moment before its new data); throws (with n8n's log
 * tail) when it ends otherwise.
 */
export async function executionReaching(
	n8n: N8nHandle,
	executionId: string,
	statuses: string[],
	timeoutMs: number,
	ready: (execution: Execution) => boolean = () => true,
): Promise<Execution> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const res = await n8n.raw('GET', `/api/v1/executions/${executionId}?includeData=true`);
		if (res.status === 200) {
			const found = res.body as Execution;
			if (statuses.includes(found.status) && dataMatchesStatus(found) && ready(found)) return found;
			if (['error', 'crashed', 'canceled'].includes(found.status)) {
				throw new Error(`execution ${executionId} ended ${found.status}: ${JSON.stringify(found.data?.resultData.error ?? null)}\n${n8n.log().split('\n').slice(-40).join('\n')}`);
			}
		}
		if (Date.now() > deadline) throw new Error(`execution ${executionId} did not reach ${statuses.join('/')} within ${timeoutMs} ms`);
		await sleep(150);
	}
}

/** The sandbox task created for this campaign, and the callback URL it was given. */
export function taskOfCampaign(sandbox: Sandbox, campaign: string): { task: { id: string; state: string }; callbackUrl: string } {
	const task = [...sandbox.whilter.tasks.values()].find((t) => t.body['campaign-id'] === campaign);
	if (!task) throw new Error(`no task for campaign ${campaign}`);
	return { task, callbackUrl: String(task.body['callback-url']) };
}
