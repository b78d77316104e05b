/**
 * Campaigns in a real n8n 2.41 process (the package from dist/ through N8N_CUSTOM_EXTENSIONS), so that
 * what only n8n itself does is in the storm: its CredentialsHelper fetching and refreshing the Whilter
 * token (preAuthentication after a 401/403), the Whilter Trigger's production webhook, and a waiting
 * Whilter Batch ("Wait for Completion Callback") resumed by Whilter's callback to its resume URL.
 *
 * Per campaign, against servers of its own under the same storm as in-process:
 * - workflow "batch": Start → Rows (Code; or a CSV file made by Convert to File) → Whilter Batch waiting
 *   for the callback → TimePay initiate. Whilter moves the task on by itself and POSTs the callback to
 *   the resume URL; while n8n does not answer it with a 2xx, Whilter sends it again (a few times).
 * - workflow "trigger": Whilter Trigger (production URL, confirmed with the status API) → No Operation,
 *   receiving the task's callback once, twice, late or before the task completed, as planned.
 * - workflow "realtime": Start → Users (Code) → Whilter Realtime at its default concurrency.
 * Real time applies: the request timeout is 1 s, Retry-After 1 s, the callback timeout 1 minute.
 * Not here (in-process only): Whilter Status and the Insider upload, and ZIPs past one S3 part (the
 * SIGKILL scenarios of kill.ts upload one in a real n8n).
 */
import { randomUUID } from 'node:crypto';

import type { IDataObject, INode } from 'n8n-workflow';

import { CUSTOM_PREFIX, nodeOutput, triggerUrl, activateWebhookWorkflow } from '../e2e/examples';
import { DEFAULT_N8N_VERSION, startN8n } from '../e2e/n8n';
import type { Execution, N8nHandle, WorkflowJson } from '../e2e/n8n';
import { DIST_DIR, ensurePackageBuilt } from '../e2e/package';
import { postJson, startManualRun, triggerWorkflow } from '../e2e/whilterFlows';
import type { CredentialRef } from '../e2e/whilterFlows';
import { bearer } from '../test/servers/http';
import { S3_TEST_KEYS } from '../test/servers/s3';
import { taskCallbackBody } from '../test/servers/whilter/callbacks';
import type { Task } from '../test/servers/whilter';
import { REQUEST_TIMEOUT_SECONDS, ledgerOf, realtimeIdsOf, rowsOf, secretsOf, startServers, stormFaultsOf, whilterCredentialData } from './campaign';
import type { CampaignOutcome, CampaignRunner, ExecutionOutcome, Servers, TriggerDelivery } from './campaign';
import type { CampaignPlan } from './plan';

/** Minutes the waiting Batch waits for its callback. */
const CALLBACK_TIMEOUT_MINUTES = 1;
/**
 * Real ms after which an execution counts as hung: the callback timeout, plus n8n's wait tracker
 * (it looks for due executions once a minute), plus a margin for a loaded machine.
 */
export const REAL_HUNG_AFTER_MS = Number(process.env.CHAOS_REAL_HUNG_AFTER_MS ?? (CALLBACK_TIMEOUT_MINUTES * 60 + 60 + 120) * 1000);
/** Whilter moves a task on every this many ms: the execution is waiting before the callback comes. */
const ADVANCE_MS = 700;
const CALLBACK_ATTEMPTS = 6;
const FINAL = ['success', 'error', 'crashed', 'canceled'];

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms));

function node(name: string, type: string, typeVersion: number, x: number, parameters: INode['parameters'], credentials?: INode['credentials']): INode {
	return { id: randomUUID(), name, type, typeVersion, position: [x, 0], parameters, ...(credentials ? { credentials } : {}) };
}

function chain(name: string, nodes: INode[]): WorkflowJson {
	const connections: WorkflowJson['connections'] = {};
	for (let i = 0; i + 1 < nodes.length; i++) connections[nodes[i].name] = { main: [[{ node: nodes[i + 1].name, type: 'main', index: 0 }]] };
	return { name, nodes, connections, settings: {} };
}

/** The error an execution ended with, as the public API shows it. */
function errorOfExecution(execution: Execution): ExecutionOutcome['error'] {
	if (execution.status === 'success') return undefined;
	const error = execution.data?.resultData.error as { message?: string; description?: string | null } | undefined;
	return { message: error?.message ?? `execution ended ${execution.status}`, description: error?.description ?? undefined };
}

export class RealN8nRunner implements CampaignRunner {
	readonly name = 'real-n8n';
	private n8n: N8nHandle | undefined;
	private starting: Promise<N8nHandle> | undefined;

