/**
 * Callback POSTs: the one a completed task sends to its `callback-url`, and the ones tests send on
 * demand (sendCallback, sendRealtimeCallback). Each is recorded in `callbacks` with the receiver's answer.
 */
import type { WhilterContext } from './state';
import { callbackWord } from './statusWords';
import type { CallbackRecord, StatusVariant, Task } from './types';

/** Whilter's task callback payload, its status word in the variant's words. */
export function taskCallbackBody(task: Task, variant: StatusVariant): Record<string, unknown> {
	return { 'task-id': task.id, status: callbackWord(variant, task), 'file-path': task.outputLocation ?? task.outputKey, count: task.rows, message: 'Task completed' };
}

/** One callback POST, recorded in `callbacks`; a network error is recorded, not thrown. */
export async function postCallback(ctx: WhilterContext, id: string, url: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<CallbackRecord> {
	const record: CallbackRecord = { taskId: id, url, body, time: Date.now() };
	ctx.callbacks.push(record);
	try {
		const response = await fetch(url, {
			method: 'POST',
			headers: { 'content-type': 'application/json', ...headers },
			body: JSON.stringify(body),
			// A receiver that never answers must not hang advance() (and the test) forever.
			signal: AbortSignal.timeout(15_000),
		});
		record.responseText = await response.text();
		record.status = response.status;
	} catch (error) {
		record.error = error instanceof Error ? error.message : String(error);
	}
	return record;
}

/** A task's callback sent now, to any URL; `body` replaces the payload, which also allows ids the server never issued. */
export async function sendTaskCallback(
	ctx: WhilterContext,
	{ taskId, url, headers, body }: { taskId: string; url: string; headers?: Record<string, string>; body?: Record<string, unknown> },
): Promise<CallbackRecord> {
	const task = ctx.tasks.get(taskId);
	const payload = body ?? (task ? taskCallbackBody(task, ctx.statusVariant) : undefined);
	if (!payload) throw new Error(`Unknown task ${taskId}`);
	return await postCallback(ctx, taskId, url, payload, headers);
}
