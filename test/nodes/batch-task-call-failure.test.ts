/**
 * When the task call fails after the upload, the error must tell the truth about whether Whilter
 * may have created the task: following "create it again" after Whilter had acted would make a
 * second task for the same customers.
 */
import type { IDataObject } from 'n8n-workflow';
import { sleep } from 'n8n-workflow';

import { useVirtualClock } from '../harness/clock';
import { CredentialStore, runChain, shutdownN8nCore } from '../harness/run';
import { startWhilterWithS3, whilterCredentialData } from '../harness/whilter';
import type { WhilterWithS3 } from '../harness/whilter';

// The S3 retries wait on a virtual clock (test/harness/clock.ts): no test here waits for real.
jest.mock('n8n-workflow', () => {
	const actual = jest.requireActual<typeof import('n8n-workflow')>('n8n-workflow');
	return { ...actual, sleep: jest.fn(actual.sleep) };
});
useVirtualClock(jest.mocked(sleep));

let servers: WhilterWithS3;
const store = new CredentialStore();
let credential: { id: string; name: string };

beforeAll(async () => {
	servers = await startWhilterWithS3();
	credential = store.add('whilterApi', whilterCredentialData(servers.whilter, servers.drop));
});

afterAll(async () => {
	await servers?.close();
	await shutdownN8nCore();
});

async function submit(campaignName: string, whilterApi = credential) {
	return await runChain({
		items: [{ json: { phone: '+911' } }, { json: { phone: '+912' } }],
		nodes: [
			{
				name: 'Batch',
				type: 'whilterBatch',
				parameters: { identifierColumn: 'phone', templateId: 'T-7', campaignId: 'c-7', campaignName },
				credentials: { whilterApi },
			},
		],
		credentials: store,
	});
}

describe('Whilter Batch: a task call that fails after the upload', () => {
	it.each([
		['the connection dropped after Whilter created the task', { kind: 'reset-after' }],
		['Whilter answered 500', { kind: 'status', status: 500 }],
		['the gateway answered 504', { kind: 'status', status: 504 }],
	])('%s: the task may exist, check before creating it again', async (_what, fault) => {
		servers.whilter.faults.add({ method: 'POST', path: '/acme/task', ...(fault as IDataObject) } as never);
		const result = await submit(`maybe-${String((fault as IDataObject).status ?? 'reset')}`);
		const message = String(result.error?.message);
		expect(message).toMatch(/Whilter may have created the task before the call failed: do not create it again before checking/);
		expect(message).toMatch(/ask Whilter whether a task exists for file "T-7_maybe-\w+\.zip"/);
		expect(message).toMatch(/Only if none exists, set "Options → File Already Uploaded"/);
		expect(message).not.toMatch(/Whilter created no task/);
	});

	it('a refusal (429): no task was created, so Options → File Already Uploaded is the way on', async () => {
		servers.whilter.faults.add({ method: 'POST', path: '/acme/task', kind: 'status', status: 429, retryAfter: 0 });
		const before = servers.whilter.tasks.size;
		const result = await submit('refused');
		expect(servers.whilter.tasks.size).toBe(before);
		expect(String(result.error?.message)).toMatch(
			/Whilter created no task\. The file is already in S3: bucket "whilter-drop", key "incoming\/acme\/T-7_refused\.zip" \(2 rows\); to create the task without uploading again, set "Options → File Already Uploaded"/,
		);
	});
});

describe('Whilter Batch: S3 problems name S3, the bucket and the key', () => {
	it('an S3 key over 1024 bytes is refused before anything is uploaded', async () => {
		const long = store.add('whilterApi', { ...whilterCredentialData(servers.whilter, servers.drop), s3Prefix: 'p'.repeat(1100) });
		const before = servers.s3.requests.length;
		const result = await submit('long', long);
		expect(result.error?.message).toMatch(/^The S3 key "p{80}…" is 1113 bytes long; S3 allows at most 1024$/);
		expect(servers.s3.requests.length).toBe(before);
	});

	it('a connection S3 keeps dropping: an error naming S3, the bucket and the key, and no task', async () => {
		servers.s3.faults.add({ method: 'PUT', path: /T-7_s3-down\.zip/, kind: 'reset', times: 100 });
		const tasks = servers.whilter.tasks.size;
		const result = await submit('s3-down');
		servers.s3.faults.clear();
		expect(result.error?.message).toMatch(/^Uploading the batch file to S3 failed \(bucket "whilter-drop", key "incoming\/acme\/T-7_s3-down\.zip"\): /);
		expect(result.error?.description).toMatch(/Nothing was registered with Whilter/);
		expect(servers.whilter.tasks.size).toBe(tasks);
	});
});
