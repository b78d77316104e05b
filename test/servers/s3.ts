/**
 * A real S3-compatible server (s3rver) on 127.0.0.1 behind a small streaming proxy. The proxy is the
 * endpoint clients get: it logs every request and injects the same faults as the contract servers
 * (http.ts), e.g. a 503 on an UploadPart (`{ method: 'PUT', query: 'partNumber', kind: 'status', status: 503 }`),
 * and can hold requests unanswered (silence) to play a store that accepted the connection and went quiet.
 *
 * The proxy does what S3 does where s3rver does not:
 * - AWS Signature V4 on every request (sigv4.ts), with the one key the server knows (S3_TEST_KEYS:
 *   access key id, secret and region): a wrong secret is 403 SignatureDoesNotMatch, an unknown key
 *   403 InvalidAccessKeyId, another region in the credential scope 400 AuthorizationHeaderMalformed
 *   naming the expected region (as S3 answers), a request more than 15 minutes from the server's
 *   clock 403 RequestTimeTooSkewed, none 403 AccessDenied; a body that does not match its
 *   `x-amz-content-sha256`, chunk signatures or checksums is refused before s3rver sees it. The
 *   clock is injectable (`clock`), and every answer's `Date` header is that clock's, as S3 sends its
 *   own time (the AWS SDK corrects its clock offset from it);
 * - conditional writes: `If-None-Match: *` on PutObject and CompleteMultipartUpload is answered 412
 *   PreconditionFailed when the key exists (checked on s3rver just before the write is forwarded,
 *   conditional writes to one key taken one at a time). `conditionalWrites` can make it a store
 *   without them instead: 'not-implemented' answers the header with 501 NotImplemented, as some
 *   S3-compatible stores do; 'ignored' lets s3rver ignore it (the object is overwritten);
 * - AbortMultipartUpload (s3rver answers 405): the upload's stored parts are removed, 204;
 * - ListParts (s3rver answers 405): the upload's stored parts, as S3's ListPartsResult.
 *
 * s3rver's other quirks are respected, not hidden:
 * - it stores an aws-chunked streamed body with the SDK's checksum trailer corrupted: the proxy
 *   decodes an aws-chunked body (and checks it) and gives s3rver the plain bytes; the clients made
 *   here still use WHEN_REQUIRED checksums, as the node does with a custom endpoint.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { FaultInjector } from './http';
import type { Fault, FaultKind, FaultMatch } from './http';
import { checkPayload, payloadNeedsBody, verifyRequest } from './sigv4';
import type { PayloadRule, S3Refusal, SigV4Keys } from './sigv4';
import { writeBeforeAnswering } from './s3rverWrites';
import type { S3rverStore } from './s3rverWrites';

/**
 * The one key the test S3 server accepts, and its region. Everything that talks to it (the harness,
 * the sandbox, the Whilter contract server, benches) takes these from the server (`s3.accessKeyId`…).
 * Not us-east-1: the SDK's and the node's fallback region, so a region that is not passed on shows.
 */
export const S3_TEST_KEYS: Readonly<SigV4Keys> = Object.freeze({
	accessKeyId: 'AKIAWHILTERTEST00001',
	secretAccessKey: 'wHiLtErTeStSeCrEt/K7MDENG/bPxRfiCYEXAMPLE',
	region: 'ap-south-1',
});

// s3rver ships no types: this is the part of its API used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (options: {
	address: string;
	port: number;
	silent: boolean;
	directory: string;
	configureBuckets: Array<{ name: string }>;
}) => {
	run(): Promise<AddressInfo>;
	close(): Promise<void>;
	store: S3rverStore;
};

/** The S3 faults are the contract servers' faults. */
export type S3Fault = Fault;

