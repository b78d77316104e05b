/**
 * The Whilter contract server over real HTTP: every documented malformed request gets its 4xx, a task
 * goes from an uploaded ZIP to an output CSV in S3 and a callback, the real-time API moves on polls,
 * and the faults inject as configured.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { PutObjectCommand } from '@aws-sdk/client-s3';
import Papa from 'papaparse';
import { ZipFile } from 'yazl';

import { startS3Server } from './s3';
import type { S3Server } from './s3';
import { ROW_ERROR, startWhilterServer } from './whilter';
import type { WhilterServer, WhilterServerOptions } from './whilter';

let s3: S3Server;
let whilter: WhilterServer;
let token: string;

const s3Options = (): WhilterServerOptions['s3'] => ({
	endpoint: s3.endpoint,
	bucket: 'drop',
	region: s3.region,
	accessKeyId: s3.accessKeyId,
	secretAccessKey: s3.secretAccessKey,
});

beforeAll(async () => {
	s3 = await startS3Server({ buckets: ['drop'] });
	whilter = await startWhilterServer({ client: 'acme', clientId: 'id-1', clientSecret: 'secret-1', apiKey: 'key-1', s3: s3Options() });
	token = whilter.issueToken();
	await uploadZip('in/T1_camp.zip', { 'T1_camp.csv': 'phone,name\r\n1,a\r\n2,b\r\n' });
});

afterAll(async () => {
	await whilter.close();
	await s3.close();
});

afterEach(() => whilter.faults.clear());

type Headers = Record<string, string>;

interface CallOptions {
	body?: unknown;
	/** A function is called when the request is sent: test tables are built before the token exists. */
	headers?: Headers | (() => Headers);
	raw?: string;
}

interface Answer {
	status: number;
	headers: globalThis.Headers;
	body: Record<string, unknown>;
}

