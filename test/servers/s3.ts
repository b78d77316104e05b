/**
 * A real S3-compatible server (s3rver) on 127.0.0.1 behind a small streaming proxy. The proxy is the
 * endpoint clients get: it logs every request and injects the same faults as the contract servers
 * (http.ts), e.g. a 503 on an UploadPart (`{ method: 'PUT', query: 'partNumber', kind: 'status', status: 503 }`).
 *
 * s3rver's quirks are respected, not hidden:
 * - it does not check signatures (any keys work; S3RVER/S3RVER are its documented defaults);
 * - it stores an aws-chunked streamed body with the SDK's checksum trailer corrupted, so every client
 *   made here uses WHEN_REQUIRED checksums;
 * - it answers AbortMultipartUpload and ListParts with 405.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

import { FaultInjector } from './http';
import type { Fault, FaultKind } from './http';

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
	/** The status the client got; undefined when its connection was dropped. */
	status?: number;
	time: number;
}

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
	/** A new client on the proxy endpoint, destroyed on close(). */
	client(): S3Client;
	/** An object's bytes, read past the proxy (not logged, never faulted). */
	getObjectBuffer(bucket: string, key: string): Promise<Buffer>;
	/** Every key under the prefix, read past the proxy. */
	listKeys(bucket: string, prefix?: string): Promise<string[]>;
	close(): Promise<void>;
}

export interface S3ServerOptions {
	buckets: string[];
	/** Fixed port for the proxy (the sandbox); default random. */
	port?: number;
}

const XML_CODES: Record<number, string> = { 429: 'TooManyRequests', 500: 'InternalError', 502: 'BadGateway', 503: 'SlowDown', 504: 'GatewayTimeout' };

function s3Error(status: number): string {
	const code = XML_CODES[status] ?? 'InternalError';
	return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected fault: HTTP ${status}</Message></Error>`;
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

/** Forwards one request to s3rver, streaming both ways; with `dropAfter` the client's socket is destroyed once s3rver has answered. */
function forward(upstreamPort: number, req: http.IncomingMessage, res: http.ServerResponse, entry: S3Request, dropAfter: boolean): void {
	const upstreamReq = http.request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers }, (upstreamRes) => {
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
		const fault = faults.take(entry.method, entry.path, entry.query);
		if (fault) {
			entry.faulted = true;
			entry.fault = fault.kind;
		}
		if (!fault || fault.kind === 'reset-after') return forward(upstream.port, req, res, entry, fault?.kind === 'reset-after');
		// Latency holds the request unread (backpressure keeps the body on the socket), then forwards it.
		if (fault.kind === 'latency') return void setTimeout(() => forward(upstream.port, req, res, entry, false), fault.ms);
		injectFault(fault, req, res, entry);
	});
	const port = await listen(proxy, options.port ?? 0);
	const endpoint = `http://127.0.0.1:${port}`;
	const upstreamEndpoint = `http://127.0.0.1:${upstream.port}`;
	const clients: S3Client[] = [];
	const direct = makeClient(upstreamEndpoint);

	return {
		endpoint,
		upstreamEndpoint,
		port,
		directory,
		region: 'us-east-1',
		accessKeyId: 'S3RVER',
		secretAccessKey: 'S3RVER',
		requests,
		faults,
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
		close: async () => {
			for (const made of [...clients, direct]) made.destroy();
			proxy.closeAllConnections();
			await new Promise<void>((resolve) => proxy.close(() => resolve()));
			await s3rver.close();
			rmSync(directory, { recursive: true, force: true });
		},
	};
}
