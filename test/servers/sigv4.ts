/**
 * AWS Signature Version 4 checked the way S3 checks it, for the test S3 server (s3.ts): a request
 * signed with the wrong secret, region or clock is refused here as S3 refuses it, with S3's error
 * code, so a signing mistake fails a test instead of the first customer.
 *
 * What S3 does and this does:
 * - header-signed requests only (`Authorization: AWS4-HMAC-SHA256 Credential=<key>/<yyyymmdd>/<region>/s3/aws4_request,
 *   SignedHeaders=…, Signature=…`); none is 403 AccessDenied (an anonymous request to a private
 *   bucket); another scheme (SigV2, presigned query) is 400 InvalidRequest, as in the regions that
 *   accept only SigV4;
 * - the canonical URI is the path decoded once and encoded once per segment (RFC 3986 unreserved
 *   characters kept, everything else `%XX`): S3 does not double-encode and does not normalise `.`
 *   or `//`; the query is decoded and re-encoded the same way, sorted by name then value, a name
 *   without `=` given an empty value;
 * - `host` and every `x-amz-*` header sent must be signed;
 * - `x-amz-content-sha256` is required: a hex SHA-256 that the body must match (400
 *   XAmzContentSHA256Mismatch), `UNSIGNED-PAYLOAD`, or an aws-chunked body: signed chunks
 *   (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`, each chunk's signature chained from the request's) or
 *   unsigned chunks with a trailing checksum (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`, the checksum
 *   checked);
 * - a request more than 15 minutes from the server's clock is 403 RequestTimeTooSkewed.
 * Not done: the signed-chunks-with-signed-trailer form, CRC64NVME checksums (501 NotImplemented).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

export interface SigV4Keys {
	accessKeyId: string;
	secretAccessKey: string;
	region: string;
}

/** An S3 error answer: its status, `<Code>`, `<Message>` and the extra elements S3 adds. */
export interface S3Refusal {
	status: number;
	code: string;
	message: string;
	fields?: Record<string, string>;
}

/** What the body must be, once the request's signature holds. */
export type PayloadRule =
	| { kind: 'unsigned' }
	| { kind: 'sha256'; sha256: string }
	| { kind: 'signed-chunks'; seedSignature: string; signingKey: Buffer; scope: string; amzDate: string }
	| { kind: 'unsigned-chunks-with-trailer' };

export type Verdict = { ok: true; payload: PayloadRule; accessKeyId: string } | { ok: false; refusal: S3Refusal };

export interface RequestToVerify {
	method: string;
	/** The request target as received: raw path and query. */
	url: string;
	/** Node's `rawHeaders`: names and values alternating, repeats kept. */
	rawHeaders: string[];
}

export const MAX_SKEW_MS = 15 * 60 * 1000;
const ALGORITHM = 'AWS4-HMAC-SHA256';
const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

const refuse = (status: number, code: string, message: string, fields?: Record<string, string>): Verdict => ({
	ok: false,
	refusal: { status, code, message, ...(fields ? { fields } : {}) },
});

function sha256Hex(data: string | Buffer): string {
	return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
	return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** RFC 3986: unreserved characters stay, every other UTF-8 byte is `%XX` (upper case). */
export function uriEncode(text: string): string {
	let out = '';
	for (const byte of Buffer.from(text, 'utf8')) {
		const c = String.fromCharCode(byte);
		out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
	}
	return out;
}

function decode(text: string): string | undefined {
	try {
		return decodeURIComponent(text);
	} catch {
		return undefined;
	}
}

/** S3's canonical URI: each segment decoded once and encoded once; no normalisation. */
export function canonicalUri(rawPath: string): string | undefined {
	const segments = (rawPath || '/').split('/').map(decode);
	if (segments.some((s) => s === undefined)) return undefined;
	return (segments as string[]).map(uriEncode).join('/');
}

export function canonicalQuery(rawQuery: string): string | undefined {
	const pairs: Array<[string, string]> = [];
	for (const part of rawQuery.split('&')) {
		if (!part) continue;
		const at = part.indexOf('=');
		const name = decode(at < 0 ? part : part.slice(0, at));
		const value = decode(at < 0 ? '' : part.slice(at + 1));
		if (name === undefined || value === undefined) return undefined;
		pairs.push([uriEncode(name), uriEncode(value)]);
	}
	const byBytes = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
	pairs.sort((a, b) => byBytes(a[0], b[0]) || byBytes(a[1], b[1]));
	return pairs.map(([name, value]) => `${name}=${value}`).join('&');
}

/** Header name (lower case) → its values joined by ',' in the order received, each trimmed with inner runs of spaces made one. */
function headerMap(rawHeaders: string[]): Map<string, string> {
	const map = new Map<string, string>();
	for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
		const name = rawHeaders[i].toLowerCase();
		const value = rawHeaders[i + 1].trim().replace(/\s+/g, ' ');
		map.set(name, map.has(name) ? `${map.get(name)},${value}` : value);
	}
	return map;
}