	/** Starts n8n once, for every campaign of this runner. */
	private async ready(): Promise<N8nHandle> {
		this.starting ??= (async () => {
			await ensurePackageBuilt();
			this.n8n = await startN8n({ extensionsDir: DIST_DIR });
			return this.n8n;
		})();
		return await this.starting;
	}

	async close(): Promise<void> {
		await this.n8n?.stop();
	}

	async run(requested: CampaignPlan): Promise<CampaignOutcome> {
		const n8n = await this.ready();
		// Rows travel in the workflow itself here: no ZIP past one S3 part (kill.ts covers one).
		const plan: CampaignPlan = { ...requested, large: false };
		const servers = await startServers(plan, { autoAdvanceMs: ADVANCE_MS });
		const logMark = n8n.log().length;
		const workflowIds: string[] = [];
		try {
			return await this.campaign(n8n, plan, servers, workflowIds, logMark);
		} finally {
			for (const id of workflowIds) await n8n.raw('DELETE', `/api/v1/workflows/${id}`).catch(() => undefined);
			await servers.close();
		}
	}

	private async campaign(n8n: N8nHandle, plan: CampaignPlan, servers: Servers, workflowIds: string[], logMark: number): Promise<CampaignOutcome> {
		const { s3, whilter, insider, timepay } = servers;
		const secrets = secretsOf(plan);
		const whilterApi: CredentialRef = await n8n.createCredential(`Whilter ${plan.id}`, 'whilterApi', whilterCredentialData(plan, servers));
		const timePayApi: CredentialRef = await n8n.createCredential(`TimePay ${plan.id}`, 'timePayApi', { token: secrets.timepayToken, baseUrl: timepay.url });
		const rows = rowsOf(plan);
		const sent = rows.map((r) => String(r.phone));
		const extraFaults: string[] = [];
		if (plan.tokenUses !== undefined) extraFaults.push(`token-expiry-${plan.expiredTokenStatus}`);

		const trigger = triggerWorkflow({
			name: `chaos trigger ${plan.id}`,
			webhookId: randomUUID(),
			prefix: CUSTOM_PREFIX,
			parameters: { event: 'batchTask', authentication: 'none', confirmWithApi: true, statuses: ['completed'], output: 'rows', rowFilter: 'all', options: {} },
			whilterApi,
		});
		const triggerSaved = await n8n.importWorkflow(trigger);
		workflowIds.push(triggerSaved.id);
		const url = triggerUrl(n8n.url, trigger);
		await activateWebhookWorkflow(n8n, triggerSaved.id, url);

		const batchSaved = await n8n.importWorkflow(this.batchWorkflow(plan, rows, whilterApi, timePayApi));
		workflowIds.push(batchSaved.id);
		const executions: ExecutionOutcome[] = [];
		const deliveries: Array<{ status: number; error?: string }> = [];

		const began = Date.now();
		const executionId = await startManualRun(n8n, DEFAULT_N8N_VERSION, batchSaved.id);
		// Out of order: a "completed" callback reaches the Trigger while the task is still being made.
		let task: Task | undefined;
		let early: Promise<void> | undefined;
		while (!task && Date.now() - began < REAL_HUNG_AFTER_MS) {
			task = [...whilter.tasks.values()][0];
			const current = await n8n.raw('GET', `/api/v1/executions/${executionId}`);
			if (!task && current.status === 200 && FINAL.includes((current.body as Execution).status)) break;
			if (!task) await sleep(100);
		}
		if (task) {
			if (plan.callbacks === 'out-of-order') {
				extraFaults.push('callback-out-of-order');
				const created = task;
				early = (async () => void deliveries.push(await this.deliver(url, { ...taskCallbackBody(created, 'lower'), status: 'completed' })))();
			}
			// Late: the callback comes after the tokens the run used have expired, so n8n's confirmation needs a new one.
			if (plan.callbacks === 'late') {
				whilter.expireTokens();
				extraFaults.push('callback-late');
			}
		}
		const batch = await this.untilEnded(n8n, executionId, began, async () => {
			// Whilter's redelivery: while the resume URL did not answer 2xx, the callback comes again.
			if (!task || task.state !== 'completed') return;
			const sentToN8n = whilter.callbacks.filter((c) => c.taskId === task?.id);
			const last = sentToN8n.at(-1);
			if (last && (last.status ?? 0) >= 300 && sentToN8n.length < CALLBACK_ATTEMPTS && Date.now() - last.time > 1000) {
				extraFaults.push('callback-redelivered');
				await whilter.sendCallback({ taskId: task.id, url: last.url });
			}
		});
		executions.push(batch.outcome);
		let output: string[] = [];
		let statusCompleted = false;
		const batchRows = batch.execution ? nodeOutput(batch.execution, 'Whilter Batch') : [];
		if (batch.execution?.status === 'success' && !batchRows.some((r) => r['timed-out'] === true)) {
			statusCompleted = true;
			output = batchRows.map((r) => String(r.phone));
		}
		if (plan.callbacks === 'twice' && task) {
			// The same callback again to the resume URL after the execution went on: it must not resume it twice.
			const first = whilter.callbacks.find((c) => c.taskId === task?.id);
			if (first) {
				extraFaults.push('callback-twice');
				await whilter.sendCallback({ taskId: task.id, url: first.url });
			}
		}

		await early;
		if (task) {
			const until = Date.now() + 60_000;
			while (task.state !== 'completed' && Date.now() < until) await sleep(100);
			if (task.state === 'completed') {
				const body = taskCallbackBody(task, 'lower');
				deliveries.push(await this.deliver(url, body));
				if (plan.callbacks === 'twice') deliveries.push(await this.deliver(url, body));
			}
		}

		const realtimeSaved = await n8n.importWorkflow(this.realtimeWorkflow(plan, whilterApi));
		workflowIds.push(realtimeSaved.id);
		const realtimeBegan = Date.now();
		const realtime = await this.untilEnded(n8n, await startManualRun(n8n, DEFAULT_N8N_VERSION, realtimeSaved.id), realtimeBegan);
		executions.push(realtime.outcome);

		const triggerDeliveries = await this.triggerStarts(n8n, triggerSaved.id, task, deliveries);
		executions.push(...triggerDeliveries.executions);
		for (const server of [whilter, insider, timepay, s3]) server.faults.calm();
		const ledger = await ledgerOf(servers);
		const tokens = new Set(whilter.requests.map(bearer).filter((t): t is string => t !== undefined && t.length > 8));
		return {
			plan,
			runner: this.name,
			sent,
			output,
			statusCompleted,
			executions,
			triggerDeliveries: triggerDeliveries.deliveries,
			realtimeIds: realtimeIdsOf(plan),
			ledger,
			faults: stormFaultsOf(servers),
			secrets: [secrets.clientSecret, secrets.timepayToken, S3_TEST_KEYS.secretAccessKey, ...tokens],
			logText: n8n.log().slice(logMark),
			extraFaults,
		};
	}

