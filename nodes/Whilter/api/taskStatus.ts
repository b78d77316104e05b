import type { IDataObject } from 'n8n-workflow';

export type TaskState = 'pending' | 'in-progress' | 'completed' | 'failed' | 'cancelled' | 'unknown';

export interface TaskStatus {
	'task-id': string;
	status: TaskState;
	/** Rows in the task (`count` in the lower-case answer, `total-count` in the upper-case one). */
	count?: number;
	/** Rows processed so far, when Whilter says (public variant only). */
	processed?: number;
	message?: string;
	'file-path'?: string;
	/** Whilter's answer as it came. */
	response: IDataObject;
}

/**
 * The documented status words and their common synonyms, matched in any case with spaces and
 * underscores read as hyphens. A task "completed with errors" has an output file whose failed rows
 * say why: it is completed. Any other word is 'unknown', and the caller asks the status API before
 * acting on it (a callback is never dropped for a word this list does not know).
 */
const STATE_WORDS: Record<string, TaskState> = {
	pending: 'pending',
	queued: 'pending',
	submitted: 'pending',
	accepted: 'pending',
	created: 'pending',
	waiting: 'pending',
	'in-progress': 'in-progress',
	inprogress: 'in-progress',
	processing: 'in-progress',
	running: 'in-progress',
	started: 'in-progress',
	completed: 'completed',
	complete: 'completed',
	'completed-with-errors': 'completed',
	'partially-completed': 'completed',
	success: 'completed',
	succeeded: 'completed',
	successful: 'completed',
	finished: 'completed',
	done: 'completed',
	failed: 'failed',
	failure: 'failed',
	error: 'failed',
	errored: 'failed',
	cancelled: 'cancelled',
	canceled: 'cancelled',
	aborted: 'cancelled',
};

export function normaliseTaskState(value: unknown): TaskState {
	const word = String(value ?? '')
		.trim()
		.toLowerCase()
		.replace(/[\s_]+/g, '-');
	return STATE_WORDS[word] ?? 'unknown';
}

/** The status for an output item: the normalised state, or Whilter's own word when it is not one the package knows. */
export function statusForOutput(state: TaskState, word: unknown): string {
	return state === 'unknown' && typeof word === 'string' && word.trim() ? word.trim() : state;
}

/** States a task does not leave: waiting ends on any of them. */
export const FINAL_STATES: ReadonlySet<TaskState> = new Set(['completed', 'failed', 'cancelled']);

export function isFinal(status: TaskStatus): boolean {
	return FINAL_STATES.has(status.status);
}

function numberOrUndefined(value: unknown): number | undefined {
	if (value === null || value === undefined || value === '') return undefined;
	const n = Number(value);
	return Number.isFinite(n) ? n : undefined;
}

/**
 * Accepts both documented answers: lower-case statuses with `count`, and the public variant's
 * upper-case statuses with `total-count` and `processed`.
 */
export function parseTaskStatus(raw: IDataObject, requestedTaskId: string): TaskStatus {
	const count = numberOrUndefined(raw.count ?? raw['total-count']);
	const processed = numberOrUndefined(raw.processed);
	const filePath = typeof raw['file-path'] === 'string' && raw['file-path'] !== '' ? raw['file-path'] : undefined;
	return {
		'task-id': String(raw['task-id'] ?? raw.taskId ?? requestedTaskId),
		status: normaliseTaskState(raw.status),
		...(count !== undefined ? { count } : {}),
		...(processed !== undefined ? { processed } : {}),
		...(typeof raw.message === 'string' ? { message: raw.message } : {}),
		...(filePath ? { 'file-path': filePath } : {}),
		// Whilter's own answer last, for anything the normalised fields leave out.
		response: raw,
	};
}
