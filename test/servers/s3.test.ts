/**
 * The S3 server: s3rver behind the logging, fault-injecting proxy. A multipart upload through the
 * real SDK shows a faulted part being retried; raw HTTP shows each fault kind as a client sees it.
 * Conditional writes, AbortMultipartUpload and silence are what the proxy adds to s3rver.
 */
import { existsSync } from 'node:fs';
import http from 'node:http';

import {
	AbortMultipartUploadCommand,
	CompleteMultipartUploadCommand,
	CreateMultipartUploadCommand,
	PutObjectCommand,
	UploadPartCommand,
} from '@aws-sdk/client-s3';
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

afterEach(() => {
	s3.faults.clear();
	s3.conditionalWrites = 'enforced';
	s3.beforeHandling = undefined;
});

/** A plain HTTP request to the proxy (s3rver does not check signatures), resolving to the status or the socket error. */
async function raw(
	method: string,
	path: string,
	body?: Buffer,
	headers: http.OutgoingHttpHeaders = {},
	endpoint = s3.endpoint,
): Promise<{ status?: number; headers?: http.IncomingHttpHeaders; text?: string; error?: NodeJS.ErrnoException }> {
	return await new Promise((resolve) => {
		const req = http.request(`${endpoint}${path}`, { method, agent: false, headers }, (res) => {
			let text = '';
			res.on('data', (c: Buffer) => (text += c.toString()));
			res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
		});
		req.on('error', (error: NodeJS.ErrnoException) => resolve({ error }));
		req.end(body);
	});
}

/** Creates a multipart upload and sends two parts (S3's 5 MiB minimum for all but the last), with the SDK's own retries. */
async function uploadParts(key: string): Promise<{ UploadId?: string; parts: Array<{ ETag?: string; PartNumber: number }>; sent: Buffer }> {
	const first = Buffer.alloc(5 * 1024 * 1024, 'a');
	const second = Buffer.from('tail of the file');
	const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: 'drop', Key: key }));
	const parts = [];
	for (const [index, body] of [first, second].entries()) {
		const { ETag } = await client.send(new UploadPartCommand({ Bucket: 'drop', Key: key, UploadId, PartNumber: index + 1, Body: body }));
		parts.push({ ETag, PartNumber: index + 1 });
	}
	return { UploadId, parts, sent: Buffer.concat([first, second]) };
}

async function multipartUpload(key: string): Promise<Buffer> {
	const { UploadId, parts, sent } = await uploadParts(key);
	await client.send(new CompleteMultipartUploadCommand({ Bucket: 'drop', Key: key, UploadId, MultipartUpload: { Parts: parts } }));
	return sent;
}

