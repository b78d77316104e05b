import { NodeOperationError } from 'n8n-workflow';
import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	IWebhookFunctions,
	IWebhookResponseData,
	IWorkflowExecutionCustomData,
} from 'n8n-workflow';

import { InputError } from '../../shared/errors';
import { parseBatchCallback, refuseCallback } from '../api/callbackPayload';
import { readTaskResultRows } from '../api/resultFile';
import { largeTaskRowsIn, webhookResultLimits } from '../api/resultLimits';
import type { ResultRowFilter } from '../api/rowFilter';
import { getTaskStatus } from '../api/taskApi';
import { statusForOutput } from '../api/taskStatus';

/**
 * "Submit and wait" for Whilter Batch: the task is created with this execution's resume URL as its
 * callback, the execution waits (n8n keeps nothing in memory meanwhile, so it survives restarts and
 * runs unchanged in queue mode), and Whilter's POST resumes it through the node's webhook().
 *
 * The task the execution waits for is kept in the execution's custom data (persisted with the
 * waiting execution, and visible in the executions list to find the task again after a timeout).
 * The callback is trusted only for that task, and only once the status API confirms it completed:
 * anything else is answered with a 4xx/5xx and the execution keeps waiting.
 */

/** Custom data keys may hold letters, digits and underscores, 50 characters at most. */
export function taskCustomDataKey(nodeId: string): string {
	return `whilter_task_${String(nodeId).replace(/[^A-Za-z0-9]/g, '')}`.slice(0, 50);
}

const SUBMITTING = 'submitting';

/**
 * The execution's custom data. n8n 2 gives it to nodes as `customData`; n8n 1.x only as
 * `$execution.customData` (what expressions and the Code node use), reached through the data proxy.
 */
function customDataOf(context: IExecuteFunctions): IWorkflowExecutionCustomData {
	const own = (context as Partial<Pick<IExecuteFunctions, 'customData'>>).customData;
	if (own) return own;
	const proxy = context.getWorkflowDataProxy(0) as { $execution?: { customData?: IWorkflowExecutionCustomData } };
	const fromProxy = proxy.$execution?.customData;
	if (fromProxy) return fromProxy;
	throw new NodeOperationError(context.getNode(), 'Cannot wait for the completion callback: this version of n8n gives nodes no execution custom data', {
		itemIndex: 0,
		description: 'The node keeps the task ID there to match Whilter\'s callback. Set a Callback URL instead (e.g. a Whilter Trigger\'s production URL), or update n8n.',
	});
}

/** The task a waiting execution expects, read by the resume webhook (n8n 1.x: through `$execution.customData`, see customDataOf). */
function expectedTaskOf(context: IWebhookFunctions, key: string): string | undefined {
	const own = (context as Partial<Pick<IWebhookFunctions, 'customData'>>).customData;
	if (own) return own.get(key);
	try {
		// The key holds letters, digits and underscores only (taskCustomDataKey).
		const value = context.evaluateExpression(`{{ $execution.customData.get("${key}") }}`);
		return typeof value === 'string' ? value : undefined;
	} catch {
		return undefined;
	}
}

/** Before anything is sent: n8n keeps at most 10 custom data entries; without ours the callback could never be matched. */
export function reserveTaskSlot(context: IExecuteFunctions): string {
	const key = taskCustomDataKey(context.getNode().id);
	const customData = customDataOf(context);
	customData.set(key, SUBMITTING);
	if (customData.get(key) !== SUBMITTING) {
		throw new NodeOperationError(context.getNode(), 'Cannot wait for the completion callback: this execution\'s custom data is full (n8n keeps 10 entries)', {
			itemIndex: 0,
			description: 'The node stores the task ID there to match Whilter\'s callback. Set fewer custom data entries before this node.',
		});
	}
	return key;
}

export function resumeUrlOf(context: IExecuteFunctions): string {
	const url = String(context.evaluateExpression('{{ $execution.resumeUrl }}', 0) ?? '');
	if (!/^https?:\/\//i.test(url)) {
		throw new NodeOperationError(context.getNode(), `Cannot wait for the completion callback: n8n gave no resume URL for this execution (got "${url}")`, {
			itemIndex: 0,
		});
	}
	return url;
}

export function waitTillOf(context: IExecuteFunctions, timeoutMinutes: number): Date {
	const minutes = Number(timeoutMinutes);
	if (!Number.isFinite(minutes) || minutes <= 0) {
		throw new NodeOperationError(context.getNode(), `"Callback Timeout (Minutes)" must be a number above 0, got ${String(timeoutMinutes)}`, { itemIndex: 0 });
	}
	return new Date(Date.now() + minutes * 60_000);
}

