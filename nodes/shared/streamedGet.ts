import { Readable } from 'node:stream';

import type { IDataObject, IExecuteFunctions, IHttpRequestOptions, IN8nHttpFullResponse, IWebhookFunctions } from 'n8n-workflow';

import { secondsText } from './poll';
import { failureFacts } from './retry';

/** The deadline of a streamed GET whose caller sets none (see StreamedGetOptions.timeoutMs). */
export const STREAMED_GET_TIMEOUT_MS = 60_000;

/**
 * A streamed GET that ran out of time: no answer within the deadline, or an answer that stopped
 * sending for that long. Its code is ETIMEDOUT, so the retry policy treats it as the network failure
 * it is, and `stalled` tells the error helpers which of the two it was (nodes/shared/retry.ts).
 */
export class StreamDeadlineError extends Error {
	readonly code = 'ETIMEDOUT';

	constructor(
		readonly stalled: boolean,
		readonly deadlineMs: number,
	) {
		super(stalled ? `no data arrived for ${secondsText(deadlineMs)}` : `no answer within ${secondsText(deadlineMs)}`);
		this.name = 'StreamDeadlineError';
	}
}

/**
 * The body, failing with a StreamDeadlineError when no byte arrives for `idleMs` while it is being
 * read. The clock runs only while the reader waits for data: a reader that is slow to take what
 * came (backpressure) is not a silent host. axios gives a streamed body no limit once its headers
 * are in, which is why this exists.
 *
 * The reader gets the error at once. The source is destroyed too, but axios' stream is a generator
 * that cannot stop while it waits for the silent socket, so `onIdle` is how the caller ends the
 * request itself (an abort signal).
 */
export function failWhenIdle(body: Readable, idleMs: number, onIdle?: () => void): Readable {
	const chunks = body[Symbol.asyncIterator]();
	const guarded: Readable = new Readable({
		read() {
			const timer = setTimeout(() => {
				guarded.destroy(new StreamDeadlineError(true, idleMs));
				onIdle?.();
			}, idleMs);
			chunks.next().then(
				({ value, done }: IteratorResult<Buffer>) => {
					clearTimeout(timer);
					if (!guarded.destroyed) guarded.push(done ? null : value);
				},
				(error: unknown) => {
					clearTimeout(timer);
					guarded.destroy(error instanceof Error ? error : new Error(String(error)));
				},
			);
		},
		destroy(error, callback) {
			body.destroy();
			callback(error);
		},
	});
	return guarded;
}

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
	/**
	 * Per hop, how long the host may take until the answer's headers arrive (n8n's `timeout`, counted
	 * from sending the request), and then the longest pause while the body is read; default
	 * STREAMED_GET_TIMEOUT_MS.
	 */
	timeoutMs?: number;
}

/**
 * One streamed GET, redirects followed by hand: n8n's helpers would follow them with the same headers.
 * A 2xx answer is returned with its body unread; any other final answer is an HttpStatusFailure
 * (which the retry policy reads), its body read up to the limit. A host that does not answer in time,
 * or stops sending the body, fails it with a StreamDeadlineError.
 */
export async function getFollowingRedirects(
	context: IExecuteFunctions | IWebhookFunctions,
	first: URL,
	options: StreamedGetOptions,
): Promise<{ response: IN8nHttpFullResponse; url: URL }> {
	const timeoutMs = options.timeoutMs ?? STREAMED_GET_TIMEOUT_MS;
	let url = first;
	for (let hop = 0; ; hop++) {
		options.onRequest?.(url);
		// Ends the request when its body stalls. n8n-core replaces the signal of a call made with the
		// credential by the execution's own; such a request's socket then stays open until the host
		// closes it, though the reader has its error at once all the same.
		const stalled = new AbortController();
		const request: IHttpRequestOptions = {
			method: 'GET',
			url: url.href,
			encoding: 'stream',
			returnFullResponse: true,
			ignoreHttpStatusErrors: true,
			disableFollowRedirect: true,
			timeout: timeoutMs,
			abortSignal: options.abortSignal ? AbortSignal.any([options.abortSignal, stalled.signal]) : stalled.signal,
		};
		let response: IN8nHttpFullResponse | undefined;
		let failure: unknown;
		try {
			response = (
				options.sendCredentialTo(url)
					? await context.helpers.httpRequestWithAuthentication.call(context, options.credentialType, request)
					: await context.helpers.httpRequest(request)
			) as IN8nHttpFullResponse;
		} catch (error) {
			failure = error;
		}
		// axios' own words ("timeout of 60000ms exceeded") say neither what timed out nor in what unit.
		if (!response) throw failureFacts(failure).timedOut ? new StreamDeadlineError(false, timeoutMs) : failure;
		const headers = (response.headers ?? {}) as IDataObject;
		const location = headerValue(headers, 'location');
		if (response.statusCode >= 300 && response.statusCode < 400 && location && hop < options.maxRedirects) {
			(response.body as Readable | undefined)?.destroy?.();
			url = new URL(location, url);
			continue;
		}
		const body = response.body instanceof Readable ? failWhenIdle(response.body, timeoutMs, () => stalled.abort()) : response.body;
		if (response.statusCode >= 300) throw new HttpStatusFailure(response.statusCode, headers, await readLimited(body, options.errorBodyBytes));
		return { response: { ...response, body }, url };
	}
}
