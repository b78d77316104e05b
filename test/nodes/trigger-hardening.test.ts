/**
 * Whilter Trigger setups in which a caller nobody checked could steer the workflow: reading a
 * results file the caller names (Result Rows are always confirmed with the status API, so the file
 * path is Whilter's), or starting on a real-time callback that is neither authenticated nor
 * confirmable (refused unless the user opts in).
 */
import type { IDataObject, INodeParameters } from 'n8n-workflow';

import { callWebhook } from '../harness/webhook';
import { useWhilterStandIn } from '../harness/whilter';

/** Stands in for Whilter and for any host a forged file-path could name: it records every request. */
const anyHost = useWhilterStandIn(() => ({ status: 200, raw: Buffer.from('phone,media-url,error\r\n1,https://m/1.mp4,\r\n'), headers: { 'content-type': 'text/csv' } }));

async function post(parameters: INodeParameters, json: IDataObject) {
	return await callWebhook({
		node: { type: 'whilterTrigger', parameters, credentials: { whilterApi: anyHost.credential } },
		credentials: anyHost.store,
		request: { json },
	});
}

describe('Whilter Trigger refuses to read a file a caller names when nothing checks the caller', () => {
	const forged = () => ({ 'task-id': 't-1', status: 'completed', 'file-path': `${anyHost.server.url}/internal/secret.csv` });

	it('no authentication + Result Rows saved with confirmation off: the task is looked up first, the named file never fetched', async () => {
		const result = await post({ event: 'batchTask', authentication: 'none', confirmWithApi: false, output: 'rows' }, forged());
		expect(result.workflowData).toBeUndefined();
		expect(anyHost.server.requests.map((r) => r.path)).toEqual(['/acme/task/status/t-1']);
	});

	it('the same callback item without reading the file (Output: Callback) still starts', async () => {
		const result = await post({ event: 'batchTask', authentication: 'none', confirmWithApi: false, output: 'callback' }, forged());
		expect(result.items).toEqual([expect.objectContaining({ 'task-id': 't-1', confirmed: false })]);
		expect(anyHost.server.requests).toEqual([]);
	});
});

describe('Whilter Trigger refuses real-time callbacks that can be neither authenticated nor confirmed', () => {
	const unverifiable = { 'client-request-id': 'c-1', 'user-id': 'u-1', 'video-url': 'https://attacker.test/v.mp4' };

	it.each(['whenIdPresent', 'off'])('confirmation %s, no Authentication, no whilter-request-id: 401, nothing started', async (realtimeConfirmation) => {
		const result = await post({ event: 'realtimeMedia', authentication: 'none', realtimeConfirmation }, unverifiable);
		expect(result.status).toBe(401);
		expect((result.json as IDataObject).message).toMatch(/can be neither authenticated nor confirmed/);
		expect(result.workflowData).toBeUndefined();
	});

	it('"Start Unverified Real-Time Callbacks" on: it starts, marked unconfirmed', async () => {
		const result = await post({ event: 'realtimeMedia', authentication: 'none', options: { allowUnverified: true } }, unverifiable);
		expect(result.items).toEqual([expect.objectContaining({ 'client-request-id': 'c-1', confirmed: false, 'video-url': 'https://attacker.test/v.mp4' })]);
	});
});

describe('an accepted callback gets a small JSON answer', () => {
	it('Whilter Trigger: {message, task-id, status} (not n8n\'s literal "firstEntryJson")', async () => {
		const result = await post({ event: 'batchTask', authentication: 'none', confirmWithApi: false, output: 'callback' }, { 'task-id': 't-2', status: 'completed' });
		expect(result.status).toBe(200);
		expect(result.json).toEqual({ message: 'Workflow started', 'task-id': 't-2', status: 'completed' });
	});

	it('Whilter Trigger, real-time: {message, client-request-id}', async () => {
		const result = await post({ event: 'realtimeMedia', authentication: 'none', options: { allowUnverified: true } }, { 'client-request-id': 'c-9' });
		expect(result.json).toEqual({ message: 'Workflow started', 'client-request-id': 'c-9' });
	});
});
