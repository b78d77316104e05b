/**
 * An answer cut off mid-body: the vendor sent its status and headers (a 200 promising a whole JSON
 * body), then the connection closed. n8n's HTTP client throws with the answer's status attached, but
 * the call did not succeed and the vendor's answer is unknown: it is a dropped connection. An
 * idempotent call is retried like any other dropped connection; the error, when every attempt was
 * cut off, says so instead of "answered HTTP 200"; a creating call (sent once) says the vendor may
 * have acted on it.
 */
import { sleep } from 'n8n-workflow';

import { useVirtualClock } from '../harness/clock';
import { CredentialStore, runChain, shutdownN8nCore } from '../harness/run';
import { startWhilterWithS3, whilterCredentialData } from '../harness/whilter';
import type { WhilterWithS3 } from '../harness/whilter';

// The retry policy's waits run on the virtual clock: retried attempts cost no real time.
jest.mock('n8n-workflow', () => {
	const actual = jest.requireActual<typeof import('n8n-workflow')>('n8n-workflow');
	return { ...actual, sleep: jest.fn(actual.sleep) };
});
useVirtualClock(jest.mocked(sleep));

let servers: WhilterWithS3;
let store: CredentialStore;
let credential: { id: string; name: string };

beforeAll(async () => {
	servers = await startWhilterWithS3();
	store = new CredentialStore();
	credential = store.add('whilterApi', whilterCredentialData(servers.whilter, servers.drop));
});

afterAll(async () => {
	await servers?.close();
	await shutdownN8nCore();
});

afterEach(() => servers.whilter.faults.clear());

async function getStatus(taskId: string) {
	return await runChain({
		items: [{ json: { taskId } }],
		nodes: [{ name: 'Status', type: 'whilterStatus', parameters: { operation: 'get', taskId: '={{ $json.taskId }}' }, credentials: { whilterApi: credential } }],
		credentials: store,
	});
}

function statusGets(taskId: string): number {
	return servers.whilter.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/task/status/${taskId}`)).length;
}

describe('an answer cut off before its body ended', () => {
	it('is retried for an idempotent call, which then succeeds', async () => {
		const taskId = await servers.whilter.seedTask({ rows: 3, campaign: 'cut1' });
		servers.whilter.faults.add({ kind: 'truncate', method: 'GET', path: /\/task\/status\//, times: 1 });
		const result = await getStatus(taskId);
		expect(result.error).toBeUndefined();
		expect(result.output('Status')[0].json['task-id']).toBe(taskId);
		expect(statusGets(taskId)).toBe(2);
	});

	it('fails, after every attempt was cut off, with a message that says so (not "answered HTTP 200")', async () => {
		const taskId = await servers.whilter.seedTask({ rows: 3, campaign: 'cut2' });
		servers.whilter.faults.add({ kind: 'truncate', method: 'GET', path: /\/task\/status\//, times: 10 });
		const result = await getStatus(taskId);
		expect(statusGets(taskId)).toBe(5);
		expect(result.error?.message).not.toMatch(/HTTP 200/);
		expect(result.error?.message).toMatch(/Whilter .*GET \/acme\/task\/status\/.*connection closed before the answer ended/);
	});

	it('on a creating call (sent once) tells that Whilter may have acted on it', async () => {
		const before = servers.whilter.tasks.size;
		servers.whilter.faults.add({ kind: 'truncate', method: 'POST', path: '/acme/task', times: 1 });
		const result = await runChain({
			items: [{ json: { phone: '+919000000001', name: 'A' } }, { json: { phone: '+919000000002', name: 'B' } }],
			nodes: [
				{
					name: 'Batch',
					type: 'whilterBatch',
					parameters: { inputSource: 'items', identifierColumn: 'phone', templateId: 'T-CUT', campaignId: 'cut3', options: {} },
					credentials: { whilterApi: credential },
				},
			],
			credentials: store,
		});
		// Whilter created the task; the POST was not repeated.
		expect(servers.whilter.tasks.size).toBe(before + 1);
		expect(servers.whilter.requests.filter((r) => r.method === 'POST' && r.path === '/acme/task')).toHaveLength(1);
		expect(result.error?.message).not.toMatch(/HTTP 200/);
		expect(result.error?.message).toMatch(/connection closed before the answer ended/);
		expect(`${result.error?.message} ${result.error?.description}`).toMatch(/may have created the task/);
	});
});
