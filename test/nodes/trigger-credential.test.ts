/**
 * The Whilter Trigger asks for a Whilter API credential only when it calls Whilter: to confirm a
 * callback with the status API, or to read result rows (which are always confirmed first). With
 * confirmation off, an authenticated callback starts the workflow without one, and n8n's editor does
 * not list the credential as missing (which would keep the workflow from being published).
 */
import type { IDataObject, INode, INodeParameters, INodeTypeDescription } from 'n8n-workflow';
import { NodeHelpers } from 'n8n-workflow';

import { packageNodeTypes } from '../harness/run';
import { callWebhook } from '../harness/webhook';
import { useWhilterStandIn } from '../harness/whilter';

const HEADER = 'X-Whilter-Secret';
const SECRET = 'a-shared-secret-0123456789';

/** Stands in for Whilter: any status lookup answers that the task is completed. */
const whilter = useWhilterStandIn((request) =>
	request.path.includes('/task/status/')
		? { status: 200, body: { 'task-id': request.path.split('/').pop(), status: 'completed', count: 1, 'file-path': 'out/none.csv' } }
		: { status: 404, body: { message: 'not here' } },
);

const description = (packageNodeTypes.whilterTrigger as { description: INodeTypeDescription }).description;

/** The credential types n8n shows (and requires) for the trigger with these parameters, after n8n adds defaults and drops hidden ones. */
function credentialsAsked(parameters: INodeParameters): string[] {
	const node: INode = { id: 't', name: 'Trigger', type: 'n8n-nodes-whilter.whilterTrigger', typeVersion: 1, position: [0, 0], parameters };
	const resolved = NodeHelpers.getNodeParameters(description.properties, parameters, true, false, node, description) ?? {};
	const withDefaults = { ...node, parameters: resolved };
	return (description.credentials ?? [])
		.filter((credential) => credential.required === true && NodeHelpers.displayParameter(resolved, credential, withDefaults, description))
		.map((credential) => credential.name);
}

async function post(parameters: INodeParameters, json: IDataObject, withWhilterApi: boolean) {
	const header = whilter.store.add('whilterCallbackHeaderAuthApi', { headerName: HEADER, secret: SECRET });
	return await callWebhook({
		node: {
			type: 'whilterTrigger',
			parameters: { authentication: 'headerAuth', ...parameters },
			credentials: { whilterCallbackHeaderAuthApi: header, ...(withWhilterApi ? { whilterApi: whilter.credential } : {}) },
		},
		credentials: whilter.store,
		request: { json, headers: { [HEADER]: SECRET } },
	});
}

describe('Whilter Trigger: the Whilter API credential only where it is used', () => {
	it.each([
		['batch, Confirm With Whilter API off', { event: 'batchTask', confirmWithApi: false }, false],
		['real-time, confirmation Never', { event: 'realtimeMedia', realtimeConfirmation: 'off' }, false],
		['batch, confirmation on (the default)', { event: 'batchTask' }, true],
		['batch, Result Rows (always confirmed, even if confirmation was saved off)', { event: 'batchTask', output: 'rows', confirmWithApi: false }, true],
		['real-time, when the callback names its request (the default)', { event: 'realtimeMedia' }, true],
		['real-time, always', { event: 'realtimeMedia', realtimeConfirmation: 'requireId' }, true],
	])('%s', (_what, parameters, asked) => {
		const names = credentialsAsked({ authentication: 'headerAuth', ...parameters });
		expect(names.includes('whilterApi')).toBe(asked);
		expect(names).toContain('whilterCallbackHeaderAuthApi');
	});

	it('batch, confirmation off, no Whilter API credential: an authenticated callback starts the workflow', async () => {
		const result = await post({ event: 'batchTask', confirmWithApi: false }, { 'task-id': 't-1', status: 'completed' }, false);
		expect(result.status).toBe(200);
		expect(result.items).toEqual([expect.objectContaining({ 'task-id': 't-1', status: 'completed', confirmed: false })]);
		expect(whilter.server.requests).toEqual([]);
	});

	it('real-time, confirmation Never, no Whilter API credential: an authenticated callback starts the workflow', async () => {
		const result = await post({ event: 'realtimeMedia', realtimeConfirmation: 'off' }, { 'client-request-id': 'c-1', 'user-id': 'u-1', 'video-url': 'https://cdn.test/v.mp4' }, false);
		expect(result.status).toBe(200);
		expect(result.items).toEqual([expect.objectContaining({ 'client-request-id': 'c-1', confirmed: false, 'video-url': 'https://cdn.test/v.mp4' })]);
	});

	it('Result Rows saved with confirmation off still look the task up first, and never read the file path the caller names', async () => {
		const result = await post({ event: 'batchTask', output: 'rows', confirmWithApi: false }, { 'task-id': 't-2', status: 'completed', 'file-path': `${whilter.server.url}/internal/secret.csv` }, true);
		expect(whilter.server.requests.map((r) => r.path)).toContain('/acme/task/status/t-2');
		expect(whilter.server.requests.some((r) => r.path.includes('internal'))).toBe(false);
		expect(result.workflowData).toBeUndefined();
	});
});
