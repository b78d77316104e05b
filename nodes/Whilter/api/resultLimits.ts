import type { IDisplayOptions, INodeProperties, IWebhookFunctions } from 'n8n-workflow';

import { DEFAULT_MAX_FIELD_BYTES } from './resultCsv';
import type { ResultRowFilter } from './rowFilter';

/**
 * What reading a task's output file may make a node hold: one field (every node that parses the
 * file), and the number of rows where they become the items a webhook starts or resumes with (read
 * whole before n8n answers Whilter, unlike Whilter Status' Get Results, which streams them).
 */
export const DEFAULT_MAX_FIELD_KB = DEFAULT_MAX_FIELD_BYTES / 1024;
export const DEFAULT_MAX_RESULT_ROWS = 100_000;

/** A number an expression may also give as text; undefined for anything that is not above 0. */
function positive(value: unknown): number | undefined {
	if (typeof value !== 'number' && (typeof value !== 'string' || value.trim() === '')) return undefined;
	const number = Number(value);
	return Number.isFinite(number) && number > 0 ? number : undefined;
}

/** "Max Field Size (KB)" in bytes; anything but a positive number is the default, as for the Trigger's Max Body Size. */
export function maxFieldBytesOf(kb: unknown): number {
	const value = positive(kb);
	return value === undefined ? DEFAULT_MAX_FIELD_BYTES : Math.max(1, Math.floor(value * 1024));
}

/** "Max Result Rows"; anything but a positive number is the default. */
export function maxResultRowsOf(rows: unknown): number {
	const value = positive(rows);
	return value === undefined ? DEFAULT_MAX_RESULT_ROWS : Math.max(1, Math.floor(value));
}

/** A webhook node's limits, from its Options ("Max Field Size (KB)", "Max Result Rows"). */
export function webhookResultLimits(context: IWebhookFunctions): { maxFieldBytes: number; maxRows: number } {
	return {
		maxFieldBytes: maxFieldBytesOf(context.getNodeParameter('options.maxFieldSize', DEFAULT_MAX_FIELD_KB)),
		maxRows: maxResultRowsOf(context.getNodeParameter('options.maxResultRows', DEFAULT_MAX_RESULT_ROWS)),
	};
}

export function maxFieldSizeOption(displayOptions?: IDisplayOptions): INodeProperties {
	return {
		displayName: 'Max Field Size (KB)',
		name: 'maxFieldSize',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: DEFAULT_MAX_FIELD_KB,
		...(displayOptions ? { displayOptions } : {}),
		description:
			'A field of the results file larger than this stops the reading with an error naming its row and column, so that one broken field cannot fill n8n\'s memory',
	};
}

export function maxResultRowsOption(description: string, displayOptions?: IDisplayOptions): INodeProperties {
	return {
		displayName: 'Max Result Rows',
		name: 'maxResultRows',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: DEFAULT_MAX_RESULT_ROWS,
		...(displayOptions ? { displayOptions } : {}),
		description,
	};
}

/** Where the rows of a task too large for a webhook's items are read instead. */
export function largeTaskRowsIn(taskId?: string): string {
	return `Whilter Status → Get Results${taskId === undefined ? '' : ` for task ${taskId}`}, which streams them, or gets the output file as a CSV file`;
}

/** How many rows were too many: "more than 5 failed result rows". */
export function moreRowsThan(limit: number, filter: ResultRowFilter): string {
	return `more than ${limit} ${filter === 'all' ? '' : `${filter} `}result rows`;
}
