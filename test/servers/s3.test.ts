/**
 * The S3 server: s3rver behind the logging, fault-injecting proxy. A multipart upload through the
 * real SDK shows a faulted part being retried; raw HTTP shows each fault kind as a client sees it.
 * Conditional writes, AbortMultipartUpload and silence are what the proxy adds to s3rver.
 */
import { existsSync, WriteStream } from 'node:fs';
import http from 'node:http';

import { createHash, createHmac } from 'node:crypto';
import { Readable } from 'node:stream';

import {
	AbortMultipartUploadCommand,
	CompleteMultipartUploadCommand,
	CreateMultipartUploadCommand,
	GetObjectCommand,
	HeadObjectCommand,
	ListPartsCommand,
	PutObjectCommand,
	S3Client,
	UploadPartCommand,
} from '@aws-sdk/client-s3';

import { S3_TEST_KEYS, startS3Server } from './s3';
import type { S3Server } from './s3';
import { amzDateOf, signingKey, signRequest } from './sigv4';
import type { SigV4Keys } from './sigv4';

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

/**
 * A plain HTTP request to the proxy, signed with the server's key at its clock unless `unsigned`,
 * resolving to the status or the socket error.
 */
async function raw(
	method: string,
	path: string,
	body?: Buffer,
	headers: Record<string, string> = {},
	endpoint = s3.endpoint,
	options: { unsigned?: boolean; keys?: SigV4Keys; nowMs?: number; payload?: string } = {},
): Promise<{ status?: number; headers?: http.IncomingHttpHeaders; text?: string; error?: NodeJS.ErrnoException }> {
	const signed = options.unsigned
		? headers
		: signRequest({ method, url: path, host: new URL(endpoint).host, headers, body, payload: options.payload, keys: options.keys ?? S3_TEST_KEYS, nowMs: options.nowMs ?? Date.now() });
	return await new Promise((resolve) => {
		const req = http.request(`${endpoint}${path}`, { method, agent: false, headers: signed }, (res) => {
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
	it('is a proxy on 127.0.0.1 in front of s3rver, with the one test key and region', () => {
		expect(s3.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
		expect(s3.upstreamEndpoint).not.toBe(s3.endpoint);
		expect(s3).toMatchObject(S3_TEST_KEYS);
		expect(S3_TEST_KEYS.region).not.toBe('us-east-1');
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

describe('S3 server: Signature V4, checked as S3 checks it', () => {
	const others: S3Client[] = [];
	afterAll(() => others.forEach((c) => c.destroy()));
	/** An SDK client on the proxy with some of the keys changed. */
	const clientWith = (change: Partial<SigV4Keys>, extra: Partial<ConstructorParameters<typeof S3Client>[0] & object> = {}) => {
		const keys = { ...S3_TEST_KEYS, ...change };
		const made = new S3Client({
			endpoint: s3.endpoint,
			region: keys.region,
			forcePathStyle: true,
			credentials: { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey },
			requestChecksumCalculation: 'WHEN_REQUIRED',
			responseChecksumValidation: 'WHEN_REQUIRED',
			...extra,
		});
		others.push(made);
		return made;
	};
	const put = (c: S3Client, key: string) => failureOf(c.send(new PutObjectCommand({ Bucket: 'drop', Key: key, Body: 'x' })));

	it('a wrong secret is 403 SignatureDoesNotMatch, an unknown key 403 InvalidAccessKeyId; nothing is stored', async () => {
		expect(await put(clientWith({ secretAccessKey: 'not-the-secret' }), 'sig/a.txt')).toEqual({ name: 'SignatureDoesNotMatch', status: 403 });
		expect(await put(clientWith({ accessKeyId: 'AKIANOTKNOWN' }), 'sig/a.txt')).toEqual({ name: 'InvalidAccessKeyId', status: 403 });
		expect(await s3.listKeys('drop', 'sig/')).toEqual([]);
		const answer = await raw('PUT', '/drop/sig/a.txt', Buffer.from('x'), {}, s3.endpoint, { keys: { ...S3_TEST_KEYS, secretAccessKey: 'wrong' } });
		expect(answer.status).toBe(403);
		expect(answer.text).toContain('<Code>SignatureDoesNotMatch</Code>');
		expect(answer.text).toContain('<CanonicalRequest>PUT\n/drop/sig/a.txt\n');
		expect(s3.requests.at(-1)).toMatchObject({ status: 403, refused: 'SignatureDoesNotMatch' });
	});

	it("another region in the credential scope is 400 AuthorizationHeaderMalformed naming the server's region, as S3 answers", async () => {
		expect(await put(clientWith({ region: 'us-east-1' }), 'sig/b.txt')).toEqual({ name: 'AuthorizationHeaderMalformed', status: 400 });
		const answer = await raw('PUT', '/drop/sig/b.txt', Buffer.from('x'), {}, s3.endpoint, { keys: { ...S3_TEST_KEYS, region: 'eu-west-1' } });
		expect(answer.status).toBe(400);
		expect(answer.text).toContain(`the region 'eu-west-1' is wrong; expecting '${S3_TEST_KEYS.region}'`);
		expect(answer.text).toContain(`<Region>${S3_TEST_KEYS.region}</Region>`);
	});

	it("more than 15 minutes from the server's clock is 403 RequestTimeTooSkewed; every answer's Date is the server's clock", async () => {
		const now = Date.now();
		const server = s3.clock;
		try {
			s3.clock = () => now + 20 * 60_000;
			const answer = await raw('PUT', '/drop/sig/c.txt', Buffer.from('x'), {}, s3.endpoint, { nowMs: now });
			expect(answer.status).toBe(403);
			expect(answer.text).toContain('<Code>RequestTimeTooSkewed</Code>');
			expect(answer.text).toContain('<MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>');
			expect(answer.headers?.date).toBe(new Date(now + 20 * 60_000).toUTCString());
			// 14 minutes is within S3's 15.
			expect((await raw('PUT', '/drop/sig/c.txt', Buffer.from('x'), {}, s3.endpoint, { nowMs: now + 6 * 60_000 })).status).toBe(200);
			expect((await raw('GET', '/drop/sig/c.txt', undefined, {}, s3.endpoint, { nowMs: now + 20 * 60_000 })).headers?.date).toBe(new Date(now + 20 * 60_000).toUTCString());
		} finally {
			s3.clock = server;
		}
	});

	it("the AWS SDK corrects its clock from that Date header: refused once (RequestTimeTooSkewed), then stored", async () => {
		const server = s3.clock;
		try {
			s3.clock = () => Date.now() + 60 * 60_000;
			const sdk = clientWith({});
			const before = s3.requests.length;
			await sdk.send(new PutObjectCommand({ Bucket: 'drop', Key: 'sig/skew.txt', Body: 'x' }));
			expect(s3.requests.slice(before).map((r) => [r.status, r.refused])).toEqual([
				[403, 'RequestTimeTooSkewed'],
				[200, undefined],
			]);
		} finally {
			s3.clock = server;
		}
	});

	it('no signature is 403 AccessDenied; another scheme (SigV2) 400 InvalidRequest; an x-amz header not signed 403 AccessDenied', async () => {
		const none = await raw('GET', '/drop/in/a.txt', undefined, {}, s3.endpoint, { unsigned: true });
		expect(none.status).toBe(403);
		expect(none.text).toContain('<Code>AccessDenied</Code>');
		const v2 = await raw('GET', '/drop/in/a.txt', undefined, { authorization: `AWS ${S3_TEST_KEYS.accessKeyId}:c2lnbmF0dXJl`, date: new Date().toUTCString() }, s3.endpoint, { unsigned: true });
		expect(v2.status).toBe(400);
		expect(v2.text).toContain('Please use AWS4-HMAC-SHA256');
		const signed = signRequest({ method: 'PUT', url: '/drop/sig/d.txt', host: new URL(s3.endpoint).host, body: Buffer.from('x'), keys: S3_TEST_KEYS, nowMs: Date.now() });
		const extra = await raw('PUT', '/drop/sig/d.txt', Buffer.from('x'), { ...signed, 'x-amz-meta-added': 'later' }, s3.endpoint, { unsigned: true });
		expect(extra.status).toBe(403);
		expect(extra.text).toContain('<HeadersNotSigned>x-amz-meta-added</HeadersNotSigned>');
		expect(await s3.listKeys('drop', 'sig/d')).toEqual([]);
	});

	it('x-amz-content-sha256: a body that does not match its hash is 400 XAmzContentSHA256Mismatch and not stored; UNSIGNED-PAYLOAD is stored', async () => {
		const otherHash = createHash('sha256').update('something else').digest('hex');
		const mismatch = await raw('PUT', '/drop/sig/e.txt', Buffer.from('the body'), {}, s3.endpoint, { payload: otherHash });
		expect(mismatch.status).toBe(400);
		expect(mismatch.text).toContain('<Code>XAmzContentSHA256Mismatch</Code>');
		expect(await s3.listKeys('drop', 'sig/e')).toEqual([]);
		expect((await raw('PUT', '/drop/sig/e.txt', Buffer.from('the body'), {}, s3.endpoint, { payload: 'UNSIGNED-PAYLOAD' })).status).toBe(200);
		expect((await s3.getObjectBuffer('drop', 'sig/e.txt')).toString()).toBe('the body');
	});

	it.each(['with space.txt', 'plus+equals=and&amp.txt', 'unicode-é-日本.txt', "odd !'()*~@$,;:.txt", '100%.txt'])(
		'a key S3 would canonicalise with care (%s): signed by the SDK, accepted, stored under exactly that key, read back',
		async (name) => {
			const key = `keys/${name}`;
			await client.send(new PutObjectCommand({ Bucket: 'drop', Key: key, Body: name }));
			expect((await client.send(new HeadObjectCommand({ Bucket: 'drop', Key: key }))).ContentLength).toBe(Buffer.byteLength(name));
			expect((await s3.getObjectBuffer('drop', key)).toString()).toBe(name);
			expect(await s3.listKeys('drop', key)).toEqual([key]);
		},
	);

	it('STREAMING-UNSIGNED-PAYLOAD-TRAILER (the SDK streaming with a CRC32 trailer): checked and stored as sent; a wrong trailer checksum is 400 BadDigest', async () => {
		const streaming = clientWith({}, { requestChecksumCalculation: 'WHEN_SUPPORTED' });
		const before = s3.requests.length;
		const body = Buffer.alloc(200_000, 'z');
		await streaming.send(new PutObjectCommand({ Bucket: 'drop', Key: 'sig/trailer.bin', Body: Readable.from([body.subarray(0, 70_000), body.subarray(70_000)]), ContentLength: body.length }));
		expect(s3.requests.slice(before)[0].headers['x-amz-content-sha256']).toBe('STREAMING-UNSIGNED-PAYLOAD-TRAILER');
		expect((await s3.getObjectBuffer('drop', 'sig/trailer.bin')).equals(body)).toBe(true);

		const chunked = Buffer.from('5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n');
		const headers = { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': '5', 'x-amz-trailer': 'x-amz-checksum-crc32' };
		const bad = await raw('PUT', '/drop/sig/trailer-bad.txt', chunked, headers, s3.endpoint, { payload: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' });
		expect(bad.status).toBe(400);
		expect(bad.text).toContain('<Code>BadDigest</Code>');
		expect(await s3.listKeys('drop', 'sig/trailer-bad')).toEqual([]);
	});

	it('STREAMING-AWS4-HMAC-SHA256-PAYLOAD: chunks signed in a chain from the request signature are stored decoded; a chunk with a bad signature is refused', async () => {
		const nowMs = Date.now();
		const data = [Buffer.alloc(70_000, 'q'), Buffer.from('end')];
		const decodedLength = data.reduce((n, d) => n + d.length, 0);
		const send = async (key: string, tamper: boolean) => {
			const frame = (chunks: Buffer[], seed: string) => {
				const date = amzDateOf(nowMs);
				const scope = `${date.slice(0, 8)}/${S3_TEST_KEYS.region}/s3/aws4_request`;
				const signer = signingKey(S3_TEST_KEYS.secretAccessKey, date.slice(0, 8), S3_TEST_KEYS.region);
				const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
				let previous = seed;
				return Buffer.concat(
					[...chunks, Buffer.alloc(0)].map((chunk, i) => {
						const signature = createHmac('sha256', signer).update(['AWS4-HMAC-SHA256-PAYLOAD', date, scope, previous, sha(Buffer.alloc(0)), sha(chunk)].join('\n')).digest('hex');
						previous = signature;
						const sent = tamper && i === 1 ? Buffer.from('END') : chunk;
						return Buffer.concat([Buffer.from(`${sent.length.toString(16)};chunk-signature=${signature}\r\n`), sent, Buffer.from('\r\n')]);
					}),
				);
			};
			const lengthOfFrame = frame(data, '0'.repeat(64)).length;
			const headers = signRequest({
				method: 'PUT',
				url: `/drop/${key}`,
				host: new URL(s3.endpoint).host,
				headers: { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(decodedLength), 'content-length': String(lengthOfFrame) },
				payload: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
				keys: S3_TEST_KEYS,
				nowMs,
			});
			const seed = /Signature=([0-9a-f]{64})/.exec(headers.authorization)![1];
			return await raw('PUT', `/drop/${key}`, frame(data, seed), headers, s3.endpoint, { unsigned: true });
		};
		expect((await send('sig/chunks.bin', false)).status).toBe(200);
		expect((await s3.getObjectBuffer('drop', 'sig/chunks.bin')).equals(Buffer.concat(data))).toBe(true);
		const tampered = await send('sig/chunks-bad.bin', true);
		expect(tampered.status).toBe(403);
		expect(tampered.text).toContain('<Code>SignatureDoesNotMatch</Code>');
		expect(await s3.listKeys('drop', 'sig/chunks-bad')).toEqual([]);
	});
});

describe('S3 server: deny (an IAM policy without the action)', () => {
	it('a matching request with a valid signature is 403 AccessDenied and not done; the next one is', async () => {
		s3.deny({ method: 'PUT', path: '/drop/deny/a.txt' });
		expect(await failureOf(client.send(new PutObjectCommand({ Bucket: 'drop', Key: 'deny/a.txt', Body: 'x' })))).toEqual({ name: 'AccessDenied', status: 403 });
		expect(s3.requests.at(-1)).toMatchObject({ status: 403, refused: 'AccessDenied' });
		expect(await s3.listKeys('drop', 'deny/')).toEqual([]);
		await client.send(new PutObjectCommand({ Bucket: 'drop', Key: 'deny/a.txt', Body: 'x' }));
		expect(await s3.listKeys('drop', 'deny/')).toEqual(['deny/a.txt']);
	});
});

describe('S3 server: ListParts', () => {
	it("lists an open upload's parts (numbers, sizes, the ETags UploadPart returned); an unknown upload is 404 NoSuchUpload", async () => {
		const { UploadId, parts } = await uploadParts('listparts/a.zip');
		const listed = await client.send(new ListPartsCommand({ Bucket: 'drop', Key: 'listparts/a.zip', UploadId }));
		expect(listed.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag])).toEqual([
			[1, 5 * 1024 * 1024, parts[0].ETag],
			[2, Buffer.byteLength('tail of the file'), parts[1].ETag],
		]);
		expect(listed).toMatchObject({ Bucket: 'drop', Key: 'listparts/a.zip', UploadId, IsTruncated: false });
		const page = await client.send(new ListPartsCommand({ Bucket: 'drop', Key: 'listparts/a.zip', UploadId, MaxParts: 1 }));
		expect(page).toMatchObject({ IsTruncated: true, NextPartNumberMarker: '1' });
		expect(page.Parts).toHaveLength(1);
		await client.send(new AbortMultipartUploadCommand({ Bucket: 'drop', Key: 'listparts/a.zip', UploadId }));
		expect(await failureOf(client.send(new ListPartsCommand({ Bucket: 'drop', Key: 'listparts/a.zip', UploadId })))).toEqual({ name: 'NoSuchUpload', status: 404 });
	});
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

type WriteCallback = (error?: Error | null) => void;
interface FileWrites {
	_write(chunk: Buffer, encoding: BufferEncoding, callback: WriteCallback): void;
	_writev(chunks: Array<{ chunk: Buffer }>, callback: WriteCallback): void;
}

/**
 * Holds every file write (any fs.WriteStream in this process, s3rver's included) of a chunk that
 * contains `marker` until release(): a disk that has not yet written what it was given. `held`
 * resolves at the first such write.
 */
function holdFileWritesOf(marker: string) {
	const proto = WriteStream.prototype as unknown as FileWrites;
	const { _write: write, _writev: writev } = proto;
	let release = () => {};
	const released = new Promise<void>((resolve) => (release = resolve));
	let noteHeld = () => {};
	const held = new Promise<void>((resolve) => (noteHeld = resolve));
	const marked = (chunk: unknown) => Buffer.isBuffer(chunk) && chunk.includes(marker);
	proto._write = function (this: FileWrites, chunk, encoding, callback) {
		if (!marked(chunk)) return write.call(this, chunk, encoding, callback);
		noteHeld();
		void released.then(() => write.call(this, chunk, encoding, callback));
	};
	proto._writev = function (this: FileWrites, chunks, callback) {
		if (!chunks.some(({ chunk }) => marked(chunk))) return writev.call(this, chunks, callback);
		noteHeld();
		void released.then(() => writev.call(this, chunks, callback));
	};
	return {
		held,
		release,
		restore: () => {
			release();
			proto._write = write;
			proto._writev = writev;
		},
	};
}

/**
 * Whether `answer` settles within a second. Only used while the disk is held, where the right
 * answer is "not yet": a slow machine can only make it look right for a wrong server, never wrong
 * for a right one.
 */
async function settlesWhileHeld(answer: Promise<unknown>): Promise<boolean> {
	let timer: NodeJS.Timeout | undefined;
	const waited = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 1000)));
	const settled = answer.then(
		() => true,
		() => true,
	);
	try {
		return await Promise.race([settled, waited]);
	} finally {
		clearTimeout(timer);
	}
}

/**
 * Sends a request whose body holds "written late" while the disk holds those bytes; checks that
 * no answer comes while they are held, then lets the disk write them and returns the answer.
 */
async function answeredOnlyOnceWritten<T>(send: () => Promise<T>): Promise<T> {
	const disk = holdFileWritesOf('written late');
	try {
		const answer = send();
		await disk.held;
		expect(await settlesWhileHeld(answer)).toBe(false);
		disk.release();
		return await answer;
	} finally {
		disk.restore();
	}
}

describe('S3 server: an answered write is on disk (read-after-write, as S3 gives it)', () => {
	it('answers PutObject only once the object is written, so a GetObject right after it reads the whole object', async () => {
		const body = Buffer.from('object written late by the disk '.repeat(20));
		await answeredOnlyOnceWritten(async () => await client.send(new PutObjectCommand({ Bucket: 'drop', Key: 'late/object.bin', Body: body })));
		const object = await client.send(new GetObjectCommand({ Bucket: 'drop', Key: 'late/object.bin' }));
		expect(Buffer.from((await object.Body?.transformToByteArray()) ?? [])).toEqual(body);
	});

	it('answers UploadPart and CompleteMultipartUpload only once their bytes are written', async () => {
		const key = 'late/multipart.bin';
		const head = Buffer.alloc(5 * 1024 * 1024, 'h');
		const tail = Buffer.from('tail part written late by the disk');
		const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: 'drop', Key: key }));
		const first = await client.send(new UploadPartCommand({ Bucket: 'drop', Key: key, UploadId, PartNumber: 1, Body: head }));
		const second = await answeredOnlyOnceWritten(
			async () => await client.send(new UploadPartCommand({ Bucket: 'drop', Key: key, UploadId, PartNumber: 2, Body: tail })),
		);
		// The object's bytes come from the parts' files, the tail's marked bytes among them.
		await answeredOnlyOnceWritten(
			async () =>
				await client.send(
					new CompleteMultipartUploadCommand({
						Bucket: 'drop',
						Key: key,
						UploadId,
						MultipartUpload: { Parts: [{ PartNumber: 1, ETag: first.ETag }, { PartNumber: 2, ETag: second.ETag }] },
					}),
				),
		);
		const object = await client.send(new GetObjectCommand({ Bucket: 'drop', Key: key }));
		// Size and hash: jest's diff of two 5 MiB buffers takes seconds.
		const read = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
		const whole = Buffer.concat([head, tail]);
		expect({ size: read.length, sha256: sha256(read) }).toEqual({ size: whole.length, sha256: sha256(whole) });
	});
});
