/**
 * FaultInjector's storm mode: a fault for a share of the requests, decided from the seed, the server's
 * name and the request's sequence number alone, so the same seed and request order give the same
 * faults; queued faults still come first. And the truncated answer a storm (or a test) can ask for.
 */
import http from 'node:http';

import { FaultInjector, json, startServer, STORM_KINDS } from './http';
import type { ContractServer } from './http';

function decisions(seed: number, name: string, rate: number, count = 400): Array<string | undefined> {
	const injector = new FaultInjector();
	injector.storm({ seed, name, rate, kinds: STORM_KINDS });
	return Array.from({ length: count }, () => {
		const fault = injector.take('GET', '/x');
		return fault ? JSON.stringify(fault) : undefined;
	});
}

describe('storm mode', () => {
	it('decides the same faults for the same seed and name, and others for another seed or name', () => {
		expect(decisions(7, 'whilter', 0.3)).toEqual(decisions(7, 'whilter', 0.3));
		expect(decisions(8, 'whilter', 0.3)).not.toEqual(decisions(7, 'whilter', 0.3));
		expect(decisions(7, 'insider', 0.3)).not.toEqual(decisions(7, 'whilter', 0.3));
	});

	it('faults about the asked share of requests, of every kind, and logs each', () => {
		const injector = new FaultInjector();
		injector.storm({ seed: 1, name: 's', rate: 0.25, kinds: STORM_KINDS, slowMs: 1234, retryAfterSeconds: 2 });
		const faults = Array.from({ length: 4000 }, () => injector.take('POST', '/y')).filter(Boolean);
		expect(faults.length).toBeGreaterThan(800);
		expect(faults.length).toBeLessThan(1200);
		expect(new Set(injector.stormLog.map((e) => e.kind))).toEqual(new Set(STORM_KINDS));
		expect(injector.stormLog).toHaveLength(faults.length);
		expect(faults).toContainEqual({ kind: 'latency', ms: 1234 });
		expect(faults).toContainEqual({ kind: 'status', status: 429, retryAfter: 2 });
	});

	it('leaves requests outside its match alone, lets queued faults go first, and stops on calm()', () => {
		const injector = new FaultInjector();
		injector.storm({ seed: 3, name: 's', rate: 1, kinds: ['500'], match: { method: 'GET' } });
		expect(injector.take('POST', '/a')).toBeUndefined();
		injector.add({ kind: 'reset', method: 'GET' });
		expect(injector.take('GET', '/a')).toMatchObject({ kind: 'reset' });
		expect(injector.take('GET', '/a')).toEqual({ kind: 'status', status: 500 });
		injector.calm();
		expect(injector.take('GET', '/a')).toBeUndefined();
		expect(injector.stormLog).toHaveLength(1);
	});
});

describe('a truncated answer', () => {
	let server: ContractServer;
	beforeAll(async () => {
		server = await startServer(() => json(200, { status: 'completed', padding: 'x'.repeat(200) }));
	});
	afterAll(async () => {
		await server.close();
	});

	it('sends the status and a Content-Length for the whole body, then part of it, then closes', async () => {
		server.faults.add({ kind: 'truncate' });
		const outcome = await new Promise<{ status?: number; length?: string; received: number; error?: string }>((resolve) => {
			http.get(`${server.url}/t`, (res) => {
				let received = 0;
				res.on('data', (chunk: Buffer) => (received += chunk.length));
				res.on('aborted', () => resolve({ status: res.statusCode, length: res.headers['content-length'], received, error: 'aborted' }));
				res.on('error', () => resolve({ status: res.statusCode, length: res.headers['content-length'], received, error: 'error' }));
				res.on('end', () => resolve({ status: res.statusCode, length: res.headers['content-length'], received }));
			});
		});
		expect(outcome.status).toBe(200);
		expect(outcome.error).toBeDefined();
		expect(outcome.received).toBeLessThan(Number(outcome.length));
		expect(server.requests.at(-1)?.fault).toBe('truncate');
	});
});