export interface S3Request {
	method: string;
	/** `/<bucket>/<key>`, percent-decoded. */
	path: string;
	/** The raw query string without '?', e.g. `partNumber=2&uploadId=…`. */
	query: string;
	params: URLSearchParams;
	headers: http.IncomingHttpHeaders;
	faulted: boolean;
	fault?: FaultKind;
	/** The status the client got; undefined when its connection was dropped or never answered. */
	status?: number;
	/** Held by silence(): accepted and never answered. */
	silenced?: boolean;
	/** S3's error code when the proxy refused the request's signature or body (SignatureDoesNotMatch, RequestTimeTooSkewed…). */
	refused?: string;
	time: number;
}

/**
 * How the store treats `If-None-Match: *` on PutObject and CompleteMultipartUpload: 'enforced' as S3
 * does (412 when the key exists), 'not-implemented' (501 NotImplemented, the write not done),
 * 'ignored' (the write done, an existing object replaced).
 */
export type ConditionalWrites = 'enforced' | 'not-implemented' | 'ignored';

export interface S3Server {
	/** The proxy (faults, log): give this to the code under test. */
	endpoint: string;
	/** s3rver itself: no log, no faults. The helpers below read through it. */
	upstreamEndpoint: string;
	port: number;
	/** s3rver's temporary storage directory, removed by close(). */
	directory: string;
	region: string;
	accessKeyId: string;
	secretAccessKey: string;
	/** The server's time (epoch ms) for the signature's clock check and the `Date` header; changeable at any time. */
	clock: () => number;
	requests: S3Request[];
	faults: FaultInjector;
	/** Changeable at any time; 'enforced' unless the options said otherwise. */
	conditionalWrites: ConditionalWrites;
	/**
	 * Requests matching are accepted and never answered, their body left unread: an endpoint that went
	 * silent. With `afterFirstBytes` the request is handled and the answer begins (status, headers, the
	 * first bytes of the body), then stops: a download that stalls. Logged as `silenced`; close()
	 * drops the connections.
	 */
	silence(match: Silence): void;
	/** Forgets the silences not used up yet. */
	clearSilences(): void;
	/**
	 * Requests matching are answered 403 AccessDenied once their signature holds: keys whose IAM
	 * policy lacks the action (`times` as for faults; default once).
	 */
	deny(match: FaultMatch): void;
	/** Forgets the denials not used up yet. */
	clearDenials(): void;
	/**
	 * Called with each request the proxy is about to handle (not a faulted or silenced one), which
	 * waits for it: a test changes the store at an exact point, e.g. another writer's object appears
	 * between a client's check and its write.
	 */
	beforeHandling?: (request: S3Request) => Promise<void> | void;
	/** A new client on the proxy endpoint, destroyed on close(). */
	client(): S3Client;
	/** An object's bytes, read past the proxy (not logged, never faulted). */
	getObjectBuffer(bucket: string, key: string): Promise<Buffer>;
	/** Writes an object past the proxy: another writer, not the code under test. */
	putObject(bucket: string, key: string, body: Buffer | string): Promise<void>;
	/** Deletes an object past the proxy. */
	deleteObject(bucket: string, key: string): Promise<void>;
	/** Every key under the prefix, read past the proxy. */
	listKeys(bucket: string, prefix?: string): Promise<string[]>;
	/** The ids of the bucket's multipart uploads whose parts are still stored (neither completed nor aborted). */
	openUploads(bucket: string): string[];
	/** Every multipart upload the store created, by upload id, with what became of it. */
	multipart: Map<string, MultipartRecord>;
	close(): Promise<void>;
}

export type Silence = FaultMatch & { afterFirstBytes?: boolean };

/** A multipart upload as the store acted on it: created, then completed or aborted (whether or not the client heard the answer). */
export interface MultipartRecord {
	uploadId: string;
	bucket: string;
	key: string;
	state: 'open' | 'completed' | 'aborted';
	/** Whether the client got the create's answer (and so the upload id): not when the connection was dropped or the answer cut off. */
	idSent: boolean;
}

/** How the proxy ends a forwarded exchange: answer, drop the connection once the store acted, or send part of the answer and drop it. */
type Ending = boolean | 'truncate';

