/**
 * A real S3-compatible server (s3rver) on 127.0.0.1 behind a small streaming proxy. The proxy is the
 * endpoint clients get: it logs every request and injects the same faults as the contract servers
 * (http.ts), e.g. a 503 on an UploadPart (`{ method: 'PUT', query: 'partNumber', kind: 'status', status: 503 }`),
 * and can hold requests unanswered (silence) to play a store that accepted the connection and went quiet.
 *
 * The proxy does what S3 does where s3rver does not:
 * - conditional writes: `If-None-Match: *` on PutObject and CompleteMultipartUpload is answered 412
 *   PreconditionFailed when the key exists (checked on s3rver just before the write is forwarded,
 *   conditional writes to one key taken one at a time). `conditionalWrites` can make it a store
 *   without them instead: 'not-implemented' answers the header with 501 NotImplemented, as some
 *   S3-compatible stores do; 'ignored' lets s3rver ignore it (the object is overwritten);
 * - AbortMultipartUpload (s3rver answers 405): the upload's stored parts are removed, 204.
 *
 * s3rver's other quirks are respected, not hidden:
 * - it does not check signatures (any keys work; S3RVER/S3RVER are its documented defaults);
 * - it stores an aws-chunked streamed body with the SDK's checksum trailer corrupted, so every client
 *   made here uses WHEN_REQUIRED checksums;
 * - it answers ListParts with 405.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { FaultInjector } from './http';
import type { Fault, FaultKind, FaultMatch } from './http';

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
	region: 'us-east-1';
	accessKeyId: 'S3RVER';
	secretAccessKey: 'S3RVER';
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
	close(): Promise<void>;
}

export type Silence = FaultMatch & { afterFirstBytes?: boolean };

export interface S3ServerOptions {
	buckets: string[];
	/** Fixed port for the proxy (the sandbox); default random. */
	port?: number;
	/** Default 'enforced', as S3. */
	conditionalWrites?: ConditionalWrites;
}

const XML_CODES: Record<number, string> = { 429: 'TooManyRequests', 500: 'InternalError', 502: 'BadGateway', 503: 'SlowDown', 504: 'GatewayTimeout' };

function xmlError(code: string, message: string, extra = ''): string {
	return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message>${extra}</Error>`;
}

function s3Error(status: number): string {
	return xmlError(XML_CODES[status] ?? 'InternalError', `injected fault: HTTP ${status}`);
}

function makeClient(endpoint: string): S3Client {
	return new S3Client({
		endpoint,
		region: 'us-east-1',
		forcePathStyle: true,
		credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
		requestChecksumCalculation: 'WHEN_REQUIRED',
		responseChecksumValidation: 'WHEN_REQUIRED',
	});
}

/**
 * Forwards one request to s3rver, streaming both ways; with `dropAfter` the client's socket is
 * destroyed once s3rver has answered. Resolves when the client's exchange is over.
 */
function forward(
	upstreamPort: number,
	req: http.IncomingMessage,
	res: http.ServerResponse,
	entry: S3Request,
	dropAfter: boolean,
	stallAfterFirstBytes = false,
): Promise<void> {
	const over = new Promise<void>((resolve) => res.once('close', () => resolve()));
	const upstreamReq = http.request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers }, (upstreamRes) => {
		if (stallAfterFirstBytes) {
			// The client gets the head and a few bytes of a body whose Content-Length promises more.
			entry.status = upstreamRes.statusCode;
			res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
			upstreamRes.once('data', (chunk: Buffer) => {
				res.write(chunk.subarray(0, Math.min(chunk.length - 1, 64)));
				upstreamRes.destroy();
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
		res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
		upstreamRes.pipe(res);
	});
	upstreamReq.on('error', () => res.destroy());
	// A client that gives up mid-upload must not leave a half request hanging on s3rver.
	res.on('close', () => {
		if (!res.writableFinished) upstreamReq.destroy();
	});
	req.pipe(upstreamReq);
	return over;
}

/** Answers with an S3 XML error once the request body is drained (a client still sending would otherwise see EPIPE). */
function answerError(req: http.IncomingMessage, res: http.ServerResponse, entry: S3Request, status: number, xml: string): void {
	req.resume();
	req.on('end', () => {
		entry.status = status;
		res.writeHead(status, { 'content-type': 'application/xml' });
		res.end(xml);
	});
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
	req.resume();
	req.on('end', () => {
		if (fault.kind === 'reset') return void res.socket?.destroy();
		if (fault.kind !== 'status') return;
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
	const s3rver = new S3rver({
		address: '127.0.0.1',
		port: 0,
		silent: true,
		directory,
		configureBuckets: options.buckets.map((name) => ({ name })),
	});
	const upstream = await s3rver.run();
	const requests: S3Request[] = [];
	const faults = new FaultInjector();
	// FaultInjector does the matching and counting for silence(); the fault kind is not used.
	const silenced = new FaultInjector();
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
		req.resume();
		req.on('end', () => {
			entry.status = 204;
			res.writeHead(204).end();
		});
	};

	const conditionalWrite = async (req: http.IncomingMessage, res: http.ServerResponse, entry: S3Request, dropAfter: boolean, rawPath: string) => {
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
			await forward(upstream.port, req, res, entry, dropAfter);
		} finally {
			done();
		}
	};

	const handle = async (req: http.IncomingMessage, res: http.ServerResponse, entry: S3Request, dropAfter: boolean) => {
		await server.beforeHandling?.(entry);
		if (entry.method === 'DELETE' && entry.params.has('uploadId')) return abortUpload(req, res, entry);
		const condition = isConditionalWrite(entry) ? req.headers['if-none-match'] : undefined;
		if (condition === undefined || server.conditionalWrites === 'ignored') return void forward(upstream.port, req, res, entry, dropAfter);
		if (server.conditionalWrites === 'not-implemented' || condition !== '*') {
			return answerError(
				req,
				res,
				entry,
				501,
				xmlError('NotImplemented', 'A header you provided implies functionality that is not implemented', '<Header>If-None-Match</Header>'),
			);
		}
		await conditionalWrite(req, res, entry, dropAfter, (req.url ?? '/').split('?')[0]);
	};
	const handleSafely = (req: http.IncomingMessage, res: http.ServerResponse, entry: S3Request, dropAfter: boolean) =>
		void handle(req, res, entry, dropAfter).catch(() => res.destroy());

	const proxy = http.createServer((req, res) => {
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
		if (!fault || fault.kind === 'reset-after') return handleSafely(req, res, entry, fault?.kind === 'reset-after');
		// Latency holds the request unread (backpressure keeps the body on the socket), then handles it.
		if (fault.kind === 'latency') return void setTimeout(() => handleSafely(req, res, entry, false), fault.ms);
		injectFault(fault, req, res, entry);
	});
	const port = await listen(proxy, options.port ?? 0);
	const endpoint = `http://127.0.0.1:${port}`;
	const upstreamEndpoint = `http://127.0.0.1:${upstream.port}`;
	const clients: S3Client[] = [];
	const direct = makeClient(upstreamEndpoint);

	const server: S3Server = {
		endpoint,
		upstreamEndpoint,
		port,
		directory,
		region: 'us-east-1',
		accessKeyId: 'S3RVER',
		secretAccessKey: 'S3RVER',
		requests,
		faults,
		conditionalWrites: options.conditionalWrites ?? 'enforced',
		silence: (match) => silenced.add({ ...match, kind: 'reset' }),
		clearSilences: () => silenced.clear(),
		client: () => {
			const made = makeClient(endpoint);
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
		},
	};
	return server;
}
