import { NodeOperationError } from 'n8n-workflow';
import type { IExecuteFunctions } from 'n8n-workflow';

import { pollUntil } from '../../shared/poll';
import type { PollOutcome, PollSchedule } from '../../shared/poll';
import type { TaskState, TaskStatus } from '../taskStatus';
import { getTaskStatus } from './taskApi';

/** States a task does not leave: waiting ends on any of them. */
export const FINAL_STATES: ReadonlySet<TaskState> = new Set(['completed', 'failed', 'cancelled']);

export type OnTimeout = 'error' | 'outputLastStatus';

export interface WaitSettings {
	firstIntervalSeconds: number;
	maxIntervalSeconds: number;
	timeoutSeconds: number;
	onTimeout: OnTimeout;
}

export function isFinal(status: TaskStatus): boolean {
	return FINAL_STATES.has(status.status);
}

/** The node's seconds as the poller's schedule, checked so a typo does not poll in a tight loop. */
export function pollSchedule(context: IExecuteFunctions, settings: WaitSettings, itemIndex: number): PollSchedule {
	const fields: Array<[keyof WaitSettings, string]> = [
		['firstIntervalSeconds', 'Check Interval (Seconds)'],
		['maxIntervalSeconds', 'Longest Check Interval (Seconds)'],
		['timeoutSeconds', 'Timeout (Seconds)'],
	];
	for (const [key, label] of fields) {
		const value = Number(settings[key]);
		if (!Number.isFinite(value) || value <= 0) {
			throw new NodeOperationError(context.getNode(), `Item ${itemIndex}: "${label}" must be a number above 0, got ${String(settings[key])}`, { itemIndex });
		}
	}
	return {
		firstIntervalMs: settings.firstIntervalSeconds * 1000,
		maxIntervalMs: Math.max(settings.maxIntervalSeconds, settings.firstIntervalSeconds) * 1000,
		timeoutMs: settings.timeoutSeconds * 1000,
	};
}

/**
 * Asks for the status until the task reaches a final state (completed, failed, cancelled), the
 * timeout passes, or the execution is cancelled. The caller decides what a timeout means.
 */
export async function waitForTask(
	this: IExecuteFunctions,
	options: { taskId: string; statusPath?: string; itemIndex: number; settings: WaitSettings },
): Promise<PollOutcome<TaskStatus>> {
	const { taskId, statusPath, itemIndex } = options;
	const outcome = await pollUntil<TaskStatus>({
		schedule: pollSchedule(this, options.settings, itemIndex),
		check: async () => await getTaskStatus.call(this, { taskId, statusPath, itemIndex }),
		isDone: isFinal,
		signal: this.getExecutionCancelSignal?.(),
	});
	if (outcome.state === 'cancelled') {
		throw new NodeOperationError(this.getNode(), `Item ${itemIndex}: the execution was cancelled while waiting for task ${taskId}`, {
			itemIndex,
			description: outcome.last ? `Last status seen: ${outcome.last.status}` : undefined,
		});
	}
	return outcome;
}

/** The error for a wait that ran out of time, with what was last seen so the task can be found again. */
export function waitTimeoutError(context: IExecuteFunctions, taskId: string, last: TaskStatus, elapsedMs: number, itemIndex: number): NodeOperationError {
	const progress = last.processed !== undefined && last.count !== undefined ? ` (${last.processed} of ${last.count} rows processed)` : '';
	return new NodeOperationError(
		context.getNode(),
		`Item ${itemIndex}: task ${taskId} was still "${last.status}"${progress} when the wait timed out after ${Math.round(elapsedMs / 1000)} s`,
		{
			itemIndex,
			description: `Last status seen: ${JSON.stringify({ status: last.status, message: last.message, count: last.count, processed: last.processed })}. Run the node again later, or raise "Timeout (Seconds)"; set "On Timeout" to "Output Last Status" to continue the workflow instead.`,
		},
	);
}
