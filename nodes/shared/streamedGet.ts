import type { Readable } from 'node:stream';

import type { IDataObject, IExecuteFunctions, IHttpRequestOptions, IN8nHttpFullResponse, IWebhookFunctions } from 'n8n-workflow';

/** A final non-2xx answer of getFollowingRedirects, in the shape the retry policy and the error helpers read (status, Retry-After, body). */
export class HttpStatusFailure extends Error {
	readonly response: { status: number; headers: IDataObject; data: string };

	constructor(status: number, headers: IDataObject, data: string) {
		super(`HTTP ${status}`);
		this.response = { status, headers, data };
	}
}

/** A response header by its lower-case name, whatever case the server used; the first of a list. */
export function headerValue(headers: IDataObject, name: string): string | undefined {
	const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
	const value = key === undefined ? undefined : headers[key];
	if (Array.isArray(value)) return value.length ? String(value[0]) : undefined;
	return value === undefined || value === null ? undefined : String(value);
}

/**
 * At most `limit` bytes of an error answer's body, as text, then the stream is closed: enough to
 * show the host's message without reading a large error page whole.
 */
async function readLimited(body: unknown, limit: number): Promise<string> {
	if (typeof body === 'string') return body.slice(0, limit);
	if (Buffer.isBuffer(body)) return body.subarray(0, limit).toString('utf8');
	const stream = body as Readable | undefined;
	if (!stream || typeof stream[Symbol.asyncIterator] !== 'function') return '';
	const chunks: Buffer[] = [];
	let length = 0;
	try {
		for await (const chunk of stream) {
			chunks.push(Buffer.from(chunk as Buffer));
			length += (chunk as Buffer).length;
			if (length >= limit) break;
		}
	} catch {
		// The message is a courtesy: a body that breaks off leaves the status to speak.
	} finally {
		stream.destroy();
	}
	return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

/** What a caller of getFollowingRedirects decides: who gets the credential, and what to give up on. */
export interface StreamedGetOptions {
	/** The credential type whose authentication a request gets when `sendCredentialTo` says so. */
	credentialType: string;
	/** Judged for every hop, so a redirect never carries the credential to a host it is not meant for. */
	sendCredentialTo: (url: URL) => boolean;
	abortSignal?: AbortSignal;
	maxRedirects: number;
	/** Of an error answer, enough to show the host's message. */
	errorBodyBytes: number;
	/** Hears every URL requested, the last one being where the answer (or the failure) came from. */
	onRequest?: (url: URL) => void;
}

/**
 * One streamed GET, redirects followed by hand: n8n's helpers would follow them with the same headers.
 * A 2xx answer is returned with its body unread; any other final answer is an HttpStatusFailure
 * (which the retry policy reads), its body read up to the limit.
 */
export async function getFollowingRedirects(
	context: IExecuteFunctions | IWebhookFunctions,
	first: URL,
	options: StreamedGetOptions,
): Promise<{ response: IN8nHttpFullResponse; url: URL }> {
	let url = first;
	for (let hop = 0; ; hop++) {
		options.onRequest?.(url);
		const request: IHttpRequestOptions = {
			method: 'GET',
			url: url.href,
			encoding: 'stream',
			returnFullResponse: true,
			ignoreHttpStatusErrors: true,
			disableFollowRedirect: true,
			...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
		};
		const response = (
			options.sendCredentialTo(url)
				? await context.helpers.httpRequestWithAuthentication.call(context, options.credentialType, request)
				: await context.helpers.httpRequest(request)
		) as IN8nHttpFullResponse;
		const headers = (response.headers ?? {}) as IDataObject;
		const location = headerValue(headers, 'location');
		if (response.statusCode >= 300 && response.statusCode < 400 && location && hop < options.maxRedirects) {
			(response.body as Readable | undefined)?.destroy?.();
			url = new URL(location, url);
			continue;
		}
		if (response.statusCode >= 300) throw new HttpStatusFailure(response.statusCode, headers, await readLimited(response.body, options.errorBodyBytes));
		return { response, url };
	}
}
