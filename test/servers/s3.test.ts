/**
 * The S3 server: s3rver behind the logging, fault-injecting proxy. A multipart upload through the
 * real SDK shows a faulted part being retried; raw HTTP shows each fault kind as a client sees it.
 */
import { existsSync } from 'node:fs';
import http from 'node:http';

import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';

import { startS3Server } from './s3';
import type { S3Server } from './s3';

let s3: S3Server;
let client: S3Client;

beforeAll(async () => {
	s3 = await startS3Server({ buckets: ['drop', 'other'] });
	client = s3.client();
});

afterAll(async () => s3.close());

afterEach(() => s3.faults.clear());

/** A plain HTTP request to the proxy (s3rver does not check signatures), resolving to the status or the socket error. */
async function raw(method: string, path: string, body?: Buffer): Promise<{ status?: number; headers?: http.IncomingHttpHeaders; text?: string; error?: NodeJS.ErrnoException }> {
	return await new Promise((resolve) => {
		const req = http.request(`${s3.endpoint}${path}`, { method, agent: false }, (res) => {
			let text = '';
			res.on('data', (c: Buffer) => (text += c.toString()));
			res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
		});
		req.on('error', (error: NodeJS.ErrnoException) => resolve({ error }));
		req.end(body);
	});
}

/** Two parts (S3's 5 MiB minimum for all but the last), uploaded with the SDK's own retries. */
async function multipartUpload(key: string): Promise<Buffer> {
	const first = Buffer.alloc(5 * 1024 * 1024, 'a');
	const second = Buffer.from('tail of the file');
	const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: 'drop', Key: key }));
	const parts = [];
	for (const [index, body] of [first, second].entries()) {
		const { ETag } = await client.send(new UploadPartCommand({ Bucket: 'drop', Key: key, UploadId, PartNumber: index + 1, Body: body }));
		parts.push({ ETag, PartNumber: index + 1 });
	}
	await client.send(new CompleteMultipartUploadCommand({ Bucket: 'drop', Key: key, UploadId, MultipartUpload: { Parts: parts } }));
	return Buffer.concat([first, second]);
}

describe('S3 server', () => {
	it('is a proxy on 127.0.0.1 in front of s3rver, with the fixed test keys', () => {
		expect(s3.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
		expect(s3.upstreamEndpoint).not.toBe(s3.endpoint);
		expect(s3).toMatchObject({ region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
	});

	it('stores what the SDK puts; the helpers read and list it', async () => {
		await client.send(new PutObjectCommand({ Bucket: 'drop', Key: 'in/a.txt', Body: 'hello' }));
		await client.send(new PutObjectCommand({ Bucket: 'drop', Key: 'in/b.txt', Body: Buffer.from([0, 1, 2]) }));
		await client.send(new PutObjectCommand({ Bucket: 'drop', Key: 'out/c.txt', Body: 'x' }));
		expect((await s3.getObjectBuffer('drop', 'in/a.txt')).toString()).toBe('hello');
		expect(await s3.getObjectBuffer('drop', 'in/b.txt')).toEqual(Buffer.from([0, 1, 2]));
		expect((await s3.listKeys('drop', 'in/')).sort()).toEqual(['in/a.txt', 'in/b.txt']);
		expect(await s3.listKeys('other')).toEqual([]);
	});

	it('logs what went through the proxy, not what the helpers read', async () => {
		const before = s3.requests.length;
		await client.send(new PutObjectCommand({ Bucket: 'drop', Key: 'logged.txt', Body: 'x' }));
		await s3.getObjectBuffer('drop', 'logged.txt');
		expect(s3.requests.slice(before)).toEqual([expect.objectContaining({ method: 'PUT', path: '/drop/logged.txt', status: 200, faulted: false })]);
	});

	it('a multipart upload survives a 503 and a reset on UploadPart: the SDK sends those parts again', async () => {
		s3.faults.add({ method: 'PUT', query: 'partNumber', kind: 'status', status: 503 });
		s3.faults.add({ method: 'PUT', query: /partNumber=2/, kind: 'reset' });
		const before = s3.requests.length;
		const sent = await multipartUpload('big/file.zip');
		// Buffer.equals: jest's deep equality walks 5 MB byte by byte for seconds.
		expect((await s3.getObjectBuffer('drop', 'big/file.zip')).equals(sent)).toBe(true);
		const parts = s3.requests.slice(before).filter((r) => r.method === 'PUT' && r.params.has('partNumber'));
		expect(parts.map((r) => [r.params.get('partNumber'), r.fault ?? 'ok'])).toEqual([
			['1', 'status'],
			['1', 'ok'],
			['2', 'reset'],
			['2', 'ok'],
		]);
		expect(parts[0].status).toBe(503);
		expect(s3.faults.pending()).toBe(0);
	});

	it('429 with Retry-After and an S3 XML error', async () => {
		s3.faults.add({ method: 'GET', path: '/drop/in/a.txt', kind: 'status', status: 429, retryAfter: 5 });
		const response = await raw('GET', '/drop/in/a.txt');
		expect(response.status).toBe(429);
		expect(response.headers?.['retry-after']).toBe('5');
		expect(response.text).toContain('<Code>TooManyRequests</Code>');
		expect((await raw('GET', '/drop/in/a.txt')).text).toBe('hello');
	});

	it.each([500, 502, 503, 504] as const)('status %i, then the real answer', async (status) => {
		s3.faults.add({ path: /^\/drop\/in\/a\.txt$/, kind: 'status', status });
		expect((await raw('GET', '/drop/in/a.txt')).status).toBe(status);
		expect((await raw('GET', '/drop/in/a.txt')).status).toBe(200);
	});

	it('latency delays the answer by about the given time', async () => {
		s3.faults.add({ method: 'GET', kind: 'latency', ms: 300 });
		const started = performance.now();
		const response = await raw('GET', '/drop/in/a.txt');
		expect(performance.now() - started).toBeGreaterThanOrEqual(290);
		expect(response.text).toBe('hello');
	});

	it('a faulted PUT stores nothing; reset gives the client a socket error', async () => {
		s3.faults.add({ method: 'PUT', kind: 'status', status: 500 });
		expect((await raw('PUT', '/drop/never-1.txt', Buffer.from('x'))).status).toBe(500);
		s3.faults.add({ method: 'PUT', kind: 'reset' });
		expect((await raw('PUT', '/drop/never-2.txt', Buffer.from('x'))).error?.code).toBe('ECONNRESET');
		expect(await s3.listKeys('drop', 'never-')).toEqual([]);
	});

	it('reset-after stores the object, then drops the connection', async () => {
		s3.faults.add({ method: 'PUT', kind: 'reset-after' });
		expect((await raw('PUT', '/drop/stored-anyway.txt', Buffer.from('kept'))).error?.code).toBe('ECONNRESET');
		expect((await s3.getObjectBuffer('drop', 'stored-anyway.txt')).toString()).toBe('kept');
	});

	it('close() stops both servers and removes the storage directory', async () => {
		const other = await startS3Server({ buckets: ['b'] });
		expect(existsSync(other.directory)).toBe(true);
		await other.close();
		expect(existsSync(other.directory)).toBe(false);
		await expect(fetch(other.endpoint)).rejects.toThrow();
	});
});
