/**
 * When n8n cannot get a Whilter token, the task call is never sent (or, after a 401, refused before
 * the renewal was tried): Whilter made nothing, and the error must say so instead of "Whilter may
 * have created the task". Found by `npm run chaos`: a token URL answering 5xx during Whilter Batch
 * gave "Check the client ID, client secret and token URL.. Whilter may have created the task".
 */
import type { IDataObject } from 'n8n-workflow';
import { sleep } from 'n8n-workflow';

import { useVirtualClock } from '../harness/clock';
import { CredentialStore, runChain, shutdownN8nCore } from '../harness/run';
import { startWhilterWithS3, whilterCredentialData } from '../harness/whilter';
import type { WhilterWithS3 } from '../harness/whilter';

// The token request's retries wait on a virtual clock: nothing here waits for real.
jest.mock('n8n-workflow', () => {
	const actual = jest.requireActual<typeof import('n8n-workflow')>('n8n-workflow');
	return { ...actual, sleep: jest.fn(actual.sleep) };
});
useVirtualClock(jest.mocked(sleep));

let servers: WhilterWithS3;

beforeAll(async () => {
	servers = await startWhilterWithS3();
});

afterAll(async () => {
	await servers?.close();
	await shutdownN8nCore();
});

async function submit(campaignName: string) {
	// A credential of its own for each run: no token stored by an earlier one.
	const store = new CredentialStore();
	const whilterApi = store.add('whilterApi', whilterCredentialData(servers.whilter, servers.drop));
	return await runChain({
		items: [{ json: { phone: '+911' } }, { json: { phone: '+912' } }],
		nodes: [{ name: 'Batch', type: 'whilterBatch', parameters: { identifierColumn: 'phone', templateId: 'T-8', campaignId: 'c-8', campaignName }, credentials: { whilterApi } }],
		credentials: store,
	});
}

describe('Whilter Batch: no token for the task call', () => {
	it.each([
		['the token URL answers 503 every time', { kind: 'status', status: 503 }, /\(HTTP 503[^)]*\)\. The token URL failed after retries: run again later/],
		['the token URL drops the connection every time', { kind: 'reset' }, /The token URL failed after retries: run again later/],
		['the token URL refuses the client (401)', { kind: 'status', status: 401 }, /\(HTTP 401[^)]*\)\. Check the client ID, client secret and token URL\./],
	])('%s: the error says Whilter created no task, and what to check', async (_what, fault, advice) => {
		servers.whilter.faults.clear();
		const tasksBefore = servers.whilter.tasks.size;
		// More than the token request's attempts.
		servers.whilter.faults.add({ method: 'POST', path: /token/, times: 10, ...(fault as IDataObject) } as never);
		const name = `no-token-${String((fault as IDataObject).status ?? (fault as IDataObject).kind)}`;
		const result = await submit(name);
		servers.whilter.faults.clear();

		const message = String(result.error?.message);
		expect(servers.whilter.tasks.size).toBe(tasksBefore);
		expect(servers.whilter.requests.filter((r) => r.method === 'POST' && r.path === '/acme/task')).toHaveLength(0);
		expect(message).toMatch(advice);
		expect(message).toMatch(/Whilter created no task\. The file is already in S3: .*; to create the task without uploading again, set "Options → File Already Uploaded"/);
		expect(message).not.toMatch(/may have created/);
		expect(message).not.toMatch(/\.\./);
	});
});
