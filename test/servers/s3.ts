import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

// s3rver ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => {
	run(): Promise<AddressInfo>;
	close(): Promise<void>;
};

export type S3Fault =
	| { method?: string; path?: string | RegExp; times?: number; kind: 'status'; status: number; retryAfter?: number }
	| { method?: string; path?: string | RegExp; times?: number; kind: 'latency'; ms: number }
	| { method?: string; path?: string | RegExp; times?: number; kind: 'reset' };

export interface S3Request {
	method: string;
	path: string;
	query: string;
	faulted: boolean;
	status?: number;
}

export interface S3Server {
	endpoint: string;
	region: string;
	accessKeyId: string;
	secretAccessKey: string;
	requests: S3Request[];
	faults: { add(fault: S3Fault): void; clear(): void };
	client(): S3Client;
	getObjectBuffer(bucket: string, key: string): Promise<Buffer>;
	listKeys(bucket: string, prefix?: string): Promise<string[]>;
	close(): Promise<void>;
}

/**
 * A real S3-compatible server (s3rver) on 127.0.0.1 behind a small streaming proxy that logs every
 * request and injects faults (5xx, 429, latency, dropped connections) for the retry tests.
 * s3rver's quirks are respected, not hidden: it does not check signatures, it stores a streamed
 * aws-chunked body with the SDK's checksum trailer corrupted (clients use WHEN_REQUIRED checksums),
 * and it answers AbortMultipartUpload / ListParts with 405.
 */
export async function startS3Server(options: { buckets: string[] }): Promise<S3Server> {
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
	const faults: Array<S3Fault & { left: number }> = [];

	const proxy = http.createServer((req, res) => {
		const [path, query = ''] = (req.url ?? '/').split('?');
		const entry: S3Request = { method: req.method ?? 'GET', path: decodeURIComponent(path), query, faulted: false };
		requests.push(entry);
		const fault = faults.find(
			(f) =>
				f.left > 0 &&
				(!f.method || f.method === entry.method) &&
				(!f.path || (typeof f.path === 'string' ? entry.path.startsWith(f.path) : f.path.test(entry.path))),
		);
		if (fault) fault.left--;
		const forward = () => {
			const upstreamReq = http.request(
				{ host: '127.0.0.1', port: upstream.port, method: req.method, path: req.url, headers: req.headers },
				(upstreamRes) => {
					entry.status = upstreamRes.statusCode;
					res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
					upstreamRes.pipe(res);
				},
			);
			upstreamReq.on('error', () => res.destroy());
			req.pipe(upstreamReq);
		};
		if (!fault) return forward();
		entry.faulted = true;
		if (fault.kind === 'latency') {
			setTimeout(forward, fault.ms);
			return;
		}
		// The body is drained first: a client that is still sending would otherwise see EPIPE, not the fault.
		req.resume();
		req.on('end', () => {
			if (fault.kind === 'reset') {
				req.socket.destroy();
				return;
			}
			entry.status = fault.status;
			res.writeHead(fault.status, {
				'content-type': 'application/xml',
				...(fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {}),
			});
			const code = fault.status === 503 ? 'SlowDown' : fault.status === 429 ? 'TooManyRequests' : 'InternalError';
			res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected fault</Message></Error>`);
		});
	});
	await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
	const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
	const clients: S3Client[] = [];
	const client = () => {
		const made = new S3Client({
			endpoint,
			region: 'us-east-1',
			forcePathStyle: true,
			credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
			requestChecksumCalculation: 'WHEN_REQUIRED',
			responseChecksumValidation: 'WHEN_REQUIRED',
		});
		clients.push(made);
		return made;
	};
	const direct = client();
	return {
		endpoint,
		region: 'us-east-1',
		accessKeyId: 'S3RVER',
		secretAccessKey: 'S3RVER',
		requests,
		faults: {
			add: (fault) => faults.push({ ...fault, left: fault.times ?? 1 }),
			clear: () => void faults.splice(0),
		},
		client,
		getObjectBuffer: async (bucket, key) => {
			const object = await direct.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
			return Buffer.from(await object.Body!.transformToByteArray());
		},
		listKeys: async (bucket, prefix) => {
			const listed = await direct.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
			return (listed.Contents ?? []).map((o) => o.Key ?? '');
		},
		close: async () => {
			for (const made of clients) made.destroy();
			proxy.closeAllConnections();
			await new Promise<void>((resolve) => proxy.close(() => resolve()));
			await s3rver.close();
			rmSync(directory, { recursive: true, force: true });
		},
	};
}