async function call(method: string, path: string, options: CallOptions = {}): Promise<Answer> {
	const given = typeof options.headers === 'function' ? options.headers() : options.headers;
	const headers: Headers = { ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...given };
	const response = await fetch(`${whilter.url}${path}`, {
		method,
		headers,
		body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
	});
	const text = await response.text();
	return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const auth = (extra: Headers = {}): Headers => ({ authorization: `Bearer ${token}`, ...extra });
const realtimeAuth = (): Headers => auth({ 'x-api-key': 'key-1' });

async function zip(entries: Record<string, string>): Promise<Buffer> {
	const file = new ZipFile();
	for (const [name, text] of Object.entries(entries)) file.addBuffer(Buffer.from(text, 'utf8'), name);
	file.end();
	const chunks: Buffer[] = [];
	for await (const chunk of file.outputStream) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

async function uploadZip(key: string, entries: Record<string, string>): Promise<void> {
	await s3.client().send(new PutObjectCommand({ Bucket: 'drop', Key: key, Body: await zip(entries) }));
}

function taskBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
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

function without(key: string): Record<string, unknown> {
	const body = taskBody();
	delete body[key];
	return body;
}

async function createTask(overrides: Record<string, unknown> = {}): Promise<string> {
	const created = await call('POST', '/acme/task', { body: taskBody(overrides), headers: auth() });
	expect(created.status).toBe(200);
	return String(created.body['task-id']);
}

/** A little HTTP server that records the callbacks Whilter POSTs to it. */
async function startReceiver(status = 200) {
	const received: Array<{ headers: http.IncomingHttpHeaders; body: unknown }> = [];
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
			res.writeHead(status).end('ok');
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/whilter-callback`,
		received,
		close: async () => {
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

describe('token endpoint', () => {
	it('issues a bearer token for the right client credentials', async () => {
		const before = whilter.tokensIssued;
		const answer = await call('POST', '/getToken/token', { body: { client_id: 'id-1', client_secret: 'secret-1' } });
		expect(answer.status).toBe(200);
		expect(answer.body).toEqual({ access_token: expect.any(String), expires_in: 3600, token_type: 'Bearer' });
		expect(whilter.tokensIssued).toBe(before + 1);
		const status = await call('GET', '/acme/task/status/none', { headers: { authorization: `Bearer ${String(answer.body.access_token)}` } });
		expect(status.status).toBe(404);
	});

	it.each<[string, CallOptions, number]>([
		['a form body', { raw: 'client_id=id-1&client_secret=secret-1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415],
		['no content type', { raw: '{"client_id":"id-1","client_secret":"secret-1"}' }, 415],
		['no client_secret', { body: { client_id: 'id-1' } }, 400],
		['no client_id', { body: { client_secret: 'secret-1' } }, 400],
		['a body that is not JSON', { raw: '{client_id', headers: { 'content-type': 'application/json' } }, 400],
		['a wrong secret', { body: { client_id: 'id-1', client_secret: 'nope' } }, 401],
		['a wrong client id', { body: { client_id: 'id-2', client_secret: 'secret-1' } }, 401],
	])('%s is refused with its 4xx and a message, and no token', async (_name, options, status) => {
		const before = whilter.tokensIssued;
		const answer = await call('POST', '/getToken/token', options);
		expect(answer.status).toBe(status);
		expect(answer.body).toEqual({ message: expect.any(String) });
		expect(whilter.tokensIssued).toBe(before);
	});
});

describe('bearer tokens', () => {
	it.each<[string, Record<string, string>]>([
		['no Authorization header', {}],
		['a made-up token', { authorization: 'Bearer forged' }],
		['another scheme', { authorization: `Basic ${Buffer.from('id-1:secret-1').toString('base64')}` }],
	])('%s → 401 "Token expired or invalid"', async (_name, headers) => {
		for (const [method, path] of [
			['POST', '/acme/task'],
			['GET', '/acme/task/status/x'],
			['POST', '/image/task/cancel/x'],
			['POST', '/video/request'],
			['GET', '/status/x'],
		]) {
			const answer = await call(method, path, { headers: { ...headers, 'x-api-key': 'key-1' }, ...(method === 'POST' ? { body: {} } : {}) });
			expect([path, answer.status, answer.body]).toEqual([path, 401, { message: 'Token expired or invalid' }]);
		}
	});

	it('expireTokens() ends every issued token; expireTokenAfterUses(n) ends one after n uses', async () => {
		const own = whilter.issueToken();
		const status = async (t: string) => (await call('GET', '/acme/task/status/none', { headers: { authorization: `Bearer ${t}` } })).status;
		expect(await status(own)).toBe(404);
		whilter.expireTokens();
		expect(await status(own)).toBe(401);
		whilter.expireTokenAfterUses(2);
		const limited = whilter.issueToken();
		expect([await status(limited), await status(limited), await status(limited)]).toEqual([404, 404, 401]);
		whilter.expireTokenAfterUses(Number.POSITIVE_INFINITY);
		token = whilter.issueToken();
	});

	it('a token stops working after its expires_in', async () => {
		const shortLived = await startWhilterServer({ client: 'acme', clientId: 'a', clientSecret: 'b', tokenTtlSeconds: 0.3, s3: s3Options() });
		try {
			const issued = (await (
				await fetch(`${shortLived.url}/getToken/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"client_id":"a","client_secret":"b"}' })
			).json()) as { access_token: string; expires_in: number };
			expect(issued.expires_in).toBe(0.3);
			const status = async () => (await fetch(`${shortLived.url}/acme/task/status/x`, { headers: { authorization: `Bearer ${issued.access_token}` } })).status;
			expect(await status()).toBe(404);
			await new Promise((resolve) => setTimeout(resolve, 400));
			expect(await status()).toBe(401);
		} finally {
			await shortLived.close();
		}
	});
});

