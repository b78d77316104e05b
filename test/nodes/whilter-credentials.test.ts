import type { IDataObject } from 'n8n-workflow';
import { sleep } from 'n8n-workflow';

import { useVirtualClock } from '../harness/clock';
import { CredentialStore, runChain, shutdownN8nCore } from '../harness/run';
import { startWhilterWithS3, whilterCredentialData } from '../harness/whilter';
import type { WhilterWithS3 } from '../harness/whilter';
import type { WhilterServer } from '../servers/whilter';

// The retry policy waits with n8n-workflow's sleep: on the virtual clock (test/harness/clock.ts) a
// Retry-After is seen as the wait the node asked for, without sitting it out.
jest.mock('n8n-workflow', () => {
	const actual = jest.requireActual<typeof import('n8n-workflow')>('n8n-workflow');
	return { ...actual, sleep: jest.fn(actual.sleep) };
});
const clock = useVirtualClock(jest.mocked(sleep));

const SECRET = 'correct-horse-battery-staple';
let servers: WhilterWithS3;
let whilter: WhilterServer;
let taskIds: string[] = [];

beforeAll(async () => {
	servers = await startWhilterWithS3({ server: { clientSecret: SECRET } });
	whilter = servers.whilter;
	taskIds = await Promise.all([1, 2, 3].map(async (n) => await whilter.seedTask({ rows: n })));
});

afterAll(async () => {
	await servers?.close();
	await shutdownN8nCore();
});

function credentialStore(secret = SECRET) {
	const store = new CredentialStore();
	const credential = store.add('whilterApi', { ...whilterCredentialData(whilter), clientSecret: secret });
	return { store, credential };
}

function statusNodes(credential: { id: string; name: string }) {
	return ['Status A', 'Status B'].map((name) => ({
		name,
		type: 'whilterStatus',
		parameters: { operation: 'get', taskId: '={{ $("Source").item.json.taskId }}' },
		credentials: { whilterApi: credential },
	}));
}

describe('whilterApi credential through n8n-core', () => {
	it('fetches one token and reuses it across items and nodes', async () => {
		const { store, credential } = credentialStore();
		const before = whilter.tokensIssued;
		const result = await runChain({
			items: taskIds.map((taskId) => ({ json: { taskId } })),
			nodes: statusNodes(credential),
			credentials: store,
		});
		expect(result.error).toBeUndefined();
		expect(result.output('Status B').map((i) => i.json['task-id'])).toEqual(taskIds);
		expect(result.output('Status A').map((i) => i.json.status)).toEqual(['pending', 'pending', 'pending']);
		expect(whilter.tokensIssued - before).toBe(1);
		// n8n stored the token in the hidden expirable field.
		expect(String(store.data(credential.id).sessionToken)).not.toBe('');
	});

	it('after the server expires the token: one 401, one new token, and the request succeeds', async () => {
		const { store, credential } = credentialStore();
		await runChain({ items: [{ json: { taskId: taskIds[0] } }], nodes: statusNodes(credential).slice(0, 1), credentials: store });
		const firstToken = store.data(credential.id).sessionToken;
		whilter.expireTokens();
		const before = whilter.tokensIssued;
		const requestsBefore = whilter.requests.length;
		const result = await runChain({
			items: taskIds.map((taskId) => ({ json: { taskId } })),
			nodes: statusNodes(credential),
			credentials: store,
		});
		expect(result.error).toBeUndefined();
		expect(result.output('Status B')).toHaveLength(3);
		expect(whilter.tokensIssued - before).toBe(1);
		const statusCalls = whilter.requests.slice(requestsBefore).filter((r) => r.path.startsWith('/acme/task/status/'));
		// 6 lookups plus the one that met the expired token.
		expect(statusCalls).toHaveLength(7);
		expect(store.data(credential.id).sessionToken).not.toBe(firstToken);
	});

	it('a wrong client secret is a clear credential error that does not show the secret', async () => {
		const wrong = 'wrong-secret-do-not-print';
		const { store, credential } = credentialStore(wrong);
		const result = await runChain({ items: [{ json: { taskId: taskIds[0] } }], nodes: statusNodes(credential), credentials: store });
		expect(result.error).toBeDefined();
		const text = JSON.stringify({ message: result.error?.message, description: result.error?.description, context: result.error?.context });
		expect(text).toMatch(/token/i);
		expect(text).toMatch(/acme-client/);
		expect(text).not.toContain(wrong);
	});

	it('a 429 on the token request is retried, honouring Retry-After', async () => {
		const { store, credential } = credentialStore();
		whilter.faults.add({ method: 'POST', path: '/getToken/token', kind: 'status', status: 429, retryAfter: 1 });
		const result = await runChain({ items: [{ json: { taskId: taskIds[0] } }], nodes: statusNodes(credential).slice(0, 1), credentials: store });
		expect(result.error).toBeUndefined();
		// One wait, of the full second asked for (the backoff alone would be 250-500 ms), then the token.
		expect(clock.current.sleeps).toEqual([1_000]);
		const tokenCalls = whilter.requests.filter((r) => r.path === '/getToken/token').slice(-2);
		expect(tokenCalls.map((r) => [r.faulted, r.status])).toEqual([
			[true, 429],
			[false, 200],
		]);
		expect(tokenCalls[1].time - tokenCalls[0].time).toBe(1_000);
	});

	it('GETs are retried after 503 and a dropped connection; the answer is the same', async () => {
		const { store, credential } = credentialStore();
		whilter.faults.add({ method: 'GET', path: /\/acme\/task\/status\//, kind: 'status', status: 503 });
		whilter.faults.add({ method: 'GET', path: /\/acme\/task\/status\//, kind: 'reset' });
		const result = await runChain({ items: [{ json: { taskId: taskIds[1] } }], nodes: statusNodes(credential).slice(0, 1), credentials: store });
		expect(result.error).toBeUndefined();
		expect(result.output('Status A')[0].json as IDataObject).toMatchObject({ 'task-id': taskIds[1], status: 'pending' });
	});
});
