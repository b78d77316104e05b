/**
 * TimePay Initiate must never message more customers than the user chose: TimePay messages the
 * whole campaign when `filters` is left out, so a filter that turns out empty is an error, the whole
 * campaign is an explicit Audience, and one execution initiates once unless asked per item.
 */
import type { IDataObject, INodeExecutionData, INodeParameters } from 'n8n-workflow';

import { CredentialStore, runChain, shutdownN8nCore } from '../harness/run';
import { startTimePayServer } from '../servers/timepay';
import type { TimePayServer } from '../servers/timepay';

const TOKEN = 'tp-safety-token-5b1e07';
let timepay: TimePayServer;
let store: CredentialStore;
let credential: { id: string; name: string };

beforeAll(async () => {
	timepay = await startTimePayServer({ token: TOKEN });
	store = new CredentialStore();
	credential = store.add('timePayApi', { token: TOKEN, baseUrl: timepay.url });
});

afterAll(async () => {
	await timepay.close();
	await shutdownN8nCore();
});

async function run(parameters: INodeParameters, items: INodeExecutionData[] = [{ json: {} }]) {
	const before = timepay.requests.length;
	const result = await runChain({
		items,
		nodes: [
			{
				name: 'TimePay',
				type: 'timePayInitiate',
				parameters: { campaign: { __rl: true, mode: 'id', value: 'camp-loans' }, templateId: 'tpl-1', ...parameters },
				credentials: { timePayApi: credential },
			},
		],
		credentials: store,
	});
	// Every initiation POST the server received during the run, accepted or not.
	const initiations = timepay.requests.slice(before).filter((r) => r.method === 'POST' && r.path.startsWith('/api/v1/initiate/'));
	return { result, out: result.output('TimePay'), initiations };
}

describe('TimePay Initiate never widens the audience', () => {
	it.each([
		['an empty text', ''],
		['an empty list', '={{ [] }}'],
		['null', '={{ null }}'],
		['undefined', '={{ undefined }}'],
		['only blanks and commas', ' , ,'],
	])('Customer IDs that evaluate to %s: an error naming the filter and the item, nothing sent', async (_what, ids) => {
		const { result, initiations } = await run({ filters: { ids } });
		expect(result.error?.message).toBe('Item 0: Filters → "Customer IDs" is empty');
		expect(result.error?.description).toMatch(/would not narrow who is messaged.*Nothing was sent/);
		expect(initiations).toHaveLength(0);
	});

	it.each([
		['excludeIds', '={{ $json.none }}', 'Exclude Customer IDs'],
		['paymentStatus', '={{ [] }}', 'Payment Status'],
		['language', '', 'Language'],
		['custom', '{}', 'Custom (JSON)'],
	])('%s that evaluates to nothing: an error, nothing sent', async (filter, value, label) => {
		const { result, initiations } = await run({ filters: { [filter]: value } });
		expect(result.error?.message).toBe(`Item 0: Filters → "${label}" is empty`);
		expect(initiations).toHaveLength(0);
	});

	it('a new node (no filter, default Audience) refuses to message the whole campaign', async () => {
		const { result, initiations } = await run({});
		expect(result.error?.message).toBe('Item 0: no filter is set');
		expect(result.error?.description).toMatch(/set "Audience" to "Every Customer of the Campaign"/);
		expect(initiations).toHaveLength(0);
	});

	it('the whole campaign when chosen on purpose: one initiation without filters', async () => {
		const { result, out, initiations } = await run({ audience: 'wholeCampaign' });
		expect(result.error).toBeUndefined();
		expect(initiations).toHaveLength(1);
		expect((initiations[0].body as IDataObject).filters).toBeUndefined();
		expect(out[0].json).toMatchObject({ 'initiations-sent': 1, 'status-code': 207 });
	});

	it('a payment status outside the offered list is sent as given', async () => {
		const { result, initiations } = await run({ filters: { paymentStatus: '={{ ["bounced", "written-off"] }}' } });
		expect(result.error?.message ?? '').not.toMatch(/unknown value/);
		expect(initiations).toHaveLength(1);
		expect((initiations[0].body as IDataObject).filters).toEqual({ payment_status: ['bounced', 'written-off'] });
	});
});

describe('TimePay Initiate initiates once per execution by default', () => {
	const rows = Array.from({ length: 5 }, (_, i): INodeExecutionData => ({ json: { row: i } }));

	it('five input items (one per customer row): one initiation, from the first item', async () => {
		const { result, out, initiations } = await run({ filters: { paymentStatus: ['bounced'] } }, rows);
		expect(result.error).toBeUndefined();
		expect(initiations).toHaveLength(1);
		expect(out).toHaveLength(1);
		expect(out[0].pairedItem).toEqual({ item: 0 });
		expect(out[0].json['initiations-sent']).toBe(1);
	});

	it('"Once per Input Item": one initiation per item, each output says how many were sent', async () => {
		const { result, out, initiations } = await run({ initiate: 'perItem', filters: { ids: '={{ "LOANID-" + (2043150 + $json.row) }}' } }, rows.slice(0, 3));
		expect(result.error).toBeUndefined();
		expect(initiations).toHaveLength(3);
		expect(initiations.map((i) => (i.body as IDataObject).filters)).toEqual([
			{ ids: ['LOANID-2043150'] },
			{ ids: ['LOANID-2043151'] },
			{ ids: ['LOANID-2043152'] },
		]);
		expect(out.map((o) => o.json['initiations-sent'])).toEqual([3, 3, 3]);
		expect(out.map((o) => o.pairedItem)).toEqual([0, 1, 2].map((item) => ({ item })));
	});
});

describe('the TimePay credential', () => {
	it.each(['Bearer ', 'bearer  ', ' BEARER '])('a token pasted with its %j prefix is sent as one Bearer token', async (prefix) => {
		const pasted = store.add('timePayApi', { token: `${prefix}${TOKEN}`, baseUrl: timepay.url });
		const before = timepay.requests.length;
		const result = await runChain({
			items: [{ json: {} }],
			nodes: [
				{
					name: 'TimePay',
					type: 'timePayInitiate',
					parameters: { campaign: { __rl: true, mode: 'id', value: 'camp-welcome' }, templateId: 'tpl-1', audience: 'wholeCampaign' },
					credentials: { timePayApi: pasted },
				},
			],
			credentials: store,
		});
		expect(result.error).toBeUndefined();
		expect(timepay.requests.slice(before).map((r) => r.headers.authorization)).toEqual([`Bearer ${TOKEN}`]);
	});
});