/** After the task was created: remember it, and put the execution to wait for Whilter's callback. */
export async function waitForCallback(context: IExecuteFunctions, key: string, output: INodeExecutionData[], waitTill: Date): Promise<INodeExecutionData[]> {
	const taskId = output[0]?.json['task-id'];
	// No task (a failure turned into an output item by "continue on fail"): nothing to wait for.
	if (typeof taskId !== 'string' || taskId === '') return output;
	customDataOf(context).set(key, taskId);
	output[0].json = { ...output[0].json, 'waiting-for-callback': true, 'wait-till': waitTill.toISOString() };
	standInForInputOnTimeout(context, output[0].json, waitTill);
	await context.putExecutionToWait(waitTill);
	return output;
}

/**
 * When the wait ends by time, n8n resumes the execution with the waiting node switched off, and a
 * switched-off node passes its input items on: the customer rows would reach the next nodes as if
 * they were the task's results (a WhatsApp step would then message customers who have no media).
 * The input kept with the waiting execution is this node's own list, so it is replaced here by one
 * item that says what happened; a confirmed callback replaces it with the result rows instead.
 */
function standInForInputOnTimeout(context: IExecuteFunctions, summary: IDataObject, waitTill: Date): void {
	const input = context.getInputData();
	const timedOut: INodeExecutionData = {
		json: {
			...summary,
			'waiting-for-callback': false,
			'timed-out': true,
			message: `No confirmed completion callback for task ${String(summary['task-id'])} before ${waitTill.toISOString()} (the Callback Timeout): no result rows. Look the task up with Whilter Status (Get, then Get Results).`,
		},
		pairedItem: { item: 0 },
	};
	input.splice(0, input.length, timedOut);
}

/**
 * Whilter's callback on the resume URL. The URL carries n8n's resume token, but the payload is
 * undocumented and a leaked URL is a way in: the execution resumes only for the task it submitted,
 * confirmed completed by the status API, and then outputs the task's result rows.
 */
export async function resumeOnCallback(context: IWebhookFunctions, options: { rows: ResultRowFilter; statusPath?: string }): Promise<IWebhookResponseData> {
	const expected = expectedTaskOf(context, taskCustomDataKey(context.getNode().id));
	if (!expected || expected === SUBMITTING) return refuseCallback(context, { status: 409, message: 'This execution is not waiting for a Whilter task' });
	// The same reading of the payload as the Whilter Trigger's.
	const parsed = parseBatchCallback(context.getBodyData());
	if ('refusal' in parsed) return refuseCallback(context, parsed.refusal);
	if (parsed.value.taskId !== expected) return refuseCallback(context, { status: 403, message: 'The callback is for another task than the one this execution waits for' });

	let status;
	try {
		status = await getTaskStatus.call(context, { taskId: expected, statusPath: options.statusPath, statusPathLabel: 'Options → Status Path' });
	} catch (error) {
		// The node's own Status Path option is wrong: only the workflow's owner can fix that.
		if (error instanceof InputError) return refuseCallback(context, { status: 500, message: `The callback cannot be confirmed: ${error.message}` });
		// Unconfirmed is not trusted; the execution keeps waiting for a callback that can be confirmed.
		return refuseCallback(context, { status: 503, message: 'The callback could not be confirmed against the Whilter status API; try again' });
	}
	if (status.status === 'failed' || status.status === 'cancelled') {
		throw new NodeOperationError(context.getNode(), `Whilter task ${expected} ended "${status.status}"${status.message ? `: ${status.message}` : ''}`, {
			description: 'The callback was confirmed against the status API; no results to read',
		});
	}
	if (status.status !== 'completed') {
		return refuseCallback(context, { status: 409, message: `Task ${expected} is "${statusForOutput(status.status, status.response.status)}" according to the status API, not completed` });
	}
	const filePath = status['file-path'];
	if (!filePath) throw new NodeOperationError(context.getNode(), `Whilter task ${expected} is completed but the status API gives no "file-path" for its results`);
	const read = await readTaskResultRows.call(context, { filePath, filter: options.rows, ...webhookResultLimits(context) });
	if ('tooMany' in read) {
		// Failed, not left waiting: a waiting execution keeps its settings, so no later callback could resume it.
		throw new NodeOperationError(context.getNode(), `Whilter task ${expected} has ${read.tooMany} (Max Result Rows): the execution was not resumed with a partial list`, {
			description: `Read them with ${largeTaskRowsIn(expected)}.`,
		});
	}
	const rows = read.rows;
	return { workflowData: [rows.map((json) => ({ json }))], webhookResponse: { message: 'Execution resumed', 'task-id': expected, rows: rows.length } };
}