	private batchWorkflow(plan: CampaignPlan, rows: IDataObject[], whilterApi: CredentialRef, timePayApi: CredentialRef): WorkflowJson {
		const nodes: INode[] = [
			node('Start', 'n8n-nodes-base.manualTrigger', 1, 0, {}),
			node('Rows', 'n8n-nodes-base.code', 2, 200, { jsCode: `return ${JSON.stringify(rows)}.map((json) => ({ json }));` }),
		];
		if (plan.input === 'file') nodes.push(node('To CSV', 'n8n-nodes-base.convertToFile', 1.1, 400, { operation: 'csv', binaryPropertyName: 'data', options: { fileName: 'customers.csv' } }));
		nodes.push(
			node(
				'Whilter Batch',
				`${CUSTOM_PREFIX}whilterBatch`,
				1,
				600,
				{
					inputSource: plan.input,
					...(plan.input === 'file' ? { binaryPropertyName: 'data' } : {}),
					identifierColumn: 'phone',
					templateId: 'T-CHAOS',
					campaignId: plan.id,
					options: { waitForCallback: true, callbackTimeout: CALLBACK_TIMEOUT_MINUTES },
				},
				{ whilterApi },
			),
			node(
				'TimePay',
				`${CUSTOM_PREFIX}timePayInitiate`,
				1,
				800,
				{
					campaign: { __rl: true, mode: 'list', value: 'camp-loans' },
					channel: 'whatsapp',
					templateId: 'hfu7VL6sBhI6NPm',
					initiate: 'once',
					audience: 'wholeCampaign',
					options: { requestTimeout: REQUEST_TIMEOUT_SECONDS },
				},
				{ timePayApi },
			),
		);
		return chain(`chaos batch ${plan.id}`, nodes);
	}