export interface S3ServerOptions {
	buckets: string[];
	/** Fixed port for the proxy (the sandbox); default random. */
	port?: number;
	/** Default 'enforced', as S3. */
	conditionalWrites?: ConditionalWrites;
	/** The server's time, epoch ms; default Date.now (read at each request, so a test's virtual clock is seen). */
	clock?: () => number;
}

const XML_CODES: Record<number, string> = { 429: 'TooManyRequests', 500: 'InternalError', 502: 'BadGateway', 503: 'SlowDown', 504: 'GatewayTimeout' };

function xmlText(text: string): string {
	return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function xmlError(code: string, message: string, extra = ''): string {
	return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${xmlText(message)}</Message>${extra}</Error>`;
}

function refusalXml(refusal: S3Refusal): string {
	const fields = Object.entries(refusal.fields ?? {})
		.map(([name, value]) => `<${name}>${xmlText(value)}</${name}>`)
		.join('');
	return xmlError(refusal.code, refusal.message, fields);
}

function s3Error(status: number): string {
	return xmlError(XML_CODES[status] ?? 'InternalError', `injected fault: HTTP ${status}`);
}

/** s3rver's own account (its documented default): the helpers that read and write past the proxy sign with it. */
const S3RVER_KEYS: Readonly<SigV4Keys> = Object.freeze({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'us-east-1' });

function makeClient(endpoint: string, keys: Readonly<SigV4Keys>): S3Client {
	return new S3Client({
		endpoint,
		region: keys.region,
		forcePathStyle: true,
		credentials: { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey },
		requestChecksumCalculation: 'WHEN_REQUIRED',
		responseChecksumValidation: 'WHEN_REQUIRED',
	});
}

/** A body the proxy read whole and checked (its hash, chunks or checksums), as it goes on to s3rver. */
interface CheckedBody {
	bytes: Buffer;
	headers: http.IncomingHttpHeaders;
}

/** s3rver's answer headers without its `Date`: the client gets the server clock's (set on every answer). */
function withoutDate(headers: http.IncomingHttpHeaders): http.IncomingHttpHeaders {
	const rest = { ...headers };
	delete rest.date;
	return rest;
}

/**
 * Forwards one request to s3rver, streaming both ways (or the checked body when it was read); with
 * `dropAfter` the client's socket is destroyed once s3rver has answered. Resolves when the client's
 * exchange is over.
 */
function forward(
	upstreamPort: number,
	req: http.IncomingMessage,
	res: http.ServerResponse,
	entry: S3Request,
	dropAfter: Ending,
	stallAfterFirstBytes = false,
	checked?: CheckedBody,
	onUpstream?: (answer: http.IncomingMessage) => void,
): Promise<void> {
	const over = new Promise<void>((resolve) => res.once('close', () => resolve()));
	// The proxy has checked the signature; s3rver, which checks keys of its own, gets the request anonymously.
	const headers = { ...(checked?.headers ?? req.headers) };
	delete headers.authorization;
	const upstreamReq = http.request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers }, (upstreamRes) => {
		onUpstream?.(upstreamRes);
		if (stallAfterFirstBytes || dropAfter === 'truncate') {
			// The client gets the head and a few bytes of a body whose Content-Length promises more.
			entry.status = upstreamRes.statusCode;
			res.writeHead(upstreamRes.statusCode ?? 502, withoutDate(upstreamRes.headers));
			upstreamRes.once('data', (chunk: Buffer) => {
				res.write(chunk.subarray(0, Math.min(chunk.length - 1, 64)));
				upstreamRes.destroy();
				if (dropAfter === 'truncate') res.socket?.destroy();
			});
			return;
		}
		if (dropAfter) {
			// s3rver has acted (the part or object is stored); the client never hears so.
			upstreamRes.resume();
			upstreamRes.on('end', () => res.socket?.destroy());
			return;
		}
		entry.status = upstreamRes.statusCode;
		res.writeHead(upstreamRes.statusCode ?? 502, withoutDate(upstreamRes.headers));
		upstreamRes.pipe(res);
	});
	upstreamReq.on('error', () => res.destroy());
	// A client that gives up mid-upload must not leave a half request hanging on s3rver.
	res.on('close', () => {
		if (!res.writableFinished) upstreamReq.destroy();
	});
	if (checked) upstreamReq.end(checked.bytes);
	else req.pipe(upstreamReq);
	return over;
}

/** Runs `then` once the request body is drained (a client still sending would otherwise see EPIPE), at once when it was read already. */
function afterBody(req: http.IncomingMessage, then: () => void): void {
	if (req.readableEnded) return then();
	req.resume();
	req.on('end', then);
}

/** Answers with an S3 XML error once the request body is drained. */
function answerError(req: http.IncomingMessage, res: http.ServerResponse, entry: S3Request, status: number, xml: string): void {
	afterBody(req, () => {
		entry.status = status;
		res.writeHead(status, { 'content-type': 'application/xml' });
		res.end(xml);
	});
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		req.on('data', (chunk: Buffer) => chunks.push(chunk));
		req.once('end', () => resolve(Buffer.concat(chunks)));
		req.once('error', reject);
	});
}

/** The headers s3rver gets with a decoded aws-chunked body: a plain body of that length. */
function plainBodyHeaders(headers: http.IncomingHttpHeaders, length: number): http.IncomingHttpHeaders {
	const rest = { ...headers };
	for (const name of ['transfer-encoding', 'x-amz-decoded-content-length', 'x-amz-trailer', 'content-encoding']) delete rest[name];
	const otherEncodings = (headers['content-encoding'] ?? '')
		.split(',')
		.map((e) => e.trim())
		.filter((e) => e && e !== 'aws-chunked');
	return {
		...rest,
		...(otherEncodings.length ? { 'content-encoding': otherEncodings.join(',') } : {}),
		'content-length': String(length),
		'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
	};
}

/** Does s3rver hold an object at this (still percent-encoded) path? */
async function existsUpstream(upstreamPort: number, rawPath: string): Promise<boolean> {
	return await new Promise((resolve, reject) => {
		const head = http.request({ host: '127.0.0.1', port: upstreamPort, method: 'HEAD', path: rawPath, agent: false }, (answer) => {
			answer.resume();
			resolve(answer.statusCode === 200);
		});
		head.on('error', reject);
		head.end();
	});
}

/** PutObject or CompleteMultipartUpload: the two writes S3 makes conditional on `If-None-Match`. */
function isConditionalWrite(entry: S3Request): boolean {
	if (entry.method === 'POST') return entry.params.has('uploadId');
	if (entry.method !== 'PUT' || entry.headers['x-amz-copy-source'] !== undefined) return false;
	return !['partNumber', 'uploadId', 'tagging', 'acl'].some((name) => entry.params.has(name));
}

/** Answers a request with an injected fault. The body is drained first: a client still sending would otherwise see EPIPE, not the fault. */
function injectFault(fault: Fault, req: http.IncomingMessage, res: http.ServerResponse, entry: S3Request): void {
	afterBody(req, () => {
		if (fault.kind === 'reset') return void res.socket?.destroy();
		if (fault.kind !== 'status') return void res.socket?.destroy();
		entry.status = fault.status;
		res.writeHead(fault.status, {
			'content-type': 'application/xml',
			...(fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {}),
		});
		res.end(s3Error(fault.status));
	});
}

function safeDecode(path: string): string {
	try {
		return decodeURIComponent(path);
	} catch {
		return path;
	}
}

async function listen(server: http.Server, port: number): Promise<number> {
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(port, '127.0.0.1', () => resolve());
	});
	return (server.address() as AddressInfo).port;
}

export async function startS3Server(options: S3ServerOptions): Promise<S3Server> {
	const directory = mkdtempSync(join(tmpdir(), 'whilter-s3rver-'));
	const staging = mkdtempSync(join(tmpdir(), 'whilter-s3rver-staging-'));
	const s3rver = new S3rver({
		address: '127.0.0.1',
		port: 0,
		silent: true,
		directory,
		configureBuckets: options.buckets.map((name) => ({ name })),
	});
	writeBeforeAnswering(s3rver.store, staging);
	const upstream = await s3rver.run();
	const requests: S3Request[] = [];
	const faults = new FaultInjector();
	// FaultInjector does the matching and counting for silence(); the fault kind is not used.
	const silenced = new FaultInjector();
	// Matching only, as for silence().
	const denied = new FaultInjector();
	const multipart = new Map<string, MultipartRecord>();
	/** The ledger of multipart uploads, from s3rver's answers: a create's UploadId, a complete's success. */
	const noteMultipart = (entry: S3Request, answer: http.IncomingMessage) => {
		if (entry.method !== 'POST' || answer.statusCode !== 200) return;
		const [, bucket = '', ...keyParts] = entry.path.split('/');
		const uploadId = entry.params.get('uploadId');
		if (uploadId !== null) {
			// s3rver answers 200 once the object is written and the parts are gone.
			const record = multipart.get(uploadId);
			if (record) record.state = 'completed';
			return;
		}
		if (!entry.params.has('uploads')) return;
		const chunks: Buffer[] = [];
		answer.on('data', (chunk: Buffer) => chunks.push(chunk));
		answer.on('end', () => {
			const id = /<UploadId>([^<]+)<\/UploadId>/.exec(Buffer.concat(chunks).toString('utf8'))?.[1];
			const idSent = entry.fault !== 'reset-after' && entry.fault !== 'truncate';
			if (id) multipart.set(id, { uploadId: id, bucket, key: keyParts.join('/'), state: 'open', idSent });
		});
	};
	/** The last conditional write to each path: the next one waits for it. */
	const writing = new Map<string, Promise<void>>();
	/** s3rver keeps a multipart upload's parts in `<bucket>/._S3rver_uploads/<upload id>/`. */
	const uploadsDir = (bucket: string) => join(directory, bucket, '._S3rver_uploads');

	const abortUpload = (req: http.IncomingMessage, res: http.ServerResponse, entry: S3Request) => {
		const bucket = entry.path.split('/')[1] ?? '';
		const uploadId = entry.params.get('uploadId') ?? '';
		const dir = join(uploadsDir(bucket), uploadId);
		if (!/^[0-9a-f]+$/.test(uploadId) || !existsSync(dir)) {
			return answerError(req, res, entry, 404, xmlError('NoSuchUpload', 'The specified upload does not exist.'));
		}
		rmSync(dir, { recursive: true, force: true });
		const record = multipart.get(uploadId);
		if (record) record.state = 'aborted';
		afterBody(req, () => {
			entry.status = 204;
			res.writeHead(204).end();
		});
	};

	/** ListParts: the parts s3rver keeps for the upload (`<part number>` and `<part number>.md5` files). */
	const listParts = (req: http.IncomingMessage, res: http.ServerResponse, entry: S3Request) => {
		const [, bucket = '', ...keyParts] = entry.path.split('/');
		const key = keyParts.join('/');
		const uploadId = entry.params.get('uploadId') ?? '';
		const dir = join(uploadsDir(bucket), uploadId);
		if (!/^[0-9a-f]+$/.test(uploadId) || !existsSync(dir)) {
			return answerError(req, res, entry, 404, xmlError('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', `<UploadId>${xmlText(uploadId)}</UploadId>`));
		}
		const marker = Number(entry.params.get('part-number-marker') ?? 0);
		const maxParts = Math.min(Number(entry.params.get('max-parts') ?? 1000), 1000);
		const all = readdirSync(dir)
			.filter((name) => /^\d+$/.test(name))
			.map(Number)
			.sort((a, b) => a - b)
			.filter((n) => n > marker);
		const page = all.slice(0, maxParts);
		const parts = page
			.map((n) => {
				const file = join(dir, String(n));
				const stat = statSync(file);
				const md5 = existsSync(`${file}.md5`) ? readFileSync(`${file}.md5`, 'utf8').trim() : '';
				return `<Part><PartNumber>${n}</PartNumber><LastModified>${stat.mtime.toISOString()}</LastModified><ETag>&quot;${md5}&quot;</ETag><Size>${stat.size}</Size></Part>`;
			})
			.join('');
		const xml =
			'<?xml version="1.0" encoding="UTF-8"?><ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
			`<Bucket>${xmlText(bucket)}</Bucket><Key>${xmlText(key)}</Key><UploadId>${uploadId}</UploadId>` +
			`<PartNumberMarker>${marker}</PartNumberMarker><NextPartNumberMarker>${page.at(-1) ?? 0}</NextPartNumberMarker>` +
			`<MaxParts>${maxParts}</MaxParts><IsTruncated>${all.length > page.length}</IsTruncated>${parts}<StorageClass>STANDARD</StorageClass></ListPartsResult>`;
		afterBody(req, () => {
			entry.status = 200;
			res.writeHead(200, { 'content-type': 'application/xml' });
			res.end(xml);
		});
	};

	const conditionalWrite = async (req: http.IncomingMessage, res: http.ServerResponse, entry: S3Request, dropAfter: Ending, rawPath: string, checked?: CheckedBody) => {
		const previous = writing.get(entry.path) ?? Promise.resolve();
		let done = () => {};
		const mine = new Promise<void>((resolve) => (done = resolve));
		writing.set(entry.path, previous.then(() => mine));
		try {
			await previous;
			if (await existsUpstream(upstream.port, rawPath)) {
				return answerError(
					req,
					res,
					entry,
					412,
					xmlError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', '<Condition>If-None-Match</Condition>'),
				);
			}
			await forward(upstream.port, req, res, entry, dropAfter, false, checked, (answer) => noteMultipart(entry, answer));
		} finally {
			done();
		}
	};

	const refuse = (req: http.IncomingMessage, res: http.ServerResponse, entry: S3Request, refusal: S3Refusal) => {
		entry.refused = refusal.code;
		answerError(req, res, entry, refusal.status, refusalXml(refusal));
	};

	/** The body read and checked when the signature asks for it (a hash, chunks, checksums); undefined when it may stream through. */
	const checkBody = async (req: http.IncomingMessage, payload: PayloadRule): Promise<CheckedBody | S3Refusal | undefined> => {
		if (!payloadNeedsBody(payload, req.rawHeaders)) return undefined;
		const result = checkPayload(payload, req.rawHeaders, await readBody(req));
		if (!result.ok) return result.refusal;
		return { bytes: result.data, headers: result.decoded ? plainBodyHeaders(req.headers, result.data.length) : req.headers };
	};

	const handle = async (req: http.IncomingMessage, res: http.ServerResponse, entry: S3Request, dropAfter: Ending) => {
		const verdict = verifyRequest({ method: entry.method, url: req.url ?? '/', rawHeaders: req.rawHeaders }, keys, server.clock());
		if (!verdict.ok) return refuse(req, res, entry, verdict.refusal);
		if (denied.take(entry.method, entry.path, entry.query)) return refuse(req, res, entry, { status: 403, code: 'AccessDenied', message: 'Access Denied' });
		const body = await checkBody(req, verdict.payload);
		if (body && !('bytes' in body)) return refuse(req, res, entry, body);
		await server.beforeHandling?.(entry);
		if (entry.method === 'DELETE' && entry.params.has('uploadId')) return abortUpload(req, res, entry);
		if (entry.method === 'GET' && entry.params.has('uploadId')) return listParts(req, res, entry);
		const condition = isConditionalWrite(entry) ? req.headers['if-none-match'] : undefined;
		if (condition === undefined || server.conditionalWrites === 'ignored') {
			return void forward(upstream.port, req, res, entry, dropAfter, false, body, (answer) => noteMultipart(entry, answer));
		}
		if (server.conditionalWrites === 'not-implemented' || condition !== '*') {
			return answerError(
				req,
				res,
				entry,
				501,
				xmlError('NotImplemented', 'A header you provided implies functionality that is not implemented', '<Header>If-None-Match</Header>'),
			);
		}
		await conditionalWrite(req, res, entry, dropAfter, (req.url ?? '/').split('?')[0], body);
	};
	const handleSafely = (req: http.IncomingMessage, res: http.ServerResponse, entry: S3Request, dropAfter: Ending) =>
		void handle(req, res, entry, dropAfter).catch(() => res.destroy());

	const keys = S3_TEST_KEYS;
	const proxy = http.createServer((req, res) => {
		// S3 sends its own time; the SDK corrects its clock offset from it.
		res.setHeader('date', new Date(server.clock()).toUTCString());
		const url = new URL(req.url ?? '/', 'http://127.0.0.1');
		const entry: S3Request = {
			method: req.method ?? 'GET',
			path: safeDecode(url.pathname),
			query: url.search.slice(1),
			params: url.searchParams,
			headers: req.headers,
			faulted: false,
			time: Date.now(),
		};
		requests.push(entry);
		const silence = silenced.take(entry.method, entry.path, entry.query) as Silence | undefined;
		if (silence) {
			entry.silenced = true;
			if (silence.afterFirstBytes) void forward(upstream.port, req, res, entry, false, true);
			// Otherwise unread and unanswered until close() drops the connection.
			return;
		}
		const fault = faults.take(entry.method, entry.path, entry.query);
		if (fault) {
			entry.faulted = true;
			entry.fault = fault.kind;
		}
		if (fault?.kind === 'truncate') return handleSafely(req, res, entry, 'truncate');
		if (!fault || fault.kind === 'reset-after') return handleSafely(req, res, entry, fault?.kind === 'reset-after');
		// Latency holds the request unread (backpressure keeps the body on the socket), then handles it.
		if (fault.kind === 'latency') return void setTimeout(() => handleSafely(req, res, entry, false), fault.ms);
		injectFault(fault, req, res, entry);
	});
	const port = await listen(proxy, options.port ?? 0);
	const endpoint = `http://127.0.0.1:${port}`;
	const upstreamEndpoint = `http://127.0.0.1:${upstream.port}`;
	const clients: S3Client[] = [];
	const direct = makeClient(upstreamEndpoint, S3RVER_KEYS);

	const server: S3Server = {
		endpoint,
		upstreamEndpoint,
		port,
		directory,
		...S3_TEST_KEYS,
		clock: options.clock ?? (() => Date.now()),
		requests,
		faults,
		conditionalWrites: options.conditionalWrites ?? 'enforced',
		silence: (match) => silenced.add({ ...match, kind: 'reset' }),
		clearSilences: () => silenced.clear(),
		deny: (match) => denied.add({ ...match, kind: 'reset' }),
		clearDenials: () => denied.clear(),
		client: () => {
			const made = makeClient(endpoint, S3_TEST_KEYS);
			clients.push(made);
			return made;
		},
		getObjectBuffer: async (bucket, key) => {
			const object = await direct.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
			if (!object.Body) throw new Error(`s3://${bucket}/${key} has no body`);
			return Buffer.from(await object.Body.transformToByteArray());
		},
		putObject: async (bucket, key, body) => {
			await direct.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
		},
		deleteObject: async (bucket, key) => {
			await direct.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
		},
		listKeys: async (bucket, prefix) => {
			const keys: string[] = [];
			let token: string | undefined;
			do {
				const page = await direct.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
				keys.push(...(page.Contents ?? []).map((o) => o.Key ?? ''));
				token = page.IsTruncated ? page.NextContinuationToken : undefined;
			} while (token);
			return keys;
		},
		multipart,
		openUploads: (bucket) => {
			const dir = uploadsDir(bucket);
			return existsSync(dir) ? readdirSync(dir) : [];
		},
		close: async () => {
			for (const made of [...clients, direct]) made.destroy();
			proxy.closeAllConnections();
			await new Promise<void>((resolve) => proxy.close(() => resolve()));
			await s3rver.close();
			rmSync(directory, { recursive: true, force: true });
			rmSync(staging, { recursive: true, force: true });
		},
	};
	return server;
}
