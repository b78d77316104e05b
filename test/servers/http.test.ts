/**
 * The shared base: the request log, body handling, and every fault kind, on a tiny stateful server
 * (POST /items creates an item) so "a fault changes no state" and "reset-after does" can be seen.
 */
import { json, startServer } from './http';
import type { ContractServer } from './http';

let server: ContractServer;
const items: unknown[] = [];

beforeAll(async () => {
	server = await startServer(
		(request) => {
			if (request.method === 'POST' && request.path === '/items') {
				items.push(request.body);
				return json(201, { id: items.length });
			}
			if (request.method === 'GET' && request.path === '/items') return json(200, { count: items.length });
			if (request.path === '/boom') throw new Error('handler bug');
			return json(404, { message: 'no route' });
		},
		{ maxBodyBytes: 1024 },
	);
});

afterAll(async () => server.close());

afterEach(() => server.faults.clear());

const post = async (body: unknown) =>
	await fetch(`${server.url}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const count = async () => ((await (await fetch(`${server.url}/items`)).json()) as { count: number }).count;

describe('contract server base', () => {
	it('listens on 127.0.0.1 on a random port', () => {
		expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
		expect(server.port).toBeGreaterThan(0);
	});

	it('logs method, path, query, headers, the parsed JSON body, the raw bytes and the time', async () => {
		const before = Date.now();
		await fetch(`${server.url}/items?a=1&b=two`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-test': 'yes' }, body: '{"n":1}' });
		const entry = server.requests.at(-1);
		expect(entry).toMatchObject({ method: 'POST', path: '/items', body: { n: 1 }, faulted: false, status: 201 });
		expect(entry?.query.get('b')).toBe('two');
		expect(entry?.headers['x-test']).toBe('yes');
		expect(entry?.raw.toString()).toBe('{"n":1}');
		expect(entry?.time).toBeGreaterThanOrEqual(before);
	});

	it('keeps a non-JSON or unparsable body as bytes', async () => {
		await fetch(`${server.url}/echo`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
		expect(Buffer.isBuffer(server.requests.at(-1)?.body)).toBe(true);
		await fetch(`${server.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{broken' });
		expect(server.requests.at(-1)?.body).toEqual(Buffer.from('{broken'));
	});

	it('answers 413 past the body limit, without calling the handler', async () => {
		const before = await count();
		const response = await post({ big: 'x'.repeat(2000) });
		expect(response.status).toBe(413);
		expect(await count()).toBe(before);
	});

	it('turns a handler that throws into a 500 with a message', async () => {
		const response = await fetch(`${server.url}/boom`);
		expect(response.status).toBe(500);
		expect(await response.json()).toEqual({ message: 'contract server error: handler bug' });
	});
});

describe('fault injection', () => {
	it('status 429 sends Retry-After, is logged as faulted and creates nothing', async () => {
		const before = await count();
		server.faults.add({ method: 'POST', path: '/items', kind: 'status', status: 429, retryAfter: 3 });
		const response = await post({ n: 1 });
		expect(response.status).toBe(429);
		expect(response.headers.get('retry-after')).toBe('3');
		expect(server.requests.at(-1)).toMatchObject({ faulted: true, fault: 'status', status: 429 });
		expect(await count()).toBe(before);
		expect((await post({ n: 2 })).status).toBe(201);
	});

	it.each([500, 502, 503, 504] as const)('status %i hits `times` requests, then the normal answer', async (status) => {
		server.faults.add({ method: 'GET', path: '/items', kind: 'status', status, times: 2 });
		const codes: number[] = [];
		for (let i = 0; i < 3; i++) codes.push((await fetch(`${server.url}/items`)).status);
		expect(codes).toEqual([status, status, 200]);
		expect(server.faults.pending()).toBe(0);
	});

	it('matches on method, exact path, RegExp path and query', async () => {
		server.faults.add({ method: 'DELETE', kind: 'status', status: 500 });
		server.faults.add({ path: '/item', kind: 'status', status: 502 });
		expect((await fetch(`${server.url}/items`)).status).toBe(200);
		server.faults.clear();
		server.faults.add({ path: /^\/it/, query: 'page', kind: 'status', status: 503 });
		expect((await fetch(`${server.url}/items?size=1`)).status).toBe(200);
		expect((await fetch(`${server.url}/items?page=2`)).status).toBe(503);
		server.faults.add({ query: /partNumber=7/, kind: 'status', status: 504 });
		expect((await fetch(`${server.url}/items?partNumber=7`)).status).toBe(504);
	});

	it('latency delays the answer by about the given time; the request then runs normally', async () => {
		const before = await count();
		server.faults.add({ method: 'POST', kind: 'latency', ms: 300 });
		const started = performance.now();
		const response = await post({ slow: true });
		expect(performance.now() - started).toBeGreaterThanOrEqual(290);
		expect(response.status).toBe(201);
		expect(server.requests.at(-1)).toMatchObject({ faulted: true, fault: 'latency', status: 201 });
		expect(await count()).toBe(before + 1);
	});

	it('reset drops the connection (a socket error for the client) and changes nothing', async () => {
		const before = await count();
		server.faults.add({ method: 'POST', path: '/items', kind: 'reset' });
		await expect(post({ n: 1 })).rejects.toThrow('fetch failed');
		expect(server.requests.at(-1)).toMatchObject({ faulted: true, fault: 'reset' });
		expect(server.requests.at(-1)?.status).toBeUndefined();
		expect(await count()).toBe(before);
	});

	it('reset-after handles the request (state changes), then drops the connection', async () => {
		const before = await count();
		server.faults.add({ method: 'POST', path: '/items', kind: 'reset-after' });
		await expect(post({ created: 'but unanswered' })).rejects.toThrow('fetch failed');
		expect(server.requests.at(-1)).toMatchObject({ faulted: true, fault: 'reset-after' });
		expect(server.requests.at(-1)?.status).toBeUndefined();
		expect(await count()).toBe(before + 1);
		expect(items.at(-1)).toEqual({ created: 'but unanswered' });
	});

	it('clear() drops queued faults', async () => {
		server.faults.add({ kind: 'status', status: 500, times: 5 });
		expect(server.faults.pending()).toBe(5);
		server.faults.clear();
		expect((await fetch(`${server.url}/items`)).status).toBe(200);
	});
});
