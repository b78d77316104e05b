import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { PutObjectCommand } from '@aws-sdk/client-s3';
import Papa from 'papaparse';
import { ZipFile } from 'yazl';

import { startS3Server } from './s3';
import { startWhilterServer } from './whilter';

type S3 = Awaited<ReturnType<typeof startS3Server>>;
type Whilter = Awaited<ReturnType<typeof startWhilterServer>>;

let s3: S3;
let whilter: Whilter;
let token: string;

beforeAll(async () => {
	s3 = await startS3Server({ buckets: ['drop'] });
	whilter = await startWhilterServer({
		client: 'acme',
		clientId: 'id-1',
		clientSecret: 'secret-1',
		apiKey: 'key-1',
		s3: { endpoint: s3.endpoint, bucket: 'drop', region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
	});
	token = whilter.issueToken();
});

afterAll(async () => {
	await whilter.close();
	await s3.close();
});

afterEach(() => whilter.faults.clear());

interface CallOptions {
	body?: unknown;
	headers?: Record<string, string>;
	raw?: string;
}

async function call(method: string, path: string, options: CallOptions = {}) {
	const headers: Record<string, string> = { ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers };
	const response = await fetch(`${whilter.url}${path}`, {
		method,
		headers,
		body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
	});
	const text = await response.text();
	return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

const auth = () => ({ authorization: `Bearer ${token}` });

async function uploadZip(key: string, csv: string): Promise<void> {
	const zip = new ZipFile();
	zip.addBuffer(Buffer.from(csv), key.replace(/^.*\//, '').replace(/\.zip$/, '.csv'));
	zip.end();
	const chunks: Buffer[] = [];
	for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
	await s3.client().send(new PutObjectCommand({ Bucket: 'drop', Key: key, Body: Buffer.concat(chunks) }));
}

function taskBody(overrides: Record<string, unknown> = {}) {
	return {
		'client-id': 'id-1',
		'campaign-id': 'c1',
		'template-id': 'T1',
		'file-name': 'T1_camp.zip',
		'file-path': 'in/T1_camp.zip',
		'row-count': 2,
		'expected-output-duration': 0,
		...overrides,
	};
}

describe('Whilter contract server: strict about what it accepts', () => {
	beforeAll(async () => uploadZip('in/T1_camp.zip', 'phone,name\r\n1,a\r\n2,b\r\n'));

	it.each<[string, string, string, CallOptions, number]>([
		['token without JSON content type', 'POST', '/getToken/token', { raw: 'client_id=id-1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415],
		['token without client_secret', 'POST', '/getToken/token', { body: { client_id: 'id-1' } }, 400],
		['token with a wrong secret', 'POST', '/getToken/token', { body: { client_id: 'id-1', client_secret: 'nope' } }, 401],
		['task without a token', 'POST', '/acme/task', { body: taskBody() }, 401],
		['task with a made-up token', 'POST', '/acme/task', { body: taskBody(), headers: { authorization: 'Bearer forged' } }, 401],
		['status without a token', 'GET', '/acme/task/status/x', {}, 401],
	])('%s → %s', async (_name, method, path, options, status) => {
		expect((await call(method, path, options)).status).toBe(status);
	});

	it.each<[string, CallOptions, number]>([
		['a text body', { raw: 'hello', headers: { 'content-type': 'text/plain' } }, 415],
		['a missing campaign-id', { body: { ...taskBody(), 'campaign-id': undefined } }, 400],
		['an unknown field', { body: taskBody({ colour: 'red' }) }, 400],
		['a row-count that is not an integer', { body: taskBody({ 'row-count': '2' }) }, 400],
		['a file name off the convention', { body: taskBody({ 'file-name': 'camp.zip', 'file-path': 'in/camp.zip' }) }, 400],
		['a template id that does not match the file name', { body: taskBody({ 'template-id': 'T2' }) }, 400],
		['a file that is not in the drop', { body: taskBody({ 'file-name': 'T1_other.zip', 'file-path': 'in/T1_other.zip' }) }, 400],
		['a callback that is not a URL', { body: taskBody({ 'callback-url': 'not a url' }) }, 400],
	])('task with %s → %s', async (_name, options, status) => {
		const response = await call('POST', '/acme/task', { ...options, headers: { ...auth(), ...(options.headers ?? {}) } });
		expect(response.status).toBe(status);
		expect(typeof response.body?.message).toBe('string');
	});

	it('a task for another client path is not found', async () => {
		expect((await call('POST', '/other/task', { body: taskBody(), headers: auth() })).status).toBe(404);
	});

	it('real-time requests need the x-api-key and the documented fields', async () => {
		const good = { 'client-request-id': 'r1', 'customer-id': 'c', 'use-case-id': 'u', 'user-id': 'x', 'image-urls': ['https://a.test/i.png'] };
		expect((await call('POST', '/video/request', { body: good, headers: auth() })).status).toBe(403);
		const withKey = { ...auth(), 'x-api-key': 'key-1' };
		expect((await call('POST', '/video/request', { body: { ...good, 'user-id': undefined }, headers: withKey })).status).toBe(400);
		expect((await call('POST', '/video/request', { body: { ...good, 'image-urls': ['not-a-url'] }, headers: withKey })).status).toBe(400);
		expect((await call('POST', '/video/request', { body: { ...good, extra: 1 }, headers: withKey })).status).toBe(400);
		const accepted = await call('POST', '/video/request', { body: good, headers: withKey });
		expect(accepted.status).toBe(200);
		expect(accepted.body).toMatchObject({ status: 'SUCCESS', 'client-request-id': 'r1' });
		const id = String(accepted.body?.['whilter-request-id']);
		expect((await call('GET', `/status/${id}`, { headers: withKey })).body).toMatchObject({ status: 'PROCESSING', 'video-url': null });
		expect((await call('GET', `/status/${id}`, { headers: withKey })).body).toMatchObject({ status: 'SUCCESS' });
		expect((await call('GET', '/status/unknown', { headers: withKey })).status).toBe(404);
	});

	it('a token stops working after expireTokens and after its allowed uses', async () => {
		const own = whilter.issueToken();
		expect((await call('GET', '/acme/task/status/none', { headers: { authorization: `Bearer ${own}` } })).status).toBe(404);
		whilter.expireTokens();
		expect((await call('GET', '/acme/task/status/none', { headers: { authorization: `Bearer ${own}` } })).status).toBe(401);
		whilter.expireTokenAfterUses(1);
		const limited = whilter.issueToken();
		expect((await call('GET', '/acme/task/status/none', { headers: { authorization: `Bearer ${limited}` } })).status).toBe(404);
		expect((await call('GET', '/acme/task/status/none', { headers: { authorization: `Bearer ${limited}` } })).status).toBe(401);
		whilter.expireTokenAfterUses(Number.POSITIVE_INFINITY);
		token = whilter.issueToken();
	});
});

describe('Whilter contract server: a task from upload to callback', () => {
	it('moves pending → in-progress → completed, writes the output CSV and POSTs the callback', async () => {
		const callbacks: unknown[] = [];
		const receiver = http.createServer((req, res) => {
			let body = '';
			req.on('data', (c: Buffer) => (body += c.toString()));
			req.on('end', () => {
				callbacks.push(JSON.parse(body));
				res.end('ok');
			});
		});
		await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
		const callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/cb`;
		const csv = ['phone,name', ...Array.from({ length: 10 }, (_, i) => `${i},"Name, ${i}"`)].join('\r\n') + '\r\n';
		await uploadZip('flow/T9_flow.zip', csv);
		const created = await call('POST', '/acme/task', {
			body: taskBody({ 'template-id': 'T9', 'file-name': 'T9_flow.zip', 'file-path': 'flow/T9_flow.zip', 'row-count': 10, 'callback-url': callbackUrl }),
			headers: auth(),
		});
		expect(created.status).toBe(200);
		const taskId = String(created.body?.['task-id']);
		const status = async () => (await call('GET', `/acme/task/status/${taskId}`, { headers: auth() })).body;
		expect(await status()).toMatchObject({ status: 'pending', count: 10 });
		await whilter.advance(taskId);
		expect(await status()).toMatchObject({ status: 'in-progress' });
		await whilter.advance(taskId);
		const done = await status();
		expect(done).toMatchObject({ status: 'completed', 'file-path': `flow/output/${taskId}.csv` });
		const output = Papa.parse<Record<string, string>>((await s3.getObjectBuffer('drop', String(done?.['file-path']))).toString(), { header: true, skipEmptyLines: true });
		expect(output.meta.fields).toEqual(['phone', 'name', 'media-url', 'error']);
		expect(output.data).toHaveLength(10);
		expect(output.data[1]).toMatchObject({ name: 'Name, 1', error: '' });
		expect(output.data[1]['media-url']).toMatch(/^https:\/\//);
		expect(output.data.filter((r) => r.error).length).toBe(2);
		expect(callbacks).toEqual([{ 'task-id': taskId, status: 'completed', 'file-path': `flow/output/${taskId}.csv`, count: 10, message: 'Task completed' }]);

		whilter.statusVariant = 'upper';
		expect(await status()).toMatchObject({ status: 'COMPLETED', 'total-count': 10, processed: 10 });
		whilter.statusVariant = 'seed';
		receiver.close();
	});
});

describe('Whilter contract server: faults inject as configured', () => {
	it('429 with Retry-After, then the normal answer', async () => {
		whilter.faults.add({ method: 'GET', path: /\/status\//, kind: 'status', status: 429, retryAfter: 7 });
		const first = await call('GET', '/acme/task/status/none', { headers: auth() });
		expect(first.status).toBe(429);
		expect(first.headers.get('retry-after')).toBe('7');
		expect((await call('GET', '/acme/task/status/none', { headers: auth() })).status).toBe(404);
	});

	it.each([500, 502, 503] as const)('%i, as many times as asked', async (status) => {
		whilter.faults.add({ path: '/acme/task/status', kind: 'status', status, times: 2 });
		const codes = [];
		for (let i = 0; i < 3; i++) codes.push((await call('GET', '/acme/task/status/none', { headers: auth() })).status);
		expect(codes).toEqual([status, status, 404]);
	});

	it('latency delays the answer', async () => {
		whilter.faults.add({ kind: 'latency', ms: 300 });
		const started = Date.now();
		await call('GET', '/acme/task/status/none', { headers: auth() });
		expect(Date.now() - started).toBeGreaterThanOrEqual(280);
	});

	it('reset drops the connection without acting; reset-after acts, then drops it', async () => {
		whilter.faults.add({ method: 'POST', path: '/acme/task', kind: 'reset' });
		const before = whilter.tasks.size;
		await expect(call('POST', '/acme/task', { body: taskBody(), headers: auth() })).rejects.toThrow();
		expect(whilter.tasks.size).toBe(before);
		whilter.faults.add({ method: 'POST', path: '/acme/task', kind: 'reset-after' });
		await expect(call('POST', '/acme/task', { body: taskBody(), headers: auth() })).rejects.toThrow();
		expect(whilter.tasks.size).toBe(before + 1);
	});
});
