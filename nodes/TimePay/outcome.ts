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

/**
 * The output item of one initiation: TimePay's answer as it came (`success`, `message`, `results`
 * with the counts and the per-customer errors), plus what was asked, so that an IF node can branch
 * on `success` or `partialSuccess` without knowing HTTP statuses.
 */
export function initiationOutput(request: InitiateRequest, response: TimePayResponse): IDataObject {
	const partial = isPartialSuccess(response);
	return {
		...response.body,
		success: response.body.success === undefined ? !partial : response.body.success === true && !partial,
		partialSuccess: partial,
		statusCode: response.statusCode,
		campaignId: request.campaignId,
		channel: request.channel,
		templateId: request.body.templateId,
	};
}

function customerOf(error: unknown): string | undefined {
	if (!isRecord(error)) return typeof error === 'string' ? error : undefined;
	for (const key of ['customerId', 'id', 'loan_id', 'loanId']) if (typeof error[key] === 'string') return error[key] as string;
	return undefined;
}

/**
 * With "Treat Partial Success as Error" on, a 207 stops the item. The error says what happened to
 * whom, because the customers who were messaged must not be messaged again by a blind rerun.
 */
export function partialSuccessError(node: INode, request: InitiateRequest, response: TimePayResponse): NodeApiError {
	const results = isRecord(response.body.results) ? response.body.results : {};
	const errors = Array.isArray(results.errors) ? results.errors : [];
	const failedIds = errors.map(customerOf).filter((id): id is string => id !== undefined);
	const counts = `${String(results.initiated ?? '?')} initiated, ${String(results.failed ?? errors.length)} failed`;
	const said = typeof response.body.message === 'string' ? `: ${response.body.message}` : '';
	const message = `TimePay answered HTTP ${response.statusCode} (partial success, ${counts}) to the initiation for campaign ${request.campaignId}${said}`;
	const shown = failedIds.slice(0, 20).join(', ') + (failedIds.length > 20 ? `, … (${failedIds.length - 20} more)` : '');
	const description = [
		'"Treat Partial Success as Error" is on. The request was sent once and not retried.',
		'The initiated customers were messaged: running this item again as it is would message them again.',
		failedIds.length ? `Failed customers: ${shown}. To retry only them, set Filters → Customer IDs to these IDs.` : '',
	]
		.filter(Boolean)
		.join(' ');
	return new NodeApiError(node, response.body as JsonObject, { message, description, httpCode: String(response.statusCode), itemIndex: request.itemIndex });
}
