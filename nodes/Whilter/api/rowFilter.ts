import type { INodePropertyOptions } from 'n8n-workflow';

/** Which rows of a task's output file become items: Whilter marks a failed row by its error column. */
export type ResultRowFilter = 'all' | 'failed' | 'succeeded';

/** The choices of every "Rows" parameter (Whilter Status, Whilter Trigger, Whilter Batch's callback wait). */
export const RESULT_ROW_FILTER_OPTIONS: INodePropertyOptions[] = [
	{ name: 'All', value: 'all', description: 'Every row of the output file' },
	{ name: 'Failed Only', value: 'failed', description: 'Rows whose error column is not empty' },
	{ name: 'Succeeded Only', value: 'succeeded', description: 'Rows whose error column is empty' },
];

export function keepsRow(filter: ResultRowFilter, error: string | undefined): boolean {
	if (filter === 'all') return true;
	const failed = (error ?? '').trim() !== '';
	return filter === 'failed' ? failed : !failed;
}