	private realtimeWorkflow(plan: CampaignPlan, whilterApi: CredentialRef): WorkflowJson {
		const users = Array.from({ length: plan.realtimeItems }, (_, i) => ({ user: `u${i}`, crid: `${plan.id}-rt-${i}` }));
		return chain(`chaos realtime ${plan.id}`, [
			node('Start', 'n8n-nodes-base.manualTrigger', 1, 0, {}),
			node('Users', 'n8n-nodes-base.code', 2, 200, { jsCode: `return ${JSON.stringify(users)}.map((json) => ({ json }));` }),
			node(
				'Whilter Realtime',
				`${CUSTOM_PREFIX}whilterRealtime`,
				1,
				400,
				{
					useCaseId: 'uc-1',
					userId: '={{ $json.user }}',
					customerId: 'acme-cust',
					clientRequestId: '={{ $json.crid }}',
					waitForMedia: true,
					checkInterval: 1,
					maxCheckInterval: 2,
					waitTimeout: 120,
					options: { requestTimeout: REQUEST_TIMEOUT_SECONDS },
				},
				{ whilterApi },
			),
		]);
	}

	/** Polls an execution until it ends (or counts it hung); `meanwhile` runs between polls. */
	private async untilEnded(n8n: N8nHandle, executionId: string, began: number, meanwhile?: () => Promise<void>): Promise<{ outcome: ExecutionOutcome; execution?: Execution }> {
		const name: ExecutionOutcome['name'] = meanwhile ? 'batch' : 'realtime';
		for (;;) {
			const res = await n8n.raw('GET', `/api/v1/executions/${executionId}?includeData=true`);
			if (res.status === 200) {
				const execution = res.body as Execution;
				if (execution.stoppedAt && FINAL.includes(execution.status) && (execution.status !== 'error' || execution.data?.resultData.error)) {
					const error = errorOfExecution(execution);
					const text = JSON.stringify(execution.data?.resultData ?? {});
					return { outcome: { name, ok: !error, error, hung: false, realMs: Date.now() - began, virtualMs: Date.now() - began, text }, execution };
				}
			}
			if (Date.now() - began > REAL_HUNG_AFTER_MS) {
				await n8n.raw('POST', `/rest/executions/${executionId}/stop`).catch(() => undefined);
				return { outcome: { name, ok: false, hung: true, realMs: Date.now() - began, virtualMs: Date.now() - began, text: '', error: { message: `${name} execution ${executionId} did not end within ${REAL_HUNG_AFTER_MS} ms` } } };
			}
			await meanwhile?.();
			await sleep(250);
		}
	}

	/** One callback POST to the Trigger's production URL, as Whilter sends it: again while the answer is not a 2xx. */
	private async deliver(url: string, body: Record<string, unknown>): Promise<{ status: number; error?: string }> {
		let status = 0;
		let error: string | undefined;
		for (let attempt = 0; attempt < CALLBACK_ATTEMPTS; attempt++) {
			try {
				const res = await postJson(url, body);
				status = res.status;
				error = status >= 300 ? res.text : undefined;
			} catch (thrown) {
				error = thrown instanceof Error ? thrown.message : String(thrown);
			}
			if (status > 0 && status < 300) break;
			await sleep(300);
		}
		return { status, error };
	}

	/** The Trigger's workflow runs (each a start, with its rows) and the deliveries n8n refused. */
	private async triggerStarts(
		n8n: N8nHandle,
		workflowId: string,
		task: Task | undefined,
		deliveries: Array<{ status: number; error?: string }>,
	): Promise<{ deliveries: TriggerDelivery[]; executions: ExecutionOutcome[] }> {
		const deadline = Date.now() + 60_000;
		let found: Execution[] = [];
		for (;;) {
			found = await n8n.executions(workflowId);
			if (found.every((e) => e.stoppedAt && FINAL.includes(e.status)) || Date.now() > deadline) break;
			await sleep(250);
		}
		const taskId = task?.id ?? '';
		// An execution whose Whilter Trigger itself failed (n8n saves it, and answers the POST with an error) started
		// nothing: Whilter sends that callback again. Only one the Trigger let through is a start.
		const result: TriggerDelivery[] = found.map((e) => {
			const error = errorOfExecution(e);
			return error
				? { taskId, status: 500, started: false, rows: [], error: `${error.message}${error.description ? ` — ${error.description}` : ''}` }
				: { taskId, status: 200, started: true, rows: nodeOutput(e, 'Whilter Trigger').map((r) => String(r.phone)) };
		});
		for (const d of deliveries) if (d.status >= 300 || d.status === 0) result.push({ taskId, status: d.status, started: false, rows: [], error: d.error });
		const executions: ExecutionOutcome[] = found.map((e) => {
			const error = errorOfExecution(e);
			return { name: 'trigger', ok: !error, error, hung: !e.stoppedAt, realMs: 0, virtualMs: 0, text: JSON.stringify(e.data?.resultData ?? {}) };
		});
		return { deliveries: result, executions };
	}
}
