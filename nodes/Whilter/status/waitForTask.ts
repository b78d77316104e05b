import { NodeOperationError } from 'n8n-workflow';
import type { IExecuteFunctions } from 'n8n-workflow';

import { pollUntil } from '../../shared/poll';
import type { PollOutcome, PollSchedule } from '../../shared/poll';
import { getTaskStatus } from '../api/taskApi';
import { isFinal } from '../api/taskStatus';
import type { TaskStatus } from '../api/taskStatus';

export type OnTimeout = 'error' | 'outputLastStatus';

/**
 * Asks for the status until the task reaches a final state (completed, failed, cancelled), the
 * timeout passes, or the execution is cancelled. The caller decides what a timeout means.
 */
export async function waitForTask(
	this: IExecuteFunctions,
	options: { taskId: string; statusPath?: string; itemIndex: number; schedule: PollSchedule; wait?: (ms: number) => Promise<void> },
): Promise<PollOutcome<TaskStatus>> {
	const { taskId, statusPath, itemIndex } = options;
	const outcome = await pollUntil<TaskStatus>({
		schedule: options.schedule,
		check: async () => await getTaskStatus.call(this, { taskId, statusPath, itemIndex }),
		isDone: isFinal,
		signal: this.getExecutionCancelSignal?.(),
		wait: options.wait,
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
