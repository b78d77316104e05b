import type {
	ICredentialDataDecryptedObject,
	IDataObject,
	IExecuteFunctions,
	IHookFunctions,
	IHttpRequestMethods,
	IHttpRequestOptions,
	ILoadOptionsFunctions,
	IN8nHttpFullResponse,
	INodeProperties,
	IWebhookFunctions,
} from 'n8n-workflow';

import { InputError, isTokenUnavailable, vendorApiError } from './errors';
import { secondsText } from './poll';
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
	/** This call's deadline in ms, when the node lets the user set one; otherwise the vendor's (VendorSpec.timeoutMs). */
	timeoutMs?: number;
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
	/** The deadline of a call that sets none itself (ms): the vendor's documented default, or the credential's setting. */
	timeoutMs(credentials: ICredentialDataDecryptedObject): number;
	/**
	 * The answers that mean "renew the token": n8n then calls the credential's preAuthentication and
	 * repeats the call once (n8n's default is 401 alone; n8n versions without the option keep that).
	 * Such an answer means the vendor did not act, so a creating call's repeat makes nothing twice.
	 */
	renewTokenOn?: number[];
	/**
	 * Words put first in a failed call's description, from the credential as read before the call
	 * and as it is after it (e.g. whether n8n renewed a refused token).
	 */
	failureHint?(status: number | undefined, before: ICredentialDataDecryptedObject, after: ICredentialDataDecryptedObject | undefined): string | undefined;
}

/** The one name of the deadline option, on every node that offers it and on the Whilter credential. */
export const REQUEST_TIMEOUT_LABEL = 'Request Timeout (Seconds)';

/**
 * The deadline option of a node's Options collection. `what` says which calls it bounds; the
 * description says what the deadline measures (see createVendorTransport).
 */
export function requestTimeoutOption(defaultSeconds: number, what: string): INodeProperties {
	return {
		displayName: REQUEST_TIMEOUT_LABEL,
		name: 'requestTimeout',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: defaultSeconds,
		description: `How long ${what} may take to start answering, counted from sending the request (an upload included), and the longest pause while the answer arrives. Past it the call fails.`,
	};
}

/**
 * A deadline the user set in seconds, as ms; undefined when it is not set, so the vendor's default
 * applies. Anything but a number above 0 is an error naming the setting.
 */
export function readTimeoutSeconds(raw: unknown, label: string = REQUEST_TIMEOUT_LABEL, itemIndex?: number): number | undefined {
	if (raw === undefined || raw === null || raw === '') return undefined;
	const seconds = typeof raw === 'string' ? Number(raw) : raw;
	if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) {
		throw new InputError(`"${label}" must be a number of seconds above 0, got ${JSON.stringify(raw)}`, { itemIndex, parameter: label });
	}
	return seconds * 1000;
}

/** Only executions can be cancelled; loading a dropdown or answering a webhook has no signal. */
export function cancelSignalOf(context: ApiContext): AbortSignal | undefined {
	return 'getExecutionCancelSignal' in context ? context.getExecutionCancelSignal?.() : undefined;
}

/**
 * What a failed creating call means for a rerun. It was sent once (a retry could act twice), so the
 * user decides, and needs to know whether the vendor may have acted.
 */
export function sentOnceHint(vendor: string, because: string, status: number | undefined, timedOut = false): string {
	const once = `The request was sent once and not retried, so that ${because}.`;
	if (timedOut) return `${once} ${vendor} did not answer in time and may still have acted on it: check in ${vendor} before running the node again.`;
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
 * What the credential holds after a failed call: n8n stores a token that preAuthentication fetched
 * during the call, and the copy read before the call never saw it.
 */
async function credentialsNow<Request extends ApiRequest>(context: ApiContext, spec: VendorSpec<Request>): Promise<ICredentialDataDecryptedObject | undefined> {
	try {
		return await context.getCredentials<ICredentialDataDecryptedObject>(spec.credentialType);
	} catch {
		return undefined;
	}
}

/**
 * Builds a vendor's one request helper: the credential authenticates the call (n8n's
 * httpRequestWithAuthentication, so token refresh and preAuthentication work as in n8n's own nodes),
 * idempotent calls go through the package's retry policy, the execution's cancel signal stops both
 * the request and any wait between attempts, a creating call is sent exactly once, every attempt
 * has a deadline, and a failure becomes a NodeApiError with the vendor's own words and no secret in it.
 *
 * The deadline is n8n's request option `timeout`, which is axios' `timeout`. With Node's http
 * adapter and no redirect followed, axios counts it from the moment the request is made until the
 * answer's headers arrive (sending the body, a file upload included, counts), and from then on as an
 * idle limit: the answer's body may not pause for longer. Without it n8n sets 300 s per attempt.
 */
export function createVendorTransport<Request extends ApiRequest>(spec: VendorSpec<Request>) {
	return async function vendorRequest(this: ApiContext, request: Request): Promise<ApiResponse> {
		const credentials = await this.getCredentials(spec.credentialType);
		const signal = cancelSignalOf(this);
		const timeoutMs = request.timeoutMs ?? spec.timeoutMs(credentials);
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
			timeout: timeoutMs,
			...(signal ? { abortSignal: signal } : {}),
		};
		const idempotent = isIdempotentMethod(request.method);
		try {
			const response = (await withRetry(
				async () =>
					await this.helpers.httpRequestWithAuthentication.call(
						this,
						spec.credentialType,
						{ ...options },
						spec.renewTokenOn ? { preAuthenticationRetryStatusCode: spec.renewTokenOn } : undefined,
					),
				{ idempotent, abortSignal: signal },
			)) as IN8nHttpFullResponse;
			const body = response.body;
			return {
				statusCode: response.statusCode,
				body: typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as IDataObject) : { data: body as IDataObject[] },
			};
		} catch (error) {
			const after = await credentialsNow(this, spec);
			const apiError = vendorApiError(this.getNode(), error, {
				vendor: spec.vendor,
				// The path only: a full URL with a query could hold a key.
				operation: `${request.method} ${new URL(options.url).pathname}`,
				sentOnce: !idempotent,
				deadline: secondsText(timeoutMs),
				itemIndex: request.itemIndex,
				// The credential as read before the call, and as it is now; vendorApiError adds what the
				// failed request carried. A token fetched during the call is in the last two.
				secrets: [...spec.secrets(credentials), ...(after ? spec.secrets(after) : [])],
			});
			const facts = failureFacts(error);
			const status = apiError.httpCode ? Number(apiError.httpCode) : undefined;
			// The vendor's own words are in the message already; the description says whether a rerun is safe.
			if (isTokenUnavailable(error)) {
				apiError.description = `n8n got no token for this call, so ${spec.vendor} did not act on it${idempotent ? '' : ': nothing was created, and the node can be run again once a token can be had'}.`;
			} else if (!idempotent) apiError.description = sentOnceHint(spec.vendor, spec.sentOnceBecause, status, facts.timedOut !== undefined);
			if (status !== undefined && status >= 300 && status < 400) {
				apiError.description = [redirectHint(spec.vendor, options.url, facts.location), apiError.description].filter(Boolean).join(' ');
			}
			const hint = spec.failureHint?.(status, credentials, after);
			if (hint) apiError.description = [hint, apiError.description].filter(Boolean).join(' ');
			throw apiError;
		}
	};
}
