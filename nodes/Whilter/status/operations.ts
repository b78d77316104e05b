import { NodeOperationError } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { asNodeError } from '../../shared/errors';
import { readTaskResultFile, streamTaskResultRows } from '../results/taskResults';
import type { ResultRowFilter } from '../results/rowFilter';
import type { TaskStatus } from '../taskStatus';
import { cancelTask, DEFAULT_CANCEL_PATH, DEFAULT_STATUS_PATH, getTaskStatus, requireTaskId } from './taskApi';
import { waitForTask, waitTimeoutError } from './waitForTask';
import type { WaitSettings } from './waitForTask';

export type StatusOperation = 'get' | 'wait' | 'getResults' | 'cancel';

function statusJson(status: TaskStatus, extra: IDataObject = {}): IDataObject {
	return { ...(status as unknown as IDataObject), ...extra };
}

function waitSettings(context: IExecuteFunctions, itemIndex: number): WaitSettings {
	return {
		firstIntervalSeconds: Number(context.getNodeParameter('checkInterval', itemIndex, 5)),
		maxIntervalSeconds: Number(context.getNodeParameter('maxCheckInterval', itemIndex, 60)),
		timeoutSeconds: Number(context.getNodeParameter('timeout', itemIndex, 3600)),
		onTimeout: context.getNodeParameter('onTimeout', itemIndex, 'error') as WaitSettings['onTimeout'],
	};
}

/**
 * The status now, or after waiting for a final state. `undefined` status with a timeout item means
 * the wait ran out and the user asked for the last status as output instead of an error.
 */
async function statusOf(
	context: IExecuteFunctions,
	taskId: string,
	statusPath: string,
	itemIndex: number,
	wait: boolean,
): Promise<{ status: TaskStatus; timedOutItem?: IDataObject }> {
	if (!wait) return { status: await getTaskStatus.call(context, { taskId, statusPath, itemIndex }) };
	const settings = waitSettings(context, itemIndex);
	const outcome = await waitForTask.call(context, { taskId, statusPath, itemIndex, settings });
	if (outcome.state === 'done') return { status: outcome.value };
	// 'cancelled' was thrown by waitForTask: only a timeout is left.
	const last = outcome.state === 'timeout' ? outcome.last : undefined;
	if (!last) throw new NodeOperationError(context.getNode(), `Item ${itemIndex}: no status of task ${taskId} was received`, { itemIndex });
	if (settings.onTimeout === 'error') throw waitTimeoutError(context, taskId, last, outcome.elapsedMs, itemIndex);
	return { status: last, timedOutItem: statusJson(last, { 'timed-out': true, 'waited-seconds': Math.round(outcome.elapsedMs / 1000) }) };
}

async function getResults(context: IExecuteFunctions, taskId: string, statusPath: string, itemIndex: number): Promise<INodeExecutionData[]> {
	const pairedItem = { item: itemIndex };
	const wait = context.getNodeParameter('waitForCompletion', itemIndex, false) as boolean;
	const { status, timedOutItem } = await statusOf(context, taskId, statusPath, itemIndex, wait);
	if (timedOutItem) return [{ json: timedOutItem, pairedItem }];
	if (status.status !== 'completed') {
		throw new NodeOperationError(context.getNode(), `Item ${itemIndex}: task ${taskId} is "${status.status}", not completed: its results are not ready`, {
			itemIndex,
			description: wait
				? `Whilter says: ${status.message ?? status.status}`
				: 'Turn on "Wait for Completion" to wait for the task first, or run this node again once Whilter has finished',
		});
	}
	const filePath = status['file-path'];
	if (!filePath) {
		throw new NodeOperationError(context.getNode(), `Item ${itemIndex}: task ${taskId} is completed but Whilter gave no "file-path" for its results`, { itemIndex });
	}
	const format = context.getNodeParameter('resultFormat', itemIndex, 'items') as 'items' | 'binary';
	if (format === 'binary') {
		const property = String(context.getNodeParameter('binaryPropertyName', itemIndex, 'data')).trim() || 'data';
		const binary = await readTaskResultFile.call(context, { filePath, itemIndex });
		return [{ json: statusJson(status), binary: { [property]: binary }, pairedItem }];
	}
	const filter = context.getNodeParameter('rowFilter', itemIndex, 'all') as ResultRowFilter;
	const out: INodeExecutionData[] = [];
	// Rows become items as they arrive: the file is never held, only the items n8n passes on.
	for await (const row of streamTaskResultRows.call(context, { filePath, filter, itemIndex })) out.push({ json: row, pairedItem });
	return out;
}

/** One input item's work: its task ID, one operation, and the items it gives. */
export async function runStatusOperation(context: IExecuteFunctions, operation: StatusOperation, itemIndex: number): Promise<INodeExecutionData[]> {
	const pairedItem = { item: itemIndex };
	const taskId = requireTaskId(context, context.getNodeParameter('taskId', itemIndex, ''), itemIndex);
	if (operation === 'cancel') {
		const cancelPath = String(context.getNodeParameter('cancelPath', itemIndex, DEFAULT_CANCEL_PATH));
		return [{ json: await cancelTask.call(context, { taskId, cancelPath, itemIndex }), pairedItem }];
	}
	const statusPath = String(context.getNodeParameter('statusPath', itemIndex, DEFAULT_STATUS_PATH));
	if (operation === 'getResults') return await getResults(context, taskId, statusPath, itemIndex);
	const { status, timedOutItem } = await statusOf(context, taskId, statusPath, itemIndex, operation === 'wait');
	return [{ json: timedOutItem ?? statusJson(status), pairedItem }];
}

/** Every input item on its own (several task IDs), each failure stopping the node or, with "continue on fail", becoming that item's output. */
export async function runStatusNode(context: IExecuteFunctions): Promise<INodeExecutionData[]> {
	const operation = context.getNodeParameter('operation', 0, 'get') as StatusOperation;
	const out: INodeExecutionData[] = [];
	const count = context.getInputData().length;
	for (let itemIndex = 0; itemIndex < count; itemIndex++) {
		try {
			for (const item of await runStatusOperation(context, operation, itemIndex)) out.push(item);
		} catch (error) {
			const nodeError = asNodeError(context.getNode(), error, itemIndex);
			if (!context.continueOnFail()) throw nodeError;
			out.push({ json: { error: nodeError.message }, pairedItem: { item: itemIndex } });
		}
	}
	return out;
}
