/**
 * An id of "." or ".." passes encodeURIComponent unchanged, and the HTTP client resolves it as a dot
 * segment: `/acme/task/status/..` would become `/acme/task/`, another endpoint. Every place that
 * puts an id into a Whilter path refuses it with a clear error, and sends nothing.
 */
import type { IDataObject } from 'n8n-workflow';

import { runChain } from '../harness/run';
import { callWebhook } from '../harness/webhook';
import { useWhilterStandIn } from '../harness/whilter';

/** The whilter-request-id the stand-in gives a real-time request. */
let nextRequestId = 'wr-1';

/** A Whilter stand-in that answers everything, so any request that is made is seen and counted. */
const standIn = useWhilterStandIn((request) => {
	if (request.method === 'POST' && request.path === '/video/request') {
		return { status: 200, body: { status: 'SUCCESS', message: 'queued', 'whilter-request-id': nextRequestId } };
	}
	return { status: 200, body: { 'task-id': 'task-1', status: 'completed', 'file-path': 'out.csv' } };
});

describe.each(['..', '.'])('the id %j', (id) => {
	it.each(['get', 'wait', 'getResults', 'cancel'])('Whilter Status %s: a clear error, no request', async (operation) => {
		const result = await runChain({
			items: [{ json: { 'task-id': id } }],
			nodes: [{ name: 'Status', type: 'whilterStatus', parameters: { operation }, credentials: { whilterApi: standIn.credential } }],
			credentials: standIn.store,
		});
		expect(result.error?.message).toBe(`Item 0: "Task ID" is "${id}", which cannot go into a URL path`);
		expect(result.error?.description).toBe('"." and ".." would make the request go to another endpoint; give the real Task ID');
		expect(standIn.server.requests).toHaveLength(0);
	});

	it('Whilter Trigger, batch callback: 400 and no status lookup', async () => {
		const result = await callWebhook({
			node: { type: 'whilterTrigger', parameters: { event: 'batchTask' }, credentials: { whilterApi: standIn.credential } },
			credentials: standIn.store,
			request: { json: { 'task-id': id, status: 'completed' } },
		});
		expect(result.status).toBe(400);
		expect((result.json as IDataObject).message).toBe(`The callback's "task-id" is "${id}", which cannot go into a URL path`);
		expect(result.workflowData).toBeUndefined();
		expect(standIn.server.requests).toHaveLength(0);
	});

	it('Whilter Trigger, real-time callback: 400 and no status lookup', async () => {
		const result = await callWebhook({
			node: { type: 'whilterTrigger', parameters: { event: 'realtimeMedia' }, credentials: { whilterApi: standIn.credential } },
			credentials: standIn.store,
			request: { json: { 'client-request-id': 'c-1', 'whilter-request-id': id, 'video-url': 'https://media.test/v.mp4' } },
		});
		expect(result.status).toBe(400);
		expect((result.json as IDataObject).message).toBe(`The callback's "whilter-request-id" is "${id}", which cannot go into a URL path`);
		expect(result.workflowData).toBeUndefined();
		expect(standIn.server.requests).toHaveLength(0);
	});

	it('Whilter Batch resume (wait for completion callback): 400 and no status lookup', async () => {
		const result = await callWebhook({
			node: { type: 'whilterBatch', id: 'batch-1', parameters: { options: { waitForCallback: true } }, credentials: { whilterApi: standIn.credential } },
			credentials: standIn.store,
			waiting: { customData: { whilter_task_batch1: 'task-1' } },
			request: { json: { 'task-id': id, status: 'completed' } },
		});
		expect(result.status).toBe(400);
		expect(result.workflowData).toBeUndefined();
		expect(standIn.server.requests).toHaveLength(0);
	});

	it("Whilter Realtime's status check: an id Whilter gives as the request's ID is refused, not looked up", async () => {
		nextRequestId = id;
		const result = await runChain({
			items: [{ json: {} }],
			nodes: [
				{
					name: 'Realtime',
					type: 'whilterRealtime',
					parameters: { useCaseId: 'uc-1', userId: 'u-1', customerId: 'c-1', waitForMedia: true },
					credentials: { whilterApi: standIn.credential },
				},
			],
			credentials: standIn.store,
		});
		nextRequestId = 'wr-1';
		expect(result.error?.message).toBe(`Item 0: "whilter-request-id" is "${id}", which cannot go into a URL path`);
		// The request itself was made (once); the status check that would have gone elsewhere was not.
		expect(standIn.server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /video/request']);
	});
});
