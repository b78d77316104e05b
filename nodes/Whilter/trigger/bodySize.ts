import type { Refusal } from '../api/callbackPayload';

/** The default of the Trigger's "Max Body Size": a callback is a small JSON object. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/**
 * Size of the request body in bytes: n8n has already read it (up to its own N8N_PAYLOAD_SIZE_MAX)
 * and keeps the raw bytes; the Content-Length header and the parsed body stand in when it does not.
 */
export function bodySize(rawBody: unknown, contentLength: string | string[] | undefined, body: unknown): number {
	if (Buffer.isBuffer(rawBody)) return rawBody.length;
	const declared = Number(Array.isArray(contentLength) ? contentLength[0] : contentLength);
	if (Number.isFinite(declared) && declared >= 0) return declared;
	if (body === undefined || body === null) return 0;
	return Buffer.byteLength(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
}

export function checkBodySize(size: number, maxBytes: number): Refusal | undefined {
	if (size <= maxBytes) return undefined;
	return { status: 413, message: `The callback body is ${size} bytes; this trigger accepts at most ${maxBytes}` };
}

