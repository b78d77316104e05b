import type {
	ICredentialDataDecryptedObject,
	IDataObject,
	IExecuteFunctions,
	IHookFunctions,
	IHttpRequestMethods,
	IHttpRequestOptions,
	ILoadOptionsFunctions,
	IN8nHttpFullResponse,
	IWebhookFunctions,
} from 'n8n-workflow';

import { vendorApiError } from './errors';
import { failureFacts, isIdempotentMethod, withRetry } from './retry';

/** Every context a node calls a vendor from: executions, dropdowns, webhook lifecycles and webhooks. */
export type ApiContext = IExecuteFunctions | ILoadOptionsFunctions | IHookFunctions | IWebhookFunctions;

export interface ApiRequest {
	method: IHttpRequestMethods;
	/** Path after the vendor's base URL, ids already filled in (nodes/shared/paths.ts). */
	path: string;
	body?: IHttpRequestOptions['body'];
	qs?: IDataObject;
	/** Added to Accept: application/json (e.g. a multipart Content-Type and Content-Length). */
	headers?: IDataObject;
	itemIndex?: number;
}

/** The vendor's answer with its status: 200 and 207 are both 2xx, and only the status tells them apart. */
export interface ApiResponse {
	statusCode: number;
	body: IDataObject;
}

/** What differs between vendors; everything else about a call is the same for all of them. */
export interface VendorSpec<Request extends ApiRequest> {
	/** As the user knows it, for messages: 'Whilter', 'Insider', 'TimePay'. */
	vendor: string;
	credentialType: string;
	url(credentials: ICredentialDataDecryptedObject, request: Request): string;
	/** Values that must never reach a message, a log or an output item. */
	secrets(credentials: ICredentialDataDecryptedObject): Array<string | undefined>;
	/** What a creating call could do twice if it were retried, e.g. 'no customer is messaged twice'. */
	sentOnceBecause: string;
}

/** Only executions can be cancelled; loading a dropdown or answering a webhook has no signal. */
export function cancelSignalOf(context: ApiContext): AbortSignal | undefined {
	return 'getExecutionCancelSignal' in context ? context.getExecutionCancelSignal?.() : undefined;
}

/**
 * What a failed creating call means for a rerun. It was sent once (a retry could act twice), so the
 * user decides, and needs to know whether the vendor may have acted.
 */
export function sentOnceHint(vendor: string, because: string, status: number | undefined): string {
	const once = `The request was sent once and not retried, so that ${because}.`;
	if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
		return `${once} ${vendor} refused it, so it did nothing: fix the cause, then run the node again.`;
	}
	if (status === 429 || (status !== undefined && status >= 502 && status <= 504)) {
		return `${once} ${vendor} turned it away (rate limit or unavailable), which normally means it did nothing: check in ${vendor}, then run again later.`;
	}
	if (status !== undefined) return `${once} ${vendor} may have acted on it before failing: check in ${vendor} before running the node again.`;
	return `${once} The connection failed after the request may have reached ${vendor}: check in ${vendor} before running the node again.`;
}

/** Why a redirect was not followed, and where it pointed (origin and path only: a query could hold a key). */
export function redirectHint(vendor: string, from: string, location: string | undefined): string {
	let target = 'another address';
	try {
		if (location) {
			const url = new URL(location, from);
			target = `${url.origin}${url.pathname}`;
		}
	} catch {
		// An unreadable Location: the generic words stay.
	}
	return `${vendor} redirected the call to ${target}. Calls that carry your credential never follow a redirect, so the credential went nowhere else: set the credential's Base URL to where the API answers.`;
}

/**
 * Builds a vendor's one request helper: the credential authenticates the call (n8n's
 * httpRequestWithAuthentication, so token refresh and preAuthentication work as in n8n's own nodes),
 * idempotent calls go through the package's retry policy, the execution's cancel signal stops both
 * the request and any wait between attempts, a creating call is sent exactly once, and a failure
 * becomes a NodeApiError with the vendor's own words and no secret in it.
 */
export function createVendorTransport<Request extends ApiRequest>(spec: VendorSpec<Request>) {
	return async function vendorRequest(this: ApiContext, request: Request): Promise<ApiResponse> {
		const credentials = await this.getCredentials(spec.credentialType);
		const signal = cancelSignalOf(this);
		const options: IHttpRequestOptions = {
			method: request.method,
			url: spec.url(credentials, request),
			headers: { Accept: 'application/json', ...(request.headers ?? {}) },
			json: true,
			returnFullResponse: true,
			...(request.body !== undefined ? { body: request.body } : {}),
			...(request.qs !== undefined ? { qs: request.qs } : {}),
			// n8n's HTTP client would follow a redirect with the credential's headers, to any host: a
			// vendor call never follows one, so a credential only ever goes to the configured base URL.
			disableFollowRedirect: true,
			...(signal ? { abortSignal: signal } : {}),
		};
		const idempotent = isIdempotentMethod(request.method);
		try {
			const response = (await withRetry(
				async () => await this.helpers.httpRequestWithAuthentication.call(this, spec.credentialType, { ...options }),
				{ idempotent, abortSignal: signal },
			)) as IN8nHttpFullResponse;
			const body = response.body;
			return {
				statusCode: response.statusCode,
				body: typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as IDataObject) : { data: body as IDataObject[] },
			};
		} catch (error) {
			// The path only: a full URL with a query could hold a key.
			const operation = `${request.method} ${new URL(options.url).pathname}${idempotent ? '' : ' (sent once, not retried)'}`;
			const apiError = vendorApiError(this.getNode(), error, {
				vendor: spec.vendor,
				operation,
				itemIndex: request.itemIndex,
				secrets: spec.secrets(credentials),
			});
			const status = apiError.httpCode ? Number(apiError.httpCode) : undefined;
			// The vendor's own words are in the message already; the description says whether a rerun is safe.
			if (!idempotent) apiError.description = sentOnceHint(spec.vendor, spec.sentOnceBecause, status);
			if (status !== undefined && status >= 300 && status < 400) {
				apiError.description = [redirectHint(spec.vendor, options.url, failureFacts(error).location), apiError.description].filter(Boolean).join(' ');
			}
			throw apiError;
		}
	};
}