describe('POST /<client>/task is strict', () => {
	it('creates a task and answers the documented fields', async () => {
		const before = whilter.tasks.size;
		const answer = await call('POST', '/acme/task', { body: taskBody(), headers: auth() });
		expect(answer.status).toBe(200);
		expect(answer.body).toEqual({ 'client-id': 'id-1', 'campaign-id': 'c1', 'template-id': 'T1', 'task-id': expect.any(String), message: 'Task created successfully.' });
		expect(whilter.tasks.size).toBe(before + 1);
		expect(whilter.tasks.get(String(answer.body['task-id']))).toMatchObject({ state: 'pending', inputKey: 'in/T1_camp.zip', body: taskBody() });
	});

	it('takes the optional priority and callback-url, and a high-priority file name', async () => {
		await uploadZip('in/T1_Priority_vip.zip', { 'T1_Priority_vip.csv': 'phone\r\n1\r\n2\r\n' });
		const id = await createTask({ 'file-name': 'T1_Priority_vip.zip', 'file-path': 'in/T1_Priority_vip.zip', priority: 1, 'callback-url': 'https://hooks.example.test/cb' });
		expect(whilter.tasks.get(id)?.body).toMatchObject({ priority: 1, 'callback-url': 'https://hooks.example.test/cb' });
	});

	it.each<[string, CallOptions, number]>([
		['a text body', { raw: 'hello', headers: { 'content-type': 'text/plain' } }, 415],
		['JSON without a content type', { raw: JSON.stringify(taskBody()) }, 415],
		['a body that is not JSON', { raw: '{"client-id"', headers: { 'content-type': 'application/json' } }, 400],
		['a JSON array', { body: [taskBody()] }, 400],
		...(['client-id', 'campaign-id', 'template-id', 'file-name', 'file-path', 'row-count', 'expected-output-duration'].map((key) => [
			`no ${key}`,
			{ body: without(key) },
			400,
		]) as Array<[string, CallOptions, number]>),
		['an empty campaign-id', { body: taskBody({ 'campaign-id': ' ' }) }, 400],
		['a numeric template-id', { body: taskBody({ 'template-id': 1 }) }, 400],
		['an unknown field', { body: taskBody({ colour: 'red' }) }, 400],
		['a row-count as a string', { body: taskBody({ 'row-count': '2' }) }, 400],
		['a negative row-count', { body: taskBody({ 'row-count': -1 }) }, 400],
		['a fractional row-count', { body: taskBody({ 'row-count': 1.5 }) }, 400],
		['a negative expected-output-duration', { body: taskBody({ 'expected-output-duration': -5 }) }, 400],
		['an expected-output-duration as a string', { body: taskBody({ 'expected-output-duration': '10' }) }, 400],
		['a fractional priority', { body: taskBody({ priority: 1.5 }) }, 400],
		['a callback that is not a URL', { body: taskBody({ 'callback-url': 'not a url' }) }, 400],
		['a callback that is not http(s)', { body: taskBody({ 'callback-url': 'ftp://example.test/cb' }) }, 400],
		['a file name off the convention', { body: taskBody({ 'file-name': 'camp.zip', 'file-path': 'in/camp.zip' }) }, 400],
		['a file name that is not a .zip', { body: taskBody({ 'file-name': 'T1_camp.csv', 'file-path': 'in/T1_camp.csv' }) }, 400],
		['a file name with an extra part', { body: taskBody({ 'file-name': 'T1_my_camp.zip', 'file-path': 'in/T1_my_camp.zip' }) }, 400],
		['a template id that is not the file name\'s', { body: taskBody({ 'template-id': 'T2' }) }, 400],
		['a file-path naming another file', { body: taskBody({ 'file-path': 'in/other.zip' }) }, 400],
		['a file that is not in the drop', { body: taskBody({ 'file-name': 'T1_other.zip', 'file-path': 'in/T1_other.zip' }) }, 400],
	])('%s is refused with its 4xx and a message, and no task', async (_name, options, status) => {
		const before = whilter.tasks.size;
		const given = typeof options.headers === 'function' ? options.headers() : options.headers;
		const answer = await call('POST', '/acme/task', { ...options, headers: { ...auth(), ...given } });
		expect(answer.status).toBe(status);
		expect(answer.body).toEqual({ message: expect.any(String) });
		expect(whilter.tasks.size).toBe(before);
	});

	it('refuses a row-count that is not the number of data rows papaparse reads in the ZIP', async () => {
		// CR-only line breaks and a quote that closes mid-field: papaparse reads 3 data rows here, not 2 or 4.
		await uploadZip('in/T1_counted.zip', { 'T1_counted.csv': 'phone,name\r1,a\r"2"x,b\r3"\r\r4,d' });
		const before = whilter.tasks.size;
		for (const rows of [2, 4]) {
			const answer = await call('POST', '/acme/task', { body: taskBody({ 'file-name': 'T1_counted.zip', 'file-path': 'in/T1_counted.zip', 'row-count': rows }), headers: auth() });
			expect(answer.status).toBe(400);
			expect(answer.body).toEqual({ message: `"row-count" is ${rows}, but the file T1_counted.csv in in/T1_counted.zip has 3 data rows (read with papaparse: comma-separated, blank lines skipped)` });
		}
		expect(whilter.tasks.size).toBe(before);
		expect((await call('POST', '/acme/task', { body: taskBody({ 'file-name': 'T1_counted.zip', 'file-path': 'in/T1_counted.zip', 'row-count': 3 }), headers: auth() })).status).toBe(200);
	});

	it('says "file not found" for a file that is not in the drop', async () => {
		const answer = await call('POST', '/acme/task', { body: taskBody({ 'file-name': 'T1_gone.zip', 'file-path': 'in/T1_gone.zip' }), headers: auth() });
		expect(answer.body.message).toMatch(/file not found.*in\/T1_gone\.zip/);
	});

	it('another client path is not found', async () => {
		const before = whilter.tasks.size;
		expect((await call('POST', '/other/task', { body: taskBody(), headers: auth() })).status).toBe(404);
		expect((await call('GET', '/other/task/status/x', { headers: auth() })).status).toBe(404);
		expect(whilter.tasks.size).toBe(before);
	});
});

