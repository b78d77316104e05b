import { configuredPath, fillPath } from '../../shared/paths';

/**
 * Whilter's endpoints as the nodes call them by default. Every path the user may change in a
 * node's options is checked by the same rule (nodes/shared/paths.ts), and every id goes into a path
 * through `fillPath`.
 */
export const TASK_ID_PLACEHOLDER = '{taskId}';
export const REQUEST_ID_PLACEHOLDER = '{whilterRequestId}';

/** `POST /<client>/task`: creates a batch task. */
export const TASK_PATH = '/task';
/** `GET /<client>/task/status/<task-id>`. */
export const TASK_STATUS_PATH = `/task/status/${TASK_ID_PLACEHOLDER}`;
/** `POST /image/task/cancel/<task-id>`: not under /<client>. */
export const TASK_CANCEL_PATH = `/image/task/cancel/${TASK_ID_PLACEHOLDER}`;
/** `POST /video/request`: one real-time video or image (Whilter's public docs also show /video/demo). */
export const REALTIME_REQUEST_PATH = '/video/request';
/** `GET /status/<whilter-request-id>`: the real-time status, not under /<client>. */
export const REALTIME_STATUS_PATH = `/status/${REQUEST_ID_PLACEHOLDER}`;

export const TASK_ID_LABEL = 'Task ID';
export const REQUEST_ID_LABEL = 'whilter-request-id';
const TASK_ID_SOURCE = 'Map the task-id field of Whilter Batch\'s output, e.g. {{ $json["task-id"] }}';

/** A user's task path option (no id in it). */
export function taskPathOption(value: unknown, parameter: string): string {
	return configuredPath(value ?? TASK_PATH, parameter);
}

/** A status or cancel path option with its task id filled in. */
export function taskIdPath(template: unknown, parameter: string, taskId: unknown): string {
	return fillPath(configuredPath(template, parameter, TASK_ID_PLACEHOLDER), TASK_ID_PLACEHOLDER, taskId, TASK_ID_LABEL, TASK_ID_SOURCE);
}

/** A real-time status path option with its whilter-request-id filled in. */
export function requestIdPath(template: unknown, parameter: string, requestId: unknown): string {
	return fillPath(configuredPath(template, parameter, REQUEST_ID_PLACEHOLDER), REQUEST_ID_PLACEHOLDER, requestId, REQUEST_ID_LABEL);
}
