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
 * A list field: comma- or newline-separated text, or an array from an expression (e.g.
 * `{{ $json.loanIds }}`). Blanks are dropped; an empty list means the filter is not set.
 */
function readList(node: INode, itemIndex: number, field: keyof FiltersParameter, value: unknown): string[] | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	const parts: unknown[] = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[,\n]/) : [value];
	const list: string[] = [];
	for (const part of parts) {
		if (typeof part !== 'string' && typeof part !== 'number') {
			throw fieldError(node, itemIndex, field, `holds a ${part === null ? 'null' : typeof part} value`, 'Expected text separated by commas, or a list of strings or numbers');
		}
		const text = String(part).trim();
		if (text) list.push(text);
	}
	return list.length ? list : undefined;
}

function readPaymentStatus(node: INode, itemIndex: number, value: unknown): string[] | undefined {
	const list = readList(node, itemIndex, 'paymentStatus', value);
	const unknown = list?.filter((status) => !(PAYMENT_STATUSES as readonly string[]).includes(status)) ?? [];
	if (unknown.length) {
		throw fieldError(node, itemIndex, 'paymentStatus', `has unknown value(s): ${unknown.join(', ')}`, `Expected any of: ${PAYMENT_STATUSES.join(', ')}`);
	}
	return list;
}

/** Custom filters are a JSON object of customer fields to match exactly; `{}` or empty means none. */
function readCustom(node: INode, itemIndex: number, value: unknown): IDataObject | undefined {
	if (value === undefined || value === null) return undefined;
	let parsed: unknown = value;
	if (typeof value === 'string') {
		if (!value.trim()) return undefined;
		try {
			parsed = JSON.parse(value) as unknown;
		} catch (error) {
			throw fieldError(node, itemIndex, 'custom', 'is not valid JSON', `${(error as Error).message}. Expected a JSON object of customer fields, e.g. {"branch": "Pune"}`);
		}
	}
	if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
		throw fieldError(node, itemIndex, 'custom', `must be a JSON object, not ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : `a ${typeof parsed}`}`, 'Expected a JSON object of customer fields, e.g. {"branch": "Pune"}');
	}
	return Object.keys(parsed).length ? (parsed as IDataObject) : undefined;
}

/** The `filters` to send, or undefined when none is set (TimePay then messages the whole campaign). */
export function buildFilters(node: INode, itemIndex: number, parameter: FiltersParameter): TimePayFilters | undefined {
	const filters: TimePayFilters = {};
	const ids = readList(node, itemIndex, 'ids', parameter.ids);
	const excludeIds = readList(node, itemIndex, 'excludeIds', parameter.excludeIds);
	const paymentStatus = readPaymentStatus(node, itemIndex, parameter.paymentStatus);
	const language = readList(node, itemIndex, 'language', parameter.language);
	const custom = readCustom(node, itemIndex, parameter.custom);
	if (ids) filters.ids = ids;
	if (excludeIds) filters.exclude_ids = excludeIds;
	if (paymentStatus) filters.payment_status = paymentStatus;
	if (language) filters.language = language;
	if (custom) filters.custom = custom;
	return Object.keys(filters).length ? filters : undefined;
}