export function signingKey(secretAccessKey: string, date: string, region: string, service = 's3'): Buffer {
	return hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), region), service), 'aws4_request');
}

/** `20240102T030405Z` → epoch ms, or undefined. */
function parseAmzDate(value: string): number | undefined {
	const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
	if (!m) return undefined;
	const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
	return Number.isNaN(ms) ? undefined : ms;
}

export function amzDateOf(ms: number): string {
	return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function parseAuthorization(value: string): { credential: string; signedHeaders: string; signature: string } | undefined {
	const rest = value.slice(ALGORITHM.length).trim();
	const fields = new Map<string, string>();
	for (const part of rest.split(',')) {
		const at = part.indexOf('=');
		if (at > 0) fields.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
	}
	const credential = fields.get('Credential');
	const signedHeaders = fields.get('SignedHeaders');
	const signature = fields.get('Signature');
	return credential && signedHeaders && signature ? { credential, signedHeaders, signature } : undefined;
}

function equalHex(a: string, b: string): boolean {
	return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

const PAYLOAD_FORMS = ['UNSIGNED-PAYLOAD', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER'];

/**
 * Checks a request's signature against the one key the server knows, at the server's time `nowMs`.
 * The body is not read: the verdict says what it must be (`payload`), for `checkPayload`.
 */
export function verifyRequest(request: RequestToVerify, keys: SigV4Keys, nowMs: number): Verdict {
	const headers = headerMap(request.rawHeaders);
	const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
	const authorization = headers.get('authorization');
	if (authorization === undefined) {
		if (/(^|&)X-Amz-Algorithm=/i.test(query)) return refuse(400, 'InvalidRequest', 'This test server checks header-signed requests only; presigned URLs are not supported.');
		return refuse(403, 'AccessDenied', 'Access Denied');
	}
	if (!authorization.startsWith(`${ALGORITHM} `)) {
		return refuse(400, 'InvalidRequest', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
	}
	const auth = parseAuthorization(authorization);
	if (!auth) {
		return refuse(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature.');
	}
	const scopeParts = auth.credential.split('/');
	if (scopeParts.length !== 5) {
		return refuse(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
	}
	const [accessKeyId, scopeDate, region, service, terminal] = scopeParts;
	if (accessKeyId !== keys.accessKeyId) {
		return refuse(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', { AWSAccessKeyId: accessKeyId });
	}
	if (region !== keys.region) {
		return refuse(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; the region '${region}' is wrong; expecting '${keys.region}'`, { Region: keys.region });
	}
	if (service !== 's3') {
		return refuse(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; incorrect service "${service}". This endpoint belongs to "s3".`);
	}
	if (terminal !== 'aws4_request') {
		return refuse(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; incorrect terminal "${terminal}". This endpoint uses "aws4_request".`);
	}
	const amzDateHeader = headers.get('x-amz-date');
	const dateHeader = headers.get('date');
	const requestMs = amzDateHeader !== undefined ? parseAmzDate(amzDateHeader) : dateHeader !== undefined ? Date.parse(dateHeader) : undefined;
	if (requestMs === undefined || Number.isNaN(requestMs)) {
		return refuse(403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
	}
	const amzDate = amzDateHeader ?? amzDateOf(requestMs);
	if (amzDate.slice(0, 8) !== scopeDate) {
		return refuse(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; Invalid credential date "${scopeDate}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`);
	}
	if (Math.abs(nowMs - requestMs) > MAX_SKEW_MS) {
		return refuse(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
			RequestTime: amzDate,
			ServerTime: new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
			MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS),
		});
	}
	const contentSha256 = headers.get('x-amz-content-sha256');
	if (contentSha256 === undefined) return refuse(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
	if (!PAYLOAD_FORMS.includes(contentSha256) && !/^[0-9a-f]{64}$/i.test(contentSha256)) {
		return refuse(400, 'InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.', {
			ArgumentName: 'x-amz-content-sha256',
			ArgumentValue: contentSha256,
		});
	}
	const signedNames = auth.signedHeaders.split(';');
	if (!signedNames.includes('host')) {
		return refuse(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed; the SignedHeaders must include host.');
	}
	const unsigned = [...headers.keys()].filter((name) => name.startsWith('x-amz-') && !signedNames.includes(name));
	if (unsigned.length) {
		return refuse(403, 'AccessDenied', 'There were headers present in the request which were not signed', { HeadersNotSigned: unsigned.join(', ') });
	}
	const rawPath = request.url.split('?')[0];
	const uri = canonicalUri(rawPath);
	const canonicalQueryString = canonicalQuery(query);
	if (uri === undefined || canonicalQueryString === undefined) return refuse(400, 'InvalidURI', "Couldn't parse the specified URI.");
	const canonicalRequest = [
		request.method,
		uri,
		canonicalQueryString,
		...signedNames.map((name) => `${name}:${headers.get(name) ?? ''}`),
		'',
		auth.signedHeaders,
		contentSha256,
	].join('\n');
	const scope = `${scopeDate}/${region}/s3/aws4_request`;
	const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
	const key = signingKey(keys.secretAccessKey, scopeDate, region);
	const expected = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
	if (!equalHex(expected, auth.signature.toLowerCase())) {
		return refuse(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', {
			AWSAccessKeyId: accessKeyId,
			StringToSign: stringToSign,
			SignatureProvided: auth.signature,
			CanonicalRequest: canonicalRequest,
		});
	}
	const payload: PayloadRule | undefined =
		contentSha256 === 'UNSIGNED-PAYLOAD'
			? { kind: 'unsigned' }
			: contentSha256 === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'
				? { kind: 'unsigned-chunks-with-trailer' }
				: contentSha256 === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'
					? { kind: 'signed-chunks', seedSignature: expected, signingKey: key, scope, amzDate }
					: /^[0-9a-f]{64}$/i.test(contentSha256)
						? { kind: 'sha256', sha256: contentSha256.toLowerCase() }
						: undefined;
	if (!payload) return refuse(501, 'NotImplemented', `This test server does not implement x-amz-content-sha256: ${contentSha256}`, { Header: 'x-amz-content-sha256' });
	return { ok: true, payload, accessKeyId };
}

/** Whether the body must be read whole before the request may go on (its hash, chunks or checksums to check). */
export function payloadNeedsBody(payload: PayloadRule, rawHeaders: string[]): boolean {
	if (payload.kind !== 'unsigned') return true;
	const headers = headerMap(rawHeaders);
	return headers.has('content-md5') || [...headers.keys()].some((name) => name.startsWith('x-amz-checksum-'));
}

const CRC32C_TABLE = (() => {
	const table = new Uint32Array(256);
	for (let n = 0; n < 256; n++) {
		let c = n;
		for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
		table[n] = c >>> 0;
	}
	return table;
})();

function crc32c(data: Buffer): number {
	let crc = 0xffffffff;
	for (const byte of data) crc = CRC32C_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
	return (crc ^ 0xffffffff) >>> 0;
}

function uint32Base64(value: number): string {
	const out = Buffer.alloc(4);
	out.writeUInt32BE(value >>> 0);
	return out.toString('base64');
}

/** The checksum S3 computes for `x-amz-checksum-<algorithm>`, base64; undefined for an algorithm not done here. */
function checksumOf(algorithm: string, data: Buffer): string | undefined {
	switch (algorithm) {
		case 'crc32':
			return uint32Base64(crc32(data));
		case 'crc32c':
			return uint32Base64(crc32c(data));
		case 'sha1':
			return createHash('sha1').update(data).digest('base64');
		case 'sha256':
			return createHash('sha256').update(data).digest('base64');
		default:
			return undefined;
	}
}

function checkChecksums(data: Buffer, checksums: Map<string, string>): S3Refusal | undefined {
	for (const [name, value] of checksums) {
		if (name === 'content-md5') {
			if (createHash('md5').update(data).digest('base64') !== value) return { status: 400, code: 'BadDigest', message: 'The Content-MD5 you specified did not match what we received.' };
			continue;
		}
		const algorithm = name.replace(/^x-amz-checksum-/, '');
		if (algorithm === 'type' || algorithm === 'algorithm') continue;
		const computed = checksumOf(algorithm, data);
		if (computed === undefined) return { status: 501, code: 'NotImplemented', message: `This test server does not check ${name}`, fields: { Header: name } };
		if (computed !== value) {
			return { status: 400, code: 'BadDigest', message: `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.` };
		}
	}
	return undefined;
}

/**
 * An aws-chunked body: `<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n`…, a last chunk of size 0,
 * then trailing headers (`name:value\r\n`) and an empty line.
 */
function parseChunks(body: Buffer): { chunks: Array<{ data: Buffer; signature?: string }>; trailers: Map<string, string> } | undefined {
	const chunks: Array<{ data: Buffer; signature?: string }> = [];
	let pos = 0;
	for (;;) {
		const eol = body.indexOf('\r\n', pos);
		if (eol < 0) return undefined;
		const [sizeText, ...extensions] = body.subarray(pos, eol).toString('latin1').split(';');
		if (!/^[0-9a-fA-F]+$/.test(sizeText)) return undefined;
		const size = parseInt(sizeText, 16);
		const signature = extensions.map((e) => /^chunk-signature=([0-9a-f]{64})$/.exec(e.trim())?.[1]).find(Boolean);
		const start = eol + 2;
		if (start + size > body.length) return undefined;
		chunks.push({ data: body.subarray(start, start + size), signature });
		pos = start + size;
		if (size === 0) break;
		if (body.subarray(pos, pos + 2).toString('latin1') !== '\r\n') return undefined;
		pos += 2;
	}
	const trailers = new Map<string, string>();
	for (const line of body.subarray(pos).toString('latin1').split('\r\n')) {
		if (!line) continue;
		const at = line.indexOf(':');
		if (at < 0) return undefined;
		trailers.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim());
	}
	return { chunks, trailers };
}

/**
 * Checks a body read whole against what the signature promised. Returns the bytes to store (the
 * chunks' data of an aws-chunked body) or S3's refusal.
 */
export function checkPayload(payload: PayloadRule, rawHeaders: string[], body: Buffer): { ok: true; data: Buffer; decoded: boolean } | { ok: false; refusal: S3Refusal } {
	const headers = headerMap(rawHeaders);
	const headerChecksums = new Map([...headers].filter(([name]) => name === 'content-md5' || name.startsWith('x-amz-checksum-')));
	if (payload.kind === 'unsigned' || payload.kind === 'sha256') {
		if (payload.kind === 'sha256') {
			const computed = sha256Hex(body);
			if (computed !== payload.sha256) {
				return {
					ok: false,
					refusal: {
						status: 400,
						code: 'XAmzContentSHA256Mismatch',
						message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
						fields: { ClientComputedContentSHA256: payload.sha256, S3ComputedContentSHA256: computed },
					},
				};
			}
		}
		const bad = checkChecksums(body, headerChecksums);
		return bad ? { ok: false, refusal: bad } : { ok: true, data: body, decoded: false };
	}
	const malformed: S3Refusal = { status: 400, code: 'IncompleteBody', message: 'The aws-chunked body is malformed or ends early.' };
	const parsed = parseChunks(body);
	if (!parsed) return { ok: false, refusal: malformed };
	if (payload.kind === 'signed-chunks') {
		let previous = payload.seedSignature;
		for (const chunk of parsed.chunks) {
			const stringToSign = ['AWS4-HMAC-SHA256-PAYLOAD', payload.amzDate, payload.scope, previous, EMPTY_SHA256, sha256Hex(chunk.data)].join('\n');
			const expected = createHmac('sha256', payload.signingKey).update(stringToSign, 'utf8').digest('hex');
			if (!chunk.signature || !equalHex(expected, chunk.signature)) {
				return {
					ok: false,
					refusal: {
						status: 403,
						code: 'SignatureDoesNotMatch',
						message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
						fields: { StringToSign: stringToSign, SignatureProvided: chunk.signature ?? '' },
					},
				};
			}
			previous = expected;
		}
	}
	const data = Buffer.concat(parsed.chunks.map((c) => c.data));
	const declared = headers.get('x-amz-decoded-content-length');
	if (declared !== undefined && Number(declared) !== data.length) return { ok: false, refusal: malformed };
	const trailerNames = (headers.get('x-amz-trailer') ?? '').split(',').map((n) => n.trim().toLowerCase()).filter(Boolean);
	if (payload.kind === 'unsigned-chunks-with-trailer') {
		const missing = trailerNames.filter((name) => !parsed.trailers.has(name));
		if (missing.length) return { ok: false, refusal: { status: 400, code: 'MalformedTrailerError', message: 'The request contained trailing data that was not well-formed or did not conform to our published schema.' } };
	}
	const bad = checkChecksums(data, new Map([...headerChecksums, ...[...parsed.trailers].filter(([name]) => name.startsWith('x-amz-checksum-'))]));
	return bad ? { ok: false, refusal: bad } : { ok: true, data, decoded: true };
}

/**
 * Signs a raw request (for tests that send HTTP by hand) with these keys at `nowMs`: the headers to
 * send, `authorization` included. `payload` is the `x-amz-content-sha256` to sign; by default the
 * body's SHA-256. It canonicalises as verifyRequest does, so it proves nothing about that: the AWS
 * SDK's requests and the known answers in sigv4.test.ts do.
 */
export function signRequest(options: {
	method: string;
	/** Raw path and query, e.g. `/drop/a%20b.txt?uploadId=1`. */
	url: string;
	host: string;
	headers?: Record<string, string>;
	body?: Buffer;
	payload?: string;
	keys: SigV4Keys;
	nowMs: number;
}): Record<string, string> {
	const amzDate = amzDateOf(options.nowMs);
	const date = amzDate.slice(0, 8);
	const payload = options.payload ?? sha256Hex(options.body ?? Buffer.alloc(0));
	const headers: Record<string, string> = { ...options.headers, host: options.host, 'x-amz-date': amzDate, 'x-amz-content-sha256': payload };
	const names = Object.keys(headers)
		.map((n) => n.toLowerCase())
		.sort();
	const lower = new Map(Object.entries(headers).map(([n, v]) => [n.toLowerCase(), v.trim().replace(/\s+/g, ' ')]));
	const [rawPath, rawQuery = ''] = options.url.split('?');
	const canonicalRequest = [options.method, canonicalUri(rawPath), canonicalQuery(rawQuery), ...names.map((n) => `${n}:${lower.get(n)}`), '', names.join(';'), payload].join('\n');
	const scope = `${date}/${options.keys.region}/s3/aws4_request`;
	const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
	const signature = createHmac('sha256', signingKey(options.keys.secretAccessKey, date, options.keys.region)).update(stringToSign, 'utf8').digest('hex');
	return { ...headers, authorization: `${ALGORITHM} Credential=${options.keys.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}` };
}
