import { NodeOperationError } from 'n8n-workflow';
import type { IDataObject } from 'n8n-workflow';

import { parseTaskStatus } from '../taskStatus';
import type { TaskStatus } from '../taskStatus';
import { whilterApiRequest } from '../transport';
import type { WhilterContext } from '../transport';

export const DEFAULT_STATUS_PATH = '/task/status/{taskId}';
/** Public docs: `POST /image/task/cancel/<task-id>`, not under `/<client>`. */
export const DEFAULT_CANCEL_PATH = '/image/task/cancel/{taskId}';

/** Fills `{taskId}` in a path (URL-encoded); a path without the placeholder gets the ID appended. */
export function taskPath(template: string, taskId: string): string {
	const path = String(template ?? '').trim();
	const id = encodeURIComponent(taskId);
	if (path.includes('{taskId}')) return path.split('{taskId}').join(id);
	return `${path.replace(/\/+$/, '')}/${id}`;
}

export function requireTaskId(context: WhilterContext, value: unknown, itemIndex: number): string {
	const taskId = String(value ?? '').trim();
	if (!taskId) {
		throw new NodeOperationError(context.getNode(), `Item ${itemIndex}: "Task ID" is empty`, {
			itemIndex,
			description: 'Map the task-id field of Whilter Batch\'s output, e.g. {{ $json["task-id"] }}',
		});
	}
	return taskId;
}

/** `GET /<client>/task/status/<task-id>`, normalised (both documented answers). */
export async function getTaskStatus(
	this: WhilterContext,
	options: { taskId: string; statusPath?: string; itemIndex?: number },
): Promise<TaskStatus> {
	const raw = await whilterApiRequest.call(this, {
		method: 'GET',
		path: taskPath(options.statusPath || DEFAULT_STATUS_PATH, options.taskId),
		clientScoped: true,
		itemIndex: options.itemIndex,
	});
	return parseTaskStatus(raw, options.taskId);
}

/** `POST /image/task/cancel/<task-id>`: sent once (a cancel is not retried blindly, like every POST of the package). */
export async function cancelTask(
	this: WhilterContext,
	options: { taskId: string; cancelPath?: string; itemIndex?: number },
): Promise<IDataObject> {
	const raw = await whilterApiRequest.call(this, {
		method: 'POST',
		path: taskPath(options.cancelPath || DEFAULT_CANCEL_PATH, options.taskId),
		clientScoped: false,
		itemIndex: options.itemIndex,
	});
	return {
		'task-id': String(raw['task-id'] ?? options.taskId),
		...(raw.status !== undefined ? { status: String(raw.status) } : {}),
		...(typeof raw.message === 'string' ? { message: raw.message } : {}),
		cancelled: true,
		raw,
	};
}
