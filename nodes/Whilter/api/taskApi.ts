import type { IDataObject } from 'n8n-workflow';

import { TASK_CANCEL_PATH, TASK_PATH, TASK_STATUS_PATH, taskIdPath, taskPathOption } from './endpoints';
import { parseTaskStatus } from './taskStatus';
import type { TaskStatus } from './taskStatus';
import { whilterApiRequest } from './transport';
import type { WhilterContext, WhilterCredentials } from './transport';

/** The batch task API: create (`POST /<client>/task`), status and cancel. */

/** The field the callback URL goes in unless the node's Callback Field Name says otherwise. */
export const DEFAULT_CALLBACK_FIELD = 'callback-url';

/** How `priority` is sent: a JSON number (the public API's variant), its digits as text, or not at all. */
export type PriorityForm = 'number' | 'text' | 'omit';

export const PRIORITY_FORMS: readonly PriorityForm[] = ['number', 'text', 'omit'];

/** The task body Whilter documents for `POST /<client>/task`, plus the public variant's priority and callback URL. */
export interface BatchTaskRequest {
	clientId: string;
	campaignId: string;
	templateId: string;
	fileName: string;
	/** The ZIP's location in the form the account takes (key, s3:// or https URL). */
	filePath: string;
	rowCount: number;
	expectedOutputDuration: number;
	priority?: number;
	/** Default 'number'. */
	priorityForm?: PriorityForm;
	callbackUrl?: string;
	/** Default DEFAULT_CALLBACK_FIELD. */
	callbackField?: string;
	/** The node's "Task Path" option; the default endpoint when absent. */
	taskPath?: string;
	itemIndex?: number;
}

export function batchTaskBody(request: BatchTaskRequest): IDataObject {
	const body: IDataObject = {
		'client-id': request.clientId,
		'campaign-id': request.campaignId,
		'template-id': request.templateId,
		'file-name': request.fileName,
		'file-path': request.filePath,
		'row-count': request.rowCount,
		'expected-output-duration': request.expectedOutputDuration,
	};
	const priorityForm = request.priorityForm ?? 'number';
	if (request.priority !== undefined && priorityForm !== 'omit') body.priority = priorityForm === 'text' ? String(request.priority) : request.priority;
	if (request.callbackUrl) body[request.callbackField?.trim() || DEFAULT_CALLBACK_FIELD] = request.callbackUrl;
	return body;
}

/** The body's client-id: the client ID of the credential, or its client path segment with a static token. */
export function whilterClientId(credentials: WhilterCredentials): string {
	return String(credentials.clientId || credentials.client || '').trim();
}

/** Sent once: the transport never retries a POST, so one execution never makes two tasks. */
export async function createBatchTask(this: WhilterContext, request: BatchTaskRequest): Promise<IDataObject> {
	return await whilterApiRequest.call(this, {
		method: 'POST',
		path: taskPathOption(request.taskPath?.trim() || TASK_PATH, 'Task Path'),
		clientScoped: true,
		body: batchTaskBody(request),
		itemIndex: request.itemIndex,
	});
}

/** `GET /<client>/task/status/<task-id>`, normalised (both documented answers). */
export async function getTaskStatus(
	this: WhilterContext,
	options: { taskId: string; statusPath?: string; statusPathLabel?: string; itemIndex?: number },
): Promise<TaskStatus> {
	const raw = await whilterApiRequest.call(this, {
		method: 'GET',
		path: taskIdPath(options.statusPath || TASK_STATUS_PATH, options.statusPathLabel ?? 'Status Path', options.taskId),
		clientScoped: true,
		itemIndex: options.itemIndex,
	});
	return parseTaskStatus(raw, options.taskId);
}

/** `POST /image/task/cancel/<task-id>`: sent once, like every POST of the package. */
export async function cancelTask(
	this: WhilterContext,
	options: { taskId: string; cancelPath?: string; itemIndex?: number },
): Promise<IDataObject> {
	const raw = await whilterApiRequest.call(this, {
		method: 'POST',
		path: taskIdPath(options.cancelPath || TASK_CANCEL_PATH, 'Cancel Path', options.taskId),
		clientScoped: false,
		itemIndex: options.itemIndex,
	});
	return {
		'task-id': String(raw['task-id'] ?? options.taskId),
		...(raw.status !== undefined ? { status: String(raw.status) } : {}),
		...(typeof raw.message === 'string' ? { message: raw.message } : {}),
		cancelled: true,
		response: raw,
	};
}
