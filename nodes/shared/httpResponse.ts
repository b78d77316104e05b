import type { Readable } from 'node:stream';

import type { IDataObject } from 'n8n-workflow';

/**
 * For downloads made with `returnFullResponse` and `ignoreHttpStatusErrors` (streams, redirects
 * followed by hand): an HTTP error answer in the shape the retry policy and the error helpers read
 * (status, Retry-After, body).
 */
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
export async function readLimited(body: unknown, limit: number): Promise<string> {
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
