import { NodeApiError } from 'n8n-workflow';
import type { IDataObject, INode, JsonObject } from 'n8n-workflow';

import type { InitiateRequest } from './requestBody';
import type { TimePayResponse } from './transport';

function isRecord(value: unknown): value is IDataObject {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** TimePay documents 207 for partial success; a 2xx that says `success: false` is read the same way. */
export function isPartialSuccess(response: TimePayResponse): boolean {
	return response.statusCode === 207 || (response.statusCode < 300 && response.body.success === false);
}

/** One entry of `results.errors`, in one shape whatever TimePay wrote. */
export type FailedCustomer = {
	customerId: string | null;
	reason: string | null;
};

const ID_KEYS = ['customerId', 'customer_id', 'customerID', 'id', 'loan_id', 'loanId', 'loanID'];
const REASON_KEYS = ['error', 'message', 'reason', 'description', 'detail'];

function firstString(entry: IDataObject, keys: string[]): string | null {
	for (const key of keys) {
		const value = entry[key];
		if (typeof value === 'string' && value.trim()) return value.trim();
		if (typeof value === 'number') return String(value);
		// `{error: {message}}`, as many APIs nest it.
		if (isRecord(value) && typeof value.message === 'string' && value.message.trim()) return value.message.trim();
	}
	return null;
}

/**
 * TimePay documents no shape for its per-customer errors, and entries have been seen as objects
 * under several names and as plain strings. A string reads as `<id>: <reason>`, as one id (no spaces),
 * or else as a reason for an unnamed customer.
 */
export function readFailedCustomer(entry: unknown): FailedCustomer {
	if (isRecord(entry)) return { customerId: firstString(entry, ID_KEYS), reason: firstString(entry, REASON_KEYS) };
	if (typeof entry !== 'string' || !entry.trim()) return { customerId: null, reason: null };
	const text = entry.trim();
	const named = /^([^\s:]+)\s*:\s*(.+)$/s.exec(text);
	if (named) return { customerId: named[1], reason: named[2].trim() };
	return /\s/.test(text) ? { customerId: null, reason: text } : { customerId: text, reason: null };
}

function failedCustomersOf(response: TimePayResponse): FailedCustomer[] {
	const results = isRecord(response.body.results) ? response.body.results : {};
	return Array.isArray(results.errors) ? results.errors.map(readFailedCustomer) : [];
}

/**
 * The output item of one initiation, in the package's output style: the package's own fields in
 * kebab-case, so that an IF node can branch on `success` or `partial-success` without knowing HTTP
 * statuses, and TimePay's answer unchanged under `response` (`results` with the counts and the
 * per-customer errors). When customers failed, `failed-customers` lists them as
 * `{'customer-id', reason}` whatever shape TimePay's errors came in. `initiations-sent` is added by
 * the caller, which alone knows how many initiations the execution sent.
 */
export function initiationOutput(request: InitiateRequest, response: TimePayResponse): IDataObject {
	const partial = isPartialSuccess(response);
	const failed = failedCustomersOf(response);
	return {
		success: response.body.success === undefined ? !partial : response.body.success === true && !partial,
		'partial-success': partial,
		...(response.body.message !== undefined ? { message: response.body.message } : {}),
		'status-code': response.statusCode,
		'campaign-id': request.campaignId,
		channel: request.channel,
		'template-id': request.body.templateId,
		...(failed.length ? { 'failed-customers': failed.map(({ customerId, reason }) => ({ 'customer-id': customerId, reason })) } : {}),
		response: response.body,
	};
}

/** `TimePay's reasons: WhatsApp number is not reachable (2 customers).`, each distinct reason once. */
function reasonsText(failed: FailedCustomer[]): string {
	const counts = new Map<string, number>();
	for (const { reason } of failed) if (reason !== null) counts.set(reason, (counts.get(reason) ?? 0) + 1);
	if (!counts.size) return '';
	const shown = [...counts].slice(0, 5).map(([reason, n]) => `${reason} (${n} customer${n === 1 ? '' : 's'})`);
	return `TimePay's reasons: ${shown.join('; ')}${counts.size > 5 ? `; … (${counts.size - 5} more)` : ''}.`;
}

/**
 * With "Treat Partial Success as Error" on, a 207 stops the item. The error says what happened to
 * whom, because the customers who were messaged must not be messaged again by a blind rerun.
 */
export function partialSuccessError(node: INode, request: InitiateRequest, response: TimePayResponse): NodeApiError {
	const results = isRecord(response.body.results) ? response.body.results : {};
	const failed = failedCustomersOf(response);
	const failedIds = failed.map((f) => f.customerId).filter((id): id is string => id !== null);
	const counts = `${String(results.initiated ?? '?')} initiated, ${String(results.failed ?? failed.length)} failed`;
	const said = typeof response.body.message === 'string' ? `: ${response.body.message}` : '';
	const message = `TimePay answered HTTP ${response.statusCode} (partial success, ${counts}) to the initiation for campaign ${request.campaignId}${said}`;
	const shown = failedIds.slice(0, 20).join(', ') + (failedIds.length > 20 ? `, … (${failedIds.length - 20} more)` : '');
	const description = [
		'"Treat Partial Success as Error" is on. The request was sent once and not retried.',
		'The initiated customers were messaged: running this item again as it is would message them again.',
		failedIds.length ? `Failed customers: ${shown}. To retry only them, set Filters → Customer IDs to these IDs.` : '',
		reasonsText(failed),
	]
		.filter(Boolean)
		.join(' ');
	return new NodeApiError(node, response.body as JsonObject, { message, description, httpCode: String(response.statusCode), itemIndex: request.itemIndex });
}