describe('task status and cancel', () => {
	it('an unknown task id is 404 with a message', async () => {
		expect(await call('GET', '/acme/task/status/task-nope', { headers: auth() })).toMatchObject({ status: 404, body: { message: expect.any(String) } });
		expect(await call('POST', '/image/task/cancel/task-nope', { headers: auth() })).toMatchObject({ status: 404, body: { message: expect.any(String) } });
	});

	it('answers the lower-case shape by default and the public upper-case shape when asked, in every state', async () => {
		const id = await createTask();
		const seen: Array<Record<string, unknown>> = [];
		for (let step = 0; step < 3; step++) {
			whilter.statusVariant = 'lower';
			seen.push((await call('GET', `/acme/task/status/${id}`, { headers: auth() })).body);
			whilter.statusVariant = 'upper';
			seen.push((await call('GET', `/acme/task/status/${id}`, { headers: auth() })).body);
			if (step < 2) await whilter.advance(id);
		}
		whilter.statusVariant = 'lower';
		const output = whilter.outputKeyOf(id);
		const message = expect.any(String);
		expect(seen).toEqual([
			{ 'task-id': id, status: 'pending', count: 2, message, 'file-path': 'in/T1_camp.zip' },
			{ 'task-id': id, status: 'PENDING', 'total-count': 2, processed: 0, message, 'file-path': 'in/T1_camp.zip' },
			{ 'task-id': id, status: 'in-progress', count: 2, message, 'file-path': 'in/T1_camp.zip' },
			{ 'task-id': id, status: 'IN_PROGRESS', 'total-count': 2, processed: 1, message, 'file-path': 'in/T1_camp.zip' },
			{ 'task-id': id, status: 'completed', count: 2, message, 'file-path': output },
			{ 'task-id': id, status: 'COMPLETED', 'total-count': 2, processed: 2, message, 'file-path': output },
		]);
	});

	it('the synonym variant: other words in mixed case, COMPLETED_WITH_ERRORS for failed rows, and another word in the callback', async () => {
		const receiver = await startReceiver();
		try {
			whilter.statusVariant = 'synonyms';
			const word = async (id: string) => (await call('GET', `/acme/task/status/${id}`, { headers: auth() })).body.status;
			// Every 5th output row fails: 3 rows complete clean, 5 rows with one failed row.
			const clean = await whilter.seedTask({ rows: 3 });
			const withErrors = await whilter.seedTask({ rows: 5 });
			const seen: unknown[] = [await word(clean)];
			await whilter.advance(clean);
			seen.push(await word(clean));
			await whilter.advance(clean);
			await whilter.advance(withErrors);
			await whilter.advance(withErrors);
			seen.push(await word(clean), await word(withErrors));
			const cancelled = await whilter.seedTask({ rows: 1 });
			expect((await call('POST', `/image/task/cancel/${cancelled}`, { headers: auth() })).status).toBe(200);
			seen.push(await word(cancelled));
			expect(seen).toEqual(['Queued', 'Running', 'Succeeded', 'COMPLETED_WITH_ERRORS', 'Canceled']);
			await whilter.sendCallback({ taskId: clean, url: receiver.url });
			await whilter.sendCallback({ taskId: withErrors, url: receiver.url });
			expect(receiver.received.map((r) => (r.body as { status: string }).status)).toEqual(['finished', 'COMPLETED_WITH_ERRORS']);
			whilter.statusVariant = 'upper';
			await whilter.sendCallback({ taskId: clean, url: receiver.url });
			expect((receiver.received.at(-1)?.body as { status: string }).status).toBe('COMPLETED');
		} finally {
			whilter.statusVariant = 'lower';
			await receiver.close();
		}
	});

	it('a server started without a status variant answers the lower-case shape', async () => {
		const fresh = await startWhilterServer({ client: 'acme', clientId: 'id-1', clientSecret: 'secret-1', s3: s3Options() });
		try {
			expect(fresh.statusVariant).toBe('lower');
		} finally {
			await fresh.close();
		}
	});

	it('cancels a pending task, which then never moves; a completed one cannot be cancelled', async () => {
		const id = await createTask();
		const answer = await call('POST', `/image/task/cancel/${id}`, { headers: auth() });
		expect(answer).toMatchObject({ status: 200, body: { 'task-id': id, status: 'cancelled', message: expect.any(String) } });
		await whilter.advance(id);
		expect((await call('GET', `/acme/task/status/${id}`, { headers: auth() })).body.status).toBe('cancelled');
		const done = await createTask();
		await whilter.advance(done);
		await whilter.advance(done);
		expect((await call('POST', `/image/task/cancel/${done}`, { headers: auth() })).status).toBe(409);
	});

	it('advance() without an id moves every open task one step', async () => {
		const a = await createTask();
		const b = await createTask();
		await whilter.advance();
		expect([whilter.tasks.get(a)?.state, whilter.tasks.get(b)?.state]).toEqual(['in-progress', 'in-progress']);
		await whilter.advance();
		expect([whilter.tasks.get(a)?.state, whilter.tasks.get(b)?.state]).toEqual(['completed', 'completed']);
		await expect(whilter.advance('task-unknown')).rejects.toThrow('Unknown task');
	});

	it('a ZIP without exactly one CSV cannot complete: advance rejects and the status says why', async () => {
		await uploadZip('bad/T1_two.zip', { 'a.csv': 'x\r\n1\r\n', 'b.csv': 'y\r\n2\r\n' });
		const id = await createTask({ 'file-name': 'T1_two.zip', 'file-path': 'bad/T1_two.zip' });
		await whilter.advance(id);
		await expect(whilter.advance(id)).rejects.toThrow('exactly one CSV');
		const status = (await call('GET', `/acme/task/status/${id}`, { headers: auth() })).body;
		expect(status).toMatchObject({ status: 'in-progress', message: expect.stringContaining('exactly one CSV') });
	});
});

