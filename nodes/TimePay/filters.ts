import { NodeOperationError } from 'n8n-workflow';
import type { IDataObject, INode } from 'n8n-workflow';

/** TimePay's `filters` object, with only what the user set. */
export interface TimePayFilters {
	ids?: string[];
	exclude_ids?: string[];
	payment_status?: string[];
	language?: string[];
	custom?: IDataObject;
}

/** The Filters collection as n8n hands it over (a list field may come from an expression as an array). */
export interface FiltersParameter {
	ids?: unknown;
	excludeIds?: unknown;
	paymentStatus?: unknown;
	language?: unknown;
	custom?: unknown;
}

/** The payment statuses TimePay's campaigns are known to use: offered in the editor, not enforced. */
export const PAYMENT_STATUSES = ['bounced', 'pending', 'partial', 'paid', 'received'] as const;

const FIELD_NAMES: Record<keyof FiltersParameter, string> = {
	ids: 'Customer IDs',
	excludeIds: 'Exclude Customer IDs',
	paymentStatus: 'Payment Status',
	language: 'Language',
	custom: 'Custom (JSON)',
};

function fieldError(node: INode, itemIndex: number, field: keyof FiltersParameter, problem: string, description: string): NodeOperationError {
	return new NodeOperationError(node, `Item ${itemIndex}: Filters → "${FIELD_NAMES[field]}" ${problem}`, { itemIndex, description });
}

/**
 * A filter that was added but holds nothing (an expression that gave "", [], null or undefined)
 * would not narrow the audience: TimePay messages every customer of the campaign when a filter is
 * left out. So it is an error, never a wider audience.
 */
function emptyFilter(node: INode, itemIndex: number, field: keyof FiltersParameter): NodeOperationError {
	return fieldError(
		node,
		itemIndex,
		field,
		'is empty',
		'An empty filter would not narrow who is messaged. Map a value that is not empty, or remove the filter. Nothing was sent.',
	);
}

/**
 * A list field: comma- or newline-separated text, or an array from an expression (e.g.
 * `{{ $json.loanIds }}`). Blanks are dropped; a filter left with no entry is an error.
 */
function readList(node: INode, itemIndex: number, field: keyof FiltersParameter, value: unknown): string[] {
	if (value === undefined || value === null || value === '') throw emptyFilter(node, itemIndex, field);
	const parts: unknown[] = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[,\n]/) : [value];
	const list: string[] = [];
	for (const part of parts) {
		if (typeof part !== 'string' && typeof part !== 'number') {
			throw fieldError(node, itemIndex, field, `holds a ${part === null ? 'null' : typeof part} value`, 'Expected text separated by commas, or a list of strings or numbers');
		}
		const text = String(part).trim();
		if (text) list.push(text);
	}
	if (!list.length) throw emptyFilter(node, itemIndex, field);
	return list;
}

/** Custom filters are a JSON object of customer fields to match exactly. */
function readCustom(node: INode, itemIndex: number, value: unknown): IDataObject {
	if (value === undefined || value === null) throw emptyFilter(node, itemIndex, 'custom');
	let parsed: unknown = value;
	if (typeof value === 'string') {
		if (!value.trim()) throw emptyFilter(node, itemIndex, 'custom');
		try {
			parsed = JSON.parse(value) as unknown;
		} catch (error) {
			throw fieldError(node, itemIndex, 'custom', 'is not valid JSON', `${(error as Error).message}. Expected a JSON object of customer fields, e.g. {"branch": "Pune"}`);
		}
	}
	if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
		throw fieldError(node, itemIndex, 'custom', `must be a JSON object, not ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : `a ${typeof parsed}`}`, 'Expected a JSON object of customer fields, e.g. {"branch": "Pune"}');
	}
	if (!Object.keys(parsed).length) throw emptyFilter(node, itemIndex, 'custom');
	return parsed as IDataObject;
}

/**
 * The `filters` to send: every filter the user added, each checked not to be empty; undefined when
 * none was added (the caller decides whether that may mean the whole campaign).
 */
export function buildFilters(node: INode, itemIndex: number, parameter: FiltersParameter): TimePayFilters | undefined {
	const filters: TimePayFilters = {};
	// A key is in the collection when the user added that filter, whatever its value turned out to be.
	if ('ids' in parameter) filters.ids = readList(node, itemIndex, 'ids', parameter.ids);
	if ('excludeIds' in parameter) filters.exclude_ids = readList(node, itemIndex, 'excludeIds', parameter.excludeIds);
	// Payment statuses are offered from the known list, and any other word TimePay uses is accepted.
	if ('paymentStatus' in parameter) filters.payment_status = readList(node, itemIndex, 'paymentStatus', parameter.paymentStatus);
	if ('language' in parameter) filters.language = readList(node, itemIndex, 'language', parameter.language);
	if ('custom' in parameter) filters.custom = readCustom(node, itemIndex, parameter.custom);
	return Object.keys(filters).length ? filters : undefined;
}
