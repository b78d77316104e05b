/**
 * When the task call fails after the upload, the error must tell the truth about whether Whilter
 * may have created the task: following "create it again" after Whilter had acted would make a
 * second task for the same customers.
 */
import type { IDataObject } from 'n8n-workflow';

import { CredentialStore, runChain, shutdownN8nCore } from '../harness/run';
import { startWhilterWithS3, whilterCredentialData } from '../harness/whilter';
import type { WhilterWithS3 } from '../harness/whilter';

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

async function submit(campaignName: string) {
	return await runChain({
		items: [{ json: { phone: '+911' } }, { json: { phone: '+912' } }],
		nodes: [
			{
				name: 'Batch',
				type: 'whilterBatch',
				parameters: { identifierColumn: 'phone', templateId: 'T-7', campaignId: 'c-7', campaignName },
				credentials: { whilterApi: credential },
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
		expect(message).toMatch(/Only if none exists, set "File Already Uploaded"/);
		expect(message).not.toMatch(/Whilter created no task/);
	});

	it('a refusal (429): no task was created, so File Already Uploaded is the way on', async () => {
		servers.whilter.faults.add({ method: 'POST', path: '/acme/task', kind: 'status', status: 429, retryAfter: 0 });
		const before = servers.whilter.tasks.size;
		const result = await submit('refused');
		expect(servers.whilter.tasks.size).toBe(before);
		expect(String(result.error?.message)).toMatch(
			/Whilter created no task\. The file is already in S3: bucket "whilter-drop", key "incoming\/acme\/T-7_refused\.zip" \(2 rows\); to create the task without uploading again, set "File Already Uploaded"/,
		);
	});
});
