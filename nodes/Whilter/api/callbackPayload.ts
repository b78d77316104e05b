import type { IDataObject, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { InputError } from '../../shared/errors';
import { pathSegment } from '../../shared/paths';
import { normaliseTaskState } from './taskStatus';
import type { TaskState } from './taskStatus';

/**
 * Whilter's callbacks, as read by the Whilter Trigger and by Whilter Batch's wait for completion.
 * Whilter does not document the batch callback's payload: it carries at least a task id, usually a
 * status. The real-time callback is documented as `{client-request-id, user-id, video-url}`.
 */

/** An answer that starts nothing: the HTTP status, a message for the caller, and any header to add. */
export interface Refusal {
	status: number;
	message: string;
	headers?: Record<string, string>;
}

/**
 * Answers a callback that starts nothing, from the Whilter Trigger or from Whilter Batch's resume
 * URL. Refusals are logged for the workflow's owner (a flood of them is worth seeing); never with secrets.
 */
export function refuseCallback(context: IWebhookFunctions, refusal: Refusal): IWebhookResponseData {
	context.logger.info(`${context.getNode().name} refused a callback with HTTP ${refusal.status}: ${refusal.message}`, { node: context.getNode().name });
	const res = context.getResponseObject();
	for (const [name, value] of Object.entries(refusal.headers ?? {})) res.setHeader(name, value);
	res.status(refusal.status).json({ message: refusal.message });
	return { noWebhookResponse: true };
}

/** What a batch callback claims. */
export interface BatchCallback {
	taskId: string;
	/** The claimed status, normalised; undefined when the payload names none. */
	status?: TaskState;
	/** The claimed status as sent (kept to compare words the normaliser does not know). */
	statusWord?: string;
	filePath?: string;
	/** The body as received. */
	payload: IDataObject;
}

export type RealtimeStatusWord = 'SUCCESS' | 'FAILURE' | 'PROCESSING';

/** The documented real-time callback `{client-request-id, user-id, video-url}`, plus what Whilter may add. */
export interface RealtimeCallback {
	clientRequestId: string;
	userId?: string;
	videoUrl?: string;
	imageUrl?: string;
	/** Not in the documented payload; when present the callback can be confirmed through GET /status/<id>. */
	whilterRequestId?: string;
	status?: RealtimeStatusWord;
	payload: IDataObject;
}

export type Parsed<T> = { value: T } | { refusal: Refusal };

/** Ids go into a status URL path: printable, no spaces, and not absurdly long. */
const ID_PATTERN = /^[\x21-\x7e]{1,256}$/;

/** Why an id cannot go into a status URL path (nodes/shared/paths.ts), or undefined. */
function pathProblem(id: string, label: string): string | undefined {
	try {
		pathSegment(id, label);
		return undefined;
	} catch (error) {
		return error instanceof InputError ? error.message : String(error);
	}
}

function bad(message: string): { refusal: Refusal } {
	return { refusal: { status: 400, message } };
}

function isPlainObject(value: unknown): value is IDataObject {
	return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** A string or a number as text (ids and user ids arrive as either); undefined for anything else or blank. */
function idText(value: unknown): string | undefined {
	if (typeof value === 'number' && Number.isFinite(value)) return String(value);
	if (typeof value === 'string' && value.trim() !== '') return value.trim();
	return undefined;
}

function firstPresent(body: IDataObject, keys: string[]): { key: string; value: unknown } | undefined {
	for (const key of keys) if (body[key] !== undefined && body[key] !== null) return { key, value: body[key] };
	return undefined;
}

function notAnObject(body: unknown): { refusal: Refusal } {
	const got = body === undefined || body === null || (isPlainObject(body) && Object.keys(body).length === 0) ? 'an empty body' : Array.isArray(body) ? 'a list' : `a ${typeof body}`;
	return bad(`The callback body must be a JSON object (Content-Type: application/json); got ${got}`);
}

/** Accepts `task-id` (the API's spelling), `taskId` or `task_id`, and an optional `status`. */
export function parseBatchCallback(body: unknown): Parsed<BatchCallback> {
	if (!isPlainObject(body) || Object.keys(body).length === 0) return notAnObject(body);
	const found = firstPresent(body, ['task-id', 'taskId', 'task_id']);
	if (!found) return bad('The callback names no task-id');
	const taskId = idText(found.value);
	if (taskId === undefined || !ID_PATTERN.test(taskId)) {
		return bad(`The callback's "${found.key}" must be a task ID (1–256 printable characters without spaces)`);
	}
	const unusable = pathProblem(taskId, found.key);
	if (unusable) return bad(`The callback's ${unusable}`);
	let status: TaskState | undefined;
	let statusWord: string | undefined;
	if (body.status !== undefined && body.status !== null) {
		if (typeof body.status !== 'string' || body.status.trim() === '') return bad('The callback\'s "status" must be a non-empty text');
		statusWord = body.status.trim();
		status = normaliseTaskState(statusWord);
	}
	const filePath = typeof body['file-path'] === 'string' && body['file-path'].trim() !== '' ? body['file-path'].trim() : undefined;
	return { value: { taskId, ...(status ? { status, statusWord } : {}), ...(filePath ? { filePath } : {}), payload: body } };
}

function optionalUrl(body: IDataObject, key: string): Parsed<string | undefined> {
	const value = body[key];
	if (value === undefined || value === null || value === '') return { value: undefined };
	if (typeof value !== 'string' || !/^https?:\/\/\S+$/i.test(value.trim())) return bad(`The callback's "${key}" must be an http(s) URL`);
	return { value: value.trim() };
}

export function normaliseRealtimeStatus(value: unknown): RealtimeStatusWord | undefined {
	const word = String(value ?? '').trim().toUpperCase();
	if (word === 'SUCCESS' || word === 'FAILURE' || word === 'PROCESSING') return word;
	return undefined;
}

/** The documented real-time callback: `client-request-id` required; `video-url` and `image-url` http(s) when present. */
export function parseRealtimeCallback(body: unknown): Parsed<RealtimeCallback> {
	if (!isPlainObject(body) || Object.keys(body).length === 0) return notAnObject(body);
	const clientRequestId = idText(body['client-request-id']);
	if (clientRequestId === undefined) return bad('The callback names no client-request-id');
	const video = optionalUrl(body, 'video-url');
	if ('refusal' in video) return video;
	const image = optionalUrl(body, 'image-url');
	if ('refusal' in image) return image;
	const idField = firstPresent(body, ['whilter-request-id', 'whilterRequestId']);
	let whilterRequestId: string | undefined;
	if (idField) {
		whilterRequestId = idText(idField.value);
		if (whilterRequestId === undefined || !ID_PATTERN.test(whilterRequestId)) {
			return bad(`The callback's "${idField.key}" must be a request ID (1–256 printable characters without spaces)`);
		}
		const unusable = pathProblem(whilterRequestId, idField.key);
		if (unusable) return bad(`The callback's ${unusable}`);
	}
	let status: RealtimeStatusWord | undefined;
	if (body.status !== undefined && body.status !== null) {
		status = normaliseRealtimeStatus(body.status);
		if (!status) return bad('The callback\'s "status" must be SUCCESS, FAILURE or PROCESSING');
	}
	const userId = idText(body['user-id']);
	return {
		value: {
			clientRequestId,
			...(userId !== undefined ? { userId } : {}),
			...(video.value ? { videoUrl: video.value } : {}),
			...(image.value ? { imageUrl: image.value } : {}),
			...(whilterRequestId ? { whilterRequestId } : {}),
			...(status ? { status } : {}),
			payload: body,
		},
	};
}
