/**
 * The words a task's state is written in, per status variant. Whilter documents lower-case words
 * (`pending`, `in-progress`, `completed`) and a public upper-case set; its callback's word is not
 * documented at all. 'synonyms' plays a deployment that says the same things in other words, in mixed
 * case, and not the same word in the callback as in the status API, so the nodes' reading of words
 * is checked against a server that does not share their list.
 */
import type { StatusVariant, Task } from './types';

/** Tests set a task to 'failed' directly (the batch API documents no such state, the nodes accept one). */
type ShownState = Task['state'] | 'failed';

const SYNONYMS: Record<ShownState, string> = {
	pending: 'Queued',
	'in-progress': 'Running',
	completed: 'Succeeded',
	failed: 'Errored',
	cancelled: 'Canceled',
};

/** A completed task with failed rows, in the synonym variant. */
const COMPLETED_WITH_ERRORS = 'COMPLETED_WITH_ERRORS';

/** The status API's word for the task's state. */
export function statusWord(variant: StatusVariant, task: Pick<Task, 'state' | 'failedRows'>): string {
	const state = task.state as ShownState;
	if (variant === 'upper') return state.toUpperCase().replace('-', '_');
	if (variant === 'synonyms') return state === 'completed' && (task.failedRows ?? 0) > 0 ? COMPLETED_WITH_ERRORS : SYNONYMS[state];
	return state;
}

/** The completion callback's word: the status API's, except that the synonym variant says `finished` where its API says `Succeeded`. */
export function callbackWord(variant: StatusVariant, task: Pick<Task, 'state' | 'failedRows'>): string {
	const word = statusWord(variant, { ...task, state: 'completed' });
	return variant === 'synonyms' && word === SYNONYMS.completed ? 'finished' : word;
}
