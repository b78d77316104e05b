import type {
	ICredentialDataDecryptedObject,
	IDataObject,
	IExecuteFunctions,
	IHttpRequestMethods,
	IHttpRequestOptions,
	ILoadOptionsFunctions,
	IN8nHttpFullResponse,
} from 'n8n-workflow';

import { vendorApiError } from '../shared/errors';
import { isIdempotentMethod, withRetry } from '../shared/retry';

export type TimePayContext = IExecuteFunctions | ILoadOptionsFunctions;

export const TIMEPAY_DEFAULT_BASE_URL = 'https://api.agents.timepay.ai';

export function timePayBaseUrl(credentials: ICredentialDataDecryptedObject): string {
	return String(credentials.baseUrl || TIMEPAY_DEFAULT_BASE_URL).replace(/\/+$/, '');
}

export interface TimePayRequest {
	method: IHttpRequestMethods;
	/** Path after the base URL, segments already encoded, e.g. '/api/v1/campaigns'. */
	path: string;
	body?: IDataObject;
	qs?: IDataObject;
	itemIndex?: number;
}

/** TimePay's answer with its status: 200 and 207 are both 2xx, and only the status tells them apart. */
export interface TimePayResponse {
	statusCode: number;
	body: IDataObject;
}

/**
 * What a failed creating call means for a rerun. It was sent once (a retry could message the same
 * customers twice), so the user decides, and needs to know whether anything may have happened.
 */
export function notRetriedHint(status: number | undefined): string {
	const once = 'The request was sent once and not retried, so that no customer is messaged twice.';
	if (status === 400 || status === 401 || status === 403 || status === 404) {
		return `${once} TimePay refused it: nothing was initiated. Fix the cause, then run the node again.`;
	}
	if (status === 429 || (status !== undefined && status >= 502 && status <= 504)) {
		return `${once} TimePay turned it away (rate limit or unavailable), which normally means nothing was initiated: check the campaign in TimePay, then run again later.`;
	}
	if (status !== undefined) return `${once} Check in TimePay which customers were messaged before running the node again.`;
	return `${once} The connection failed after the request may have reached TimePay: check the campaign in TimePay before running the node again.`;
}

/**
 * The one way the TimePay node calls TimePay: the credential adds the bearer token, GETs go through
 * the package's retry policy, an initiation is sent exactly once, and a failure becomes a
 * NodeApiError with TimePay's own message and status and never the token.
 */
export async function timePayApiRequest(this: TimePayContext, request: TimePayRequest): Promise<TimePayResponse> {
	const credentials = await this.getCredentials('timePayApi');
	const options: IHttpRequestOptions = {
		method: request.method,
		url: `${timePayBaseUrl(credentials)}${request.path}`,
		headers: { Accept: 'application/json' },
		json: true,
		returnFullResponse: true,
		...(request.body !== undefined ? { body: request.body } : {}),
		...(request.qs !== undefined ? { qs: request.qs } : {}),
	};
	const idempotent = isIdempotentMethod(request.method);
	try {
		const response = (await withRetry(
			async () => await this.helpers.httpRequestWithAuthentication.call(this, 'timePayApi', { ...options }),
			{ idempotent, abortSignal: abortSignalOf(this) },
		)) as IN8nHttpFullResponse;
		const body = response.body;
		return {
			statusCode: response.statusCode,
			body: typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as IDataObject) : { data: body as IDataObject[] },
		};
	} catch (error) {
		const operation = `${request.method} ${request.path}${idempotent ? '' : ' (sent once, not retried)'}`;
		const apiError = vendorApiError(this.getNode(), error, {
			vendor: 'TimePay',
			operation,
			itemIndex: request.itemIndex,
			secrets: [credentials.token as string | undefined],
		});
		// TimePay's own words are in the message already; the description says whether a rerun is safe.
		if (!idempotent) apiError.description = notRetriedHint(apiError.httpCode ? Number(apiError.httpCode) : undefined);
		throw apiError;
	}
}

/** Only executions can be cancelled; loading a dropdown has no signal. */
function abortSignalOf(context: TimePayContext): AbortSignal | undefined {
	return 'getExecutionCancelSignal' in context ? context.getExecutionCancelSignal?.() : undefined;
}
