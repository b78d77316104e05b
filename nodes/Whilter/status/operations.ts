import { NodeOperationError } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import type { ItemOutput } from '../../shared/perItem';
import { readPollSchedule } from '../../shared/poll';
import type { PollSchedule } from '../../shared/poll';
import { TASK_CANCEL_PATH, TASK_STATUS_PATH, taskIdPath } from '../api/endpoints';
import { readTaskResultFile, streamTaskResultRows } from '../api/resultFile';
import { DEFAULT_MAX_FIELD_KB, maxFieldBytesOf } from '../api/resultLimits';
import type { ResultRowFilter } from '../api/rowFilter';
import { cancelTask, getTaskStatus } from '../api/taskApi';
import { statusForOutput } from '../api/taskStatus';
import type { TaskStatus } from '../api/taskStatus';
import { waitForTask, waitTimeoutError } from './waitForTask';
import type { OnTimeout } from './waitForTask';

export const STATUS_OPERATIONS = ['get', 'wait', 'getResults', 'cancel'] as const;
export type StatusOperation = (typeof STATUS_OPERATIONS)[number];

export const POLL_DEFAULTS = { checkInterval: 5, maxCheckInterval: 60, waitTimeout: 3600 };

/** One item's request, read and checked before any item is sent. */
export interface StatusPlan {
	operation: StatusOperation;
	taskId: string;
	/** The status or cancel path template, checked. */
	path: string;
	/** Present when the operation waits for a final state. */
	wait?: { schedule: PollSchedule; onTimeout: OnTimeout };
	/** Get Results: the largest field of the output file read as items, in bytes. */
	maxFieldBytes?: number;
}

function statusJson(status: TaskStatus, extra: IDataObject = {}): IDataObject {
	return { ...(status as unknown as IDataObject), status: statusForOutput(status.status, status.response.status), ...extra };
}

export function planStatusItem(context: IExecuteFunctions, operation: StatusOperation, itemIndex: number): StatusPlan {
	const taskId = String(context.getNodeParameter('taskId', itemIndex, '') ?? '').trim();
	const [name, label, fallback] =
		operation === 'cancel'
			? ['options.cancelPath', 'Options → Cancel Path', TASK_CANCEL_PATH]
			: ['options.statusPath', 'Options → Status Path', TASK_STATUS_PATH];
	const path = String(context.getNodeParameter(name, itemIndex, fallback));
	// The path and the task ID are checked now, so a bad item never costs a request.
	taskIdPath(path, label, taskId);
	const waits = operation === 'wait' || (operation === 'getResults' && context.getNodeParameter('waitForCompletion', itemIndex, false) === true);
	return {
		operation,
		taskId,
		path,
		...(waits
			? {
					wait: {
						schedule: readPollSchedule(context, itemIndex, POLL_DEFAULTS),
						onTimeout: context.getNodeParameter('onTimeout', itemIndex, 'error') as OnTimeout,
					},
				}
			: {}),
		...(operation === 'getResults' ? { maxFieldBytes: maxFieldBytesOf(context.getNodeParameter('options.maxFieldSize', itemIndex, DEFAULT_MAX_FIELD_KB)) } : {}),
	};
}

/**
 * The status now, or after waiting for a final state. A timed-out wait gives the last status as
 * `timedOut` when the user asked for it instead of an error.
 */
async function statusOf(context: IExecuteFunctions, plan: StatusPlan, itemIndex: number): Promise<{ status: TaskStatus; timedOut?: IDataObject }> {
	const { taskId, path: statusPath } = plan;
	if (!plan.wait) return { status: await getTaskStatus.call(context, { taskId, statusPath, itemIndex }) };
	const outcome = await waitForTask.call(context, { taskId, statusPath, itemIndex, schedule: plan.wait.schedule });
	if (outcome.state === 'done') return { status: outcome.value };
	// 'cancelled' was thrown by waitForTask: only a timeout is left.
	const last = outcome.state === 'timeout' ? outcome.last : undefined;
	if (!last) throw new NodeOperationError(context.getNode(), `Item ${itemIndex}: no status of task ${taskId} was received`, { itemIndex });
	if (plan.wait.onTimeout === 'error') throw waitTimeoutError(context, taskId, last, outcome.elapsedMs, itemIndex);
	return { status: last, timedOut: statusJson(last, { 'timed-out': true, 'waited-seconds': Math.round(outcome.elapsedMs / 1000) }) };
}

async function getResults(context: IExecuteFunctions, plan: StatusPlan, itemIndex: number): Promise<ItemOutput[]> {
	const { taskId } = plan;
	const { status, timedOut } = await statusOf(context, plan, itemIndex);
	if (timedOut) return [{ json: timedOut }];
	if (status.status !== 'completed') {
		throw new NodeOperationError(context.getNode(), `Item ${itemIndex}: task ${taskId} is "${status.status}", not completed: its results are not ready`, {
			itemIndex,
			description: plan.wait
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
		return [{ json: statusJson(status), binary: { [property]: binary } }];
	}
	const filter = context.getNodeParameter('rowFilter', itemIndex, 'all') as ResultRowFilter;
	const out: ItemOutput[] = [];
	// Rows become items as they arrive: the file is never held, only the items n8n passes on.
	for await (const row of streamTaskResultRows.call(context, { filePath, filter, itemIndex, maxFieldBytes: plan.maxFieldBytes })) out.push({ json: row, pairedItem: undefined });
	return out;
}

/** One input item's work: one operation on its task, and the items it gives. */
export async function runStatusOperation(context: IExecuteFunctions, plan: StatusPlan, itemIndex: number): Promise<ItemOutput[]> {
	const { operation, taskId } = plan;
	if (operation === 'cancel') return [{ json: await cancelTask.call(context, { taskId, cancelPath: plan.path, itemIndex }) }];
	if (operation === 'getResults') return await getResults(context, plan, itemIndex);
	const { status, timedOut } = await statusOf(context, plan, itemIndex);
	return [{ json: timedOut ?? statusJson(status) }];
}