describe('a task from upload to callback', () => {
	it('reads the uploaded ZIP, writes the output CSV with media-url and error to S3, then POSTs the callback', async () => {
		const receiver = await startReceiver();
		try {
			const names = Array.from({ length: 10 }, (_, i) => (i === 3 ? 'Zoë "the" Ünïcode, Jr.' : `Name, ${i}`));
			const csv = ['phone,name,city', ...names.map((name, i) => `+91${i},"${name.replace(/"/g, '""')}",Pune`)].join('\r\n') + '\r\n';
			await uploadZip('flow/T9_Priority_flow.zip', { 'T9_Priority_flow.csv': csv });
			const id = await createTask({ 'template-id': 'T9', 'file-name': 'T9_Priority_flow.zip', 'file-path': 'flow/T9_Priority_flow.zip', 'row-count': 10, 'callback-url': receiver.url });
			const outputKey = whilter.outputKeyOf(id);
			expect(outputKey).toBe(`flow/output/${id}.csv`);

			await whilter.advance(id);
			expect(receiver.received).toEqual([]);
			expect(await s3.listKeys('drop', 'flow/output/')).toEqual([]);
			await whilter.advance(id);

			// advance() resolved: the file is written and the callback answered.
			const status = (await call('GET', `/acme/task/status/${id}`, { headers: auth() })).body;
			expect(status).toMatchObject({ status: 'completed', count: 10, 'file-path': outputKey });
			const text = (await s3.getObjectBuffer('drop', outputKey)).toString('utf8');
			const output = Papa.parse<string[]>(text, { skipEmptyLines: true }).data;
			expect(output[0]).toEqual(['phone', 'name', 'city', 'media-url', 'error']);
			expect(output.slice(1).map((row) => row[1])).toEqual(names);
			expect(output[4]).toEqual(['+913', names[3], 'Pune', `https://media.example.test/${id}/3.mp4`, '']);
			const failed = output.slice(1).filter((row) => row[4] !== '');
			expect(failed.map((row) => row[0])).toEqual(['+914', '+919']);
			expect(failed.every((row) => row[3] === '' && row[4] === ROW_ERROR)).toBe(true);
			expect(text.endsWith('\r\n')).toBe(true);

			const payload = { 'task-id': id, status: 'completed', 'file-path': outputKey, count: 10, message: 'Task completed' };
			expect(receiver.received).toEqual([{ headers: expect.objectContaining({ 'content-type': 'application/json' }), body: payload }]);
			expect(whilter.callbacks.filter((c) => c.taskId === id)).toEqual([{ taskId: id, url: receiver.url, body: payload, status: 200, responseText: 'ok', time: expect.any(Number) }]);
			expect(whilter.tasks.get(id)).toMatchObject({ state: 'completed', outputKey, rows: 10, failedRows: 2, callback: { status: 200 } });
		} finally {
			await receiver.close();
		}
	});

	it("records the receiver's error status, and a callback nobody answers", async () => {
		const receiver = await startReceiver(500);
		const failing = await createTask({ 'callback-url': receiver.url });
		await whilter.advance(failing);
		await whilter.advance(failing);
		expect(whilter.callbacks.at(-1)).toMatchObject({ taskId: failing, status: 500 });
		await receiver.close();
		const unanswered = await createTask({ 'callback-url': receiver.url });
		await whilter.advance(unanswered);
		await whilter.advance(unanswered);
		expect(whilter.callbacks.at(-1)).toMatchObject({ taskId: unanswered, error: expect.any(String) });
		expect(whilter.tasks.get(unanswered)?.state).toBe('completed');
	});

	it('with failRowEvery 2, every second row fails; autoAdvanceMs moves tasks by itself', async () => {
		const auto = await startWhilterServer({ client: 'acme', clientId: 'a', clientSecret: 'b', failRowEvery: 2, autoAdvanceMs: 20, s3: s3Options() });
		try {
			const id = await auto.seedTask({ rows: 4 });
			const deadline = Date.now() + 5000;
			while (auto.tasks.get(id)?.state !== 'completed' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
			const task = auto.tasks.get(id);
			expect(task).toMatchObject({ state: 'completed', rows: 4, failedRows: 2 });
			const rows = Papa.parse<Record<string, string>>((await s3.getObjectBuffer('drop', String(task?.outputKey))).toString(), { header: true, skipEmptyLines: true }).data;
			expect(rows.map((r) => r.error !== '')).toEqual([false, true, false, true]);
		} finally {
			await auto.close();
		}
	});
});

describe('real-time API', () => {
	const request = { 'client-request-id': 'r1', 'customer-id': 'cust', 'use-case-id': 'uc-1', 'user-id': 'u1', 'image-urls': ['https://a.test/i.png'] };

	const createRealtime = async (overrides: Record<string, unknown> = {}, path = '/video/request') => {
		const answer = await call('POST', path, { body: { ...request, ...overrides }, headers: realtimeAuth() });
		expect(answer.status).toBe(200);
		return String(answer.body['whilter-request-id']);
	};
	const poll = async (id: string) => (await call('GET', `/status/${id}`, { headers: realtimeAuth() })).body;

	it('accepts the documented body on /video/request and /video/demo', async () => {
		const full = {
			...request,
			'reference-record-id': 'ref-1',
			'phrase-texts': ['Hi Asha'],
			'image-texts': [],
			'video-texts': ['Welcome'],
			'video-urls': ['http://v.test/a.mp4'],
		};
		for (const path of ['/video/request', '/video/demo']) {
			const answer = await call('POST', path, { body: full, headers: realtimeAuth() });
			expect(answer).toMatchObject({ status: 200, body: { status: 'SUCCESS', message: expect.any(String), 'client-request-id': 'r1', 'whilter-request-id': expect.any(String) } });
		}
	});

	it.each<[string, CallOptions, number]>([
		['no x-api-key', { body: request, headers: () => auth() }, 403],
		['a wrong x-api-key', { body: request, headers: () => auth({ 'x-api-key': 'nope' }) }, 403],
		['a text body', { raw: 'hi', headers: () => ({ ...realtimeAuth(), 'content-type': 'text/plain' }) }, 415],
		['no client-request-id', { body: { ...request, 'client-request-id': undefined }, headers: realtimeAuth }, 400],
		['no customer-id', { body: { ...request, 'customer-id': undefined }, headers: realtimeAuth }, 400],
		['no use-case-id', { body: { ...request, 'use-case-id': undefined }, headers: realtimeAuth }, 400],
		['no user-id', { body: { ...request, 'user-id': undefined }, headers: realtimeAuth }, 400],
		['a numeric user-id', { body: { ...request, 'user-id': 7 }, headers: realtimeAuth }, 400],
		['an unknown field', { body: { ...request, extra: 1 }, headers: realtimeAuth }, 400],
		['a reference-record-id that is not a string', { body: { ...request, 'reference-record-id': 5 }, headers: realtimeAuth }, 400],
		['phrase-texts that is not a list', { body: { ...request, 'phrase-texts': 'hi' }, headers: realtimeAuth }, 400],
		['a list with a number', { body: { ...request, 'video-texts': ['a', 1] }, headers: realtimeAuth }, 400],
		['an image URL that is not a URL', { body: { ...request, 'image-urls': ['not-a-url'] }, headers: realtimeAuth }, 400],
		['a video URL that is not http(s)', { body: { ...request, 'video-urls': ['file:///etc/passwd'] }, headers: realtimeAuth }, 400],
	])('%s is refused with its 4xx and a message', async (_name, options, status) => {
		const before = whilter.realtime.size;
		const answer = await call('POST', '/video/request', options);
		expect(answer.status).toBe(status);
		expect(answer.body).toEqual({ message: expect.any(String) });
		expect(whilter.realtime.size).toBe(before);
	});

	it('is PROCESSING (null URLs) until the second poll, then SUCCESS with URLs', async () => {
		const id = await createRealtime();
		expect(await poll(id)).toEqual({ status: 'PROCESSING', message: expect.any(String), 'video-url': null, 'image-url': null });
		const ready = await poll(id);
		expect(ready).toEqual({ status: 'SUCCESS', message: expect.any(String), 'video-url': expect.stringMatching(/^https:\/\//), 'image-url': expect.stringMatching(/^https:\/\//) });
		expect(await poll(id)).toEqual(ready);
	});

	it("use case 'fail' ends in FAILURE with a message; 'never' stays PROCESSING", async () => {
		const failing = await createRealtime({ 'use-case-id': 'fail' });
		await poll(failing);
		expect(await poll(failing)).toEqual({ status: 'FAILURE', message: expect.stringMatching(/\w/), 'video-url': null, 'image-url': null });
		const stuck = await createRealtime({ 'use-case-id': 'never' });
		for (let i = 0; i < 5; i++) expect((await poll(stuck)).status).toBe('PROCESSING');
	});

	it('the status call needs the x-api-key too, and an unknown id is 404', async () => {
		const id = await createRealtime();
		expect((await call('GET', `/status/${id}`, { headers: auth() })).status).toBe(403);
		expect(await call('GET', '/status/wr-unknown', { headers: realtimeAuth() })).toMatchObject({ status: 404, body: { message: expect.any(String) } });
	});
});

describe('faults inject as configured', () => {
	it('429 with Retry-After, then the normal answer', async () => {
		whilter.faults.add({ method: 'GET', path: /\/task\/status\//, kind: 'status', status: 429, retryAfter: 7 });
		const first = await call('GET', '/acme/task/status/none', { headers: auth() });
		expect(first.status).toBe(429);
		expect(first.headers.get('retry-after')).toBe('7');
		expect((await call('GET', '/acme/task/status/none', { headers: auth() })).status).toBe(404);
	});

	it.each([500, 502, 503, 504] as const)('%i, as many times as asked', async (status) => {
		whilter.faults.add({ path: '/acme/task/status/none', kind: 'status', status, times: 2 });
		const codes: number[] = [];
		for (let i = 0; i < 3; i++) codes.push((await call('GET', '/acme/task/status/none', { headers: auth() })).status);
		expect(codes).toEqual([status, status, 404]);
	});

	it('a faulted token request issues no token', async () => {
		const before = whilter.tokensIssued;
		whilter.faults.add({ path: '/getToken/token', kind: 'status', status: 503 });
		expect((await call('POST', '/getToken/token', { body: { client_id: 'id-1', client_secret: 'secret-1' } })).status).toBe(503);
		expect(whilter.tokensIssued).toBe(before);
	});

	it('latency delays the answer', async () => {
		whilter.faults.add({ kind: 'latency', ms: 300 });
		const started = performance.now();
		expect((await call('GET', '/acme/task/status/none', { headers: auth() })).status).toBe(404);
		expect(performance.now() - started).toBeGreaterThanOrEqual(290);
	});

	it('reset drops the connection without creating a task; reset-after creates it, then drops the connection', async () => {
		const before = whilter.tasks.size;
		whilter.faults.add({ method: 'POST', path: '/acme/task', kind: 'reset' });
		await expect(call('POST', '/acme/task', { body: taskBody(), headers: auth() })).rejects.toThrow('fetch failed');
		expect(whilter.tasks.size).toBe(before);
		whilter.faults.add({ method: 'POST', path: '/acme/task', kind: 'reset-after' });
		await expect(call('POST', '/acme/task', { body: taskBody(), headers: auth() })).rejects.toThrow('fetch failed');
		expect(whilter.tasks.size).toBe(before + 1);
		expect(whilter.requests.filter((r) => r.path === '/acme/task' && r.faulted).map((r) => r.fault).slice(-2)).toEqual(['reset', 'reset-after']);
	});
});
