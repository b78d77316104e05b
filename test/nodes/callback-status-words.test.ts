/**
 * Whilter does not document its batch callback's status words. A genuine completion callback must
 * never be lost to a word the node does not know: words are matched in any case with common
 * synonyms, an unknown word is asked of the status API before anything is decided, and an unknown
 * word is passed on as Whilter wrote it.
 */
import type { IDataObject, INodeParameters } from 'n8n-workflow';

import { runChain } from '../harness/run';
import { callWebhook } from '../harness/webhook';
import { useWhilterStandIn } from '../harness/whilter';

/** The word the stand-in's status API answers with. */
let apiWord = 'completed';

const standIn = useWhilterStandIn((request) => {
	const taskId = request.path.split('/').pop();
	return { status: 200, body: { 'task-id': taskId, status: apiWord, count: 3, message: 'as the API says' } };
});

beforeEach(() => {
	apiWord = 'completed';
});

async function callback(status: string, parameters: INodeParameters = {}) {
	const result = await callWebhook({
		node: { type: 'whilterTrigger', parameters: { event: 'batchTask', ...parameters }, credentials: { whilterApi: standIn.credential } },
		credentials: standIn.store,
		request: { json: { 'task-id': 'task-7', status } },
	});
	return { result, lookups: standIn.server.requests.filter((r) => r.method === 'GET').length };
}

describe('Whilter Trigger: status words', () => {
	// The contract server's own words (finished, COMPLETED_WITH_ERRORS) are in test/nodes/vendor-variants.test.ts.
	it.each(['succeeded', 'FINISHED', 'Completed', 'completed with errors', 'Done'])(
		'a completion in another word (%s) starts the workflow once the API confirms it',
		async (word) => {
			const { result, lookups } = await callback(word);
			expect(result.items).toEqual([expect.objectContaining({ 'task-id': 'task-7', status: 'completed', confirmed: true })]);
			expect(lookups).toBe(1);
		},
	);

	it('a word the node does not know is asked of the status API, not ignored unasked: the API says completed, the workflow starts', async () => {
		const { result, lookups } = await callback('ready-for-download');
		expect(lookups).toBe(1);
		expect(result.items).toEqual([expect.objectContaining({ 'task-id': 'task-7', status: 'completed', confirmed: true })]);
	});

	it('a confirmed word the node does not know and the trigger was not set for: 200 "ignored", the word passed on as written', async () => {
		apiWord = 'Quarantined';
		const { result, lookups } = await callback('quarantined');
		expect(lookups).toBe(1);
		expect(result.workflowData).toBeUndefined();
		expect(result.status).toBe(200);
		expect(result.json).toMatchObject({ ignored: true, status: 'Quarantined' });
	});

	it('"Other" in Start On Statuses starts on such a word, passed on as Whilter wrote it', async () => {
		apiWord = 'Quarantined';
		const { result } = await callback('quarantined', { statuses: ['completed', 'other'] });
		expect(result.items).toEqual([expect.objectContaining({ status: 'Quarantined', confirmed: true })]);
	});

	it('without confirmation an unknown word is refused (422), so Whilter tries again and the log shows it', async () => {
		const { result, lookups } = await callback('ready-for-download', { confirmWithApi: false });
		expect(result.status).toBe(422);
		expect((result.json as IDataObject).message).toMatch(/"ready-for-download" is not one this trigger knows/);
		expect(result.workflowData).toBeUndefined();
		expect(lookups).toBe(0);
	});

	it('without confirmation a synonym in any case is read as its state', async () => {
		const { result, lookups } = await callback('Succeeded', { confirmWithApi: false });
		expect(result.items).toEqual([expect.objectContaining({ status: 'completed', confirmed: false })]);
		expect(lookups).toBe(0);
	});

	it('a known status the trigger does not start on still costs no API call', async () => {
		const { result, lookups } = await callback('IN_PROGRESS');
		expect(result.json).toMatchObject({ ignored: true, status: 'in-progress' });
		expect(lookups).toBe(0);
	});
});

describe('Whilter Status: status words', () => {
	// Succeeded, Queued, Running, Canceled …: the contract server's synonym variant, test/nodes/vendor-variants.test.ts.
	it.each([
		['ABORTED', 'cancelled'],
		['Mystery-State', 'Mystery-State'],
	])('the API word %s is output as %s', async (word, expected) => {
		apiWord = word;
		const result = await runChain({
			items: [{ json: {} }],
			nodes: [{ name: 'Status', type: 'whilterStatus', parameters: { operation: 'get', taskId: 'task-9' }, credentials: { whilterApi: standIn.credential } }],
			credentials: standIn.store,
		});
		expect(result.output('Status')[0].json).toMatchObject({ 'task-id': 'task-9', status: expected, response: { status: word } });
	});
});
