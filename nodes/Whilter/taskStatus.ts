import type { IDataObject } from 'n8n-workflow';

export type TaskState = 'pending' | 'in-progress' | 'completed' | 'failed' | 'cancelled' | 'unknown';

export interface TaskStatus {
	'task-id': string;
	status: TaskState;
	/** Rows in the task (seed: `count`; public variant: `total-count`). */
	count?: number;
	/** Rows processed so far, when Whilter says (public variant only). */
	processed?: number;
	message?: string;
	'file-path'?: string;
	raw: IDataObject;
}

const STATE_WORDS: Record<string, TaskState> = {
	pending: 'pending',
	queued: 'pending',
	'in-progress': 'in-progress',
	in_progress: 'in-progress',
	inprogress: 'in-progress',
	processing: 'in-progress',
	running: 'in-progress',
	completed: 'completed',
	complete: 'completed',
	success: 'completed',
	done: 'completed',
	failed: 'failed',
	failure: 'failed',
	error: 'failed',
	cancelled: 'cancelled',
	canceled: 'cancelled',
};

export function normaliseTaskState(value: unknown): TaskState {
	const word = String(value ?? '')
		.trim()
		.toLowerCase()
		.replace(/\s+/g, '-');
	return STATE_WORDS[word] ?? 'unknown';
}

function numberOrUndefined(value: unknown): number | undefined {
	if (value === null || value === undefined || value === '') return undefined;
	const n = Number(value);
	return Number.isFinite(n) ? n : undefined;
}

/** Accepts both documented answers: the seed's (`count`, lower case) and the public docs' (`total-count`, `processed`, upper case). */
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
		raw,
	};
}