/** What an SDK call failed with: S3's error code and HTTP status. */
async function failureOf(call: Promise<unknown>): Promise<{ name?: string; status?: number }> {
	const error = (await call.then(
		() => undefined,
		(e: unknown) => e,
	)) as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
	return { name: error?.name, status: error?.$metadata?.httpStatusCode };
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

describe('S3 server: conditional writes (If-None-Match: *), as S3 enforces them', () => {
	it('PutObject: stored when the key is free, 412 PreconditionFailed (S3\'s XML error) when it holds an object, which stays as it was', async () => {
		await client.send(new PutObjectCommand({ Bucket: 'drop', Key: 'cond/a.txt', Body: 'first', IfNoneMatch: '*' }));
		expect((await s3.getObjectBuffer('drop', 'cond/a.txt')).toString()).toBe('first');
		expect(await failureOf(client.send(new PutObjectCommand({ Bucket: 'drop', Key: 'cond/a.txt', Body: 'second', IfNoneMatch: '*' })))).toEqual({
			name: 'PreconditionFailed',
			status: 412,
		});
		const refused = await raw('PUT', '/drop/cond/a.txt', Buffer.from('third'), { 'if-none-match': '*' });
		expect(refused.status).toBe(412);
		expect(refused.text).toContain('<Code>PreconditionFailed</Code>');
		expect(refused.text).toContain('<Condition>If-None-Match</Condition>');
		expect((await s3.getObjectBuffer('drop', 'cond/a.txt')).toString()).toBe('first');
		expect(s3.requests.at(-1)).toMatchObject({ method: 'PUT', path: '/drop/cond/a.txt', status: 412 });
	});

	it('without the header a write replaces the object (the proxy passes it through)', async () => {
		await client.send(new PutObjectCommand({ Bucket: 'drop', Key: 'cond/b.txt', Body: 'one' }));
		await client.send(new PutObjectCommand({ Bucket: 'drop', Key: 'cond/b.txt', Body: 'two' }));
		expect((await s3.getObjectBuffer('drop', 'cond/b.txt')).toString()).toBe('two');
	});

	it('CompleteMultipartUpload: 412 when the key was written after the upload began; the parts stay until aborted', async () => {
		const { UploadId, parts } = await uploadParts('cond/multi.zip');
		await s3.putObject('drop', 'cond/multi.zip', 'written by someone else meanwhile');
		const complete = new CompleteMultipartUploadCommand({ Bucket: 'drop', Key: 'cond/multi.zip', UploadId, MultipartUpload: { Parts: parts }, IfNoneMatch: '*' });
		expect(await failureOf(client.send(complete))).toEqual({ name: 'PreconditionFailed', status: 412 });
		expect((await s3.getObjectBuffer('drop', 'cond/multi.zip')).toString()).toBe('written by someone else meanwhile');
		expect(s3.openUploads('drop')).toContain(UploadId);
		await client.send(new AbortMultipartUploadCommand({ Bucket: 'drop', Key: 'cond/multi.zip', UploadId }));
		expect(s3.openUploads('drop')).not.toContain(UploadId);
	});

	it('CompleteMultipartUpload to a free key with the header completes', async () => {
		const { UploadId, parts, sent } = await uploadParts('cond/multi-free.zip');
		await client.send(new CompleteMultipartUploadCommand({ Bucket: 'drop', Key: 'cond/multi-free.zip', UploadId, MultipartUpload: { Parts: parts }, IfNoneMatch: '*' }));
		expect((await s3.getObjectBuffer('drop', 'cond/multi-free.zip')).equals(sent)).toBe(true);
		expect(s3.openUploads('drop')).not.toContain(UploadId);
	});

	it('two conditional writes to one free key at once: one is stored, the other gets 412', async () => {
		const statuses = await Promise.all(
			['x', 'y'].map(async (body) => (await raw('PUT', '/drop/cond/race.txt', Buffer.from(body), { 'if-none-match': '*' })).status),
		);
		expect(statuses.sort()).toEqual([200, 412]);
	});

	it('beforeHandling runs before the proxy handles a request: another writer\'s object appears just before the write, which is refused', async () => {
		s3.beforeHandling = async (request) => {
			if (request.method === 'PUT' && request.path === '/drop/cond/late.txt') await s3.putObject('drop', 'cond/late.txt', 'the other run');
		};
		expect((await raw('PUT', '/drop/cond/late.txt', Buffer.from('mine'), { 'if-none-match': '*' })).status).toBe(412);
		expect((await s3.getObjectBuffer('drop', 'cond/late.txt')).toString()).toBe('the other run');
	});

	it('a value other than * is not implemented (S3 supports only *)', async () => {
		expect((await raw('PUT', '/drop/cond/etag.txt', Buffer.from('x'), { 'if-none-match': '"abc"' })).status).toBe(501);
		expect(await s3.listKeys('drop', 'cond/etag.txt')).toEqual([]);
	});
});

describe('S3 server: a store without conditional writes', () => {
	it("'not-implemented' answers the header with 501 NotImplemented and writes nothing; without it the write is done", async () => {
		s3.conditionalWrites = 'not-implemented';
		expect(await failureOf(client.send(new PutObjectCommand({ Bucket: 'drop', Key: 'nocond/a.txt', Body: 'x', IfNoneMatch: '*' })))).toEqual({
			name: 'NotImplemented',
			status: 501,
		});
		const answer = await raw('PUT', '/drop/nocond/a.txt', Buffer.from('x'), { 'if-none-match': '*' });
		expect(answer.text).toContain('<Code>NotImplemented</Code>');
		expect(await s3.listKeys('drop', 'nocond/')).toEqual([]);
		await client.send(new PutObjectCommand({ Bucket: 'drop', Key: 'nocond/a.txt', Body: 'x' }));
		expect((await s3.getObjectBuffer('drop', 'nocond/a.txt')).toString()).toBe('x');

		const { UploadId, parts } = await uploadParts('nocond/multi.zip');
		const complete = (IfNoneMatch?: string) =>
			new CompleteMultipartUploadCommand({ Bucket: 'drop', Key: 'nocond/multi.zip', UploadId, MultipartUpload: { Parts: parts }, IfNoneMatch });
		expect(await failureOf(client.send(complete('*')))).toEqual({ name: 'NotImplemented', status: 501 });
		await client.send(complete());
		expect(await s3.listKeys('drop', 'nocond/multi.zip')).toEqual(['nocond/multi.zip']);
	});

	it("'ignored' lets the write replace the object, header or not", async () => {
		s3.conditionalWrites = 'ignored';
		await client.send(new PutObjectCommand({ Bucket: 'drop', Key: 'nocond/b.txt', Body: 'one', IfNoneMatch: '*' }));
		await client.send(new PutObjectCommand({ Bucket: 'drop', Key: 'nocond/b.txt', Body: 'two', IfNoneMatch: '*' }));
		expect((await s3.getObjectBuffer('drop', 'nocond/b.txt')).toString()).toBe('two');
	});

	it('can start as a store without conditional writes', async () => {
		const other = await startS3Server({ buckets: ['b'], conditionalWrites: 'not-implemented' });
		try {
			expect(other.conditionalWrites).toBe('not-implemented');
			expect((await raw('PUT', '/b/k', Buffer.from('x'), { 'if-none-match': '*' }, other.endpoint)).status).toBe(501);
		} finally {
			await other.close();
		}
	});
});

describe('S3 server: AbortMultipartUpload and silence', () => {
	it('AbortMultipartUpload removes the stored parts (204); an unknown upload is 404 NoSuchUpload', async () => {
		const { UploadId } = await uploadParts('abort/a.zip');
		expect(s3.openUploads('drop')).toContain(UploadId);
		expect((await raw('DELETE', `/drop/abort/a.zip?uploadId=${UploadId}`)).status).toBe(204);
		expect(s3.openUploads('drop')).not.toContain(UploadId);
		const unknown = await raw('DELETE', `/drop/abort/a.zip?uploadId=${UploadId}`);
		expect(unknown.status).toBe(404);
		expect(unknown.text).toContain('<Code>NoSuchUpload</Code>');
		expect(await s3.listKeys('drop', 'abort/')).toEqual([]);
	});

	it('silence holds a request unanswered (logged as silenced) until close() drops its connection', async () => {
		const other = await startS3Server({ buckets: ['b'] });
		let answer: ReturnType<typeof raw>;
		try {
			other.silence({ method: 'GET' });
			answer = raw('GET', '/b/anything', undefined, {}, other.endpoint);
			while (!other.requests.some((r) => r.silenced)) await new Promise((resolve) => setTimeout(resolve, 10));
			expect(other.requests).toEqual([expect.objectContaining({ method: 'GET', path: '/b/anything', silenced: true })]);
			// Only a matching request is held.
			expect((await raw('PUT', '/b/k', Buffer.from('x'), {}, other.endpoint)).status).toBe(200);
			expect(other.requests[0].status).toBeUndefined();
		} finally {
			await other.close();
		}
		const { status, error } = await answer;
		expect(status).toBeUndefined();
		expect(error).toBeDefined();
	});

	it('silence after the first bytes: the answer begins (status, full Content-Length, a few bytes), then nothing more', async () => {
		await s3.putObject('drop', 'stall/file.csv', 'x'.repeat(5000));
		s3.silence({ method: 'GET', path: '/drop/stall/file.csv', afterFirstBytes: true });
		const { status, length, received, request } = await new Promise<{ status?: number; length: number; received: number; request: http.ClientRequest }>((resolve) => {
			const request = http.get(`${s3.endpoint}/drop/stall/file.csv`, { agent: false }, (res) => {
				res.once('data', (chunk: Buffer) => resolve({ status: res.statusCode, length: Number(res.headers['content-length']), received: chunk.length, request }));
			});
		});
		request.destroy();
		expect(status).toBe(200);
		expect(length).toBe(5000);
		expect(received).toBeGreaterThan(0);
		expect(received).toBeLessThan(5000);
		expect(s3.requests.at(-1)).toMatchObject({ path: '/drop/stall/file.csv', silenced: true, status: 200 });
		expect((await raw('GET', '/drop/stall/file.csv')).text).toHaveLength(5000);
	});
});
