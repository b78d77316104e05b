/**
 * The TimePay contract server over real HTTP: the documented results and statuses (200, 207, 404,
 * 500), every malformed body's 400, the bearer token, the list endpoints, and faults.
 */
import { startTimePayServer } from './timepay';
import type { TimePayServer } from './timepay';

const TOKEN = 'tp-token';
let timepay: TimePayServer;

beforeAll(async () => {
	timepay = await startTimePayServer({ token: TOKEN });
});

afterAll(async () => timepay.close());

afterEach(() => timepay.faults.clear());

interface Answer {
	status: number;
	headers: Headers;
	body: Record<string, unknown>;
}

async function send(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
	const response = await fetch(`${timepay.url}${path}`, { method, body: init.body, headers: { authorization: `Bearer ${TOKEN}`, ...init.headers } });
	return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

const initiate = async (campaign: string, body: unknown, channel = 'whatsapp') =>
	await send('POST', `/api/v1/initiate/${campaign}/${channel}`, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

/** camp-loans (demoCampaigns): LOANID-2043150 … -2043161; -2043155-FAIL and -2043161-FAIL cannot be messaged. */
const LOANS = Array.from({ length: 12 }, (_, i) => `LOANID-${2043150 + i}${i % 6 === 5 ? '-FAIL' : ''}`);

describe('POST /api/v1/initiate/<campaignId>/whatsapp', () => {
	it('200 with the documented results when every selected customer is initiated', async () => {
		const answer = await initiate('camp-loans', {
			templateId: 'hfu7VL6sBhI6NPm',
			limit: 2,
			filters: { ids: LOANS.slice(0, 4), exclude_ids: [LOANS[0]] },
		});
		expect(answer.status).toBe(200);
		expect(answer.body).toEqual({
			success: true,
			message: 'WhatsApp messages initiated for 2 customers',
			results: { totalMatched: 3, customersSelected: 2, initiated: 2, failed: 0, batchesProcessed: 1, errors: [] },
		});
		expect(timepay.initiations.at(-1)).toMatchObject({ campaignId: 'camp-loans', channel: 'whatsapp', templateId: 'hfu7VL6sBhI6NPm', initiated: [LOANS[1], LOANS[2]], failed: [] });
	});

	it('takes conversation settings with both ids', async () => {
		const answer = await initiate('camp-loans', {
			templateId: 't',
			conversationSettings: { agentId: 'PPTnLQAvGlLtVgRbpcFn', dispositionId: 'XaYnpMfmTumXNSgOSIZB' },
			filters: { ids: [LOANS[0]] },
		});
		expect(answer.status).toBe(200);
	});

	it('combines filters with AND: payment status, language and custom fields', async () => {
		const answer = await initiate('camp-loans', { templateId: 't', filters: { payment_status: ['bounced', 'pending'], language: ['en'], custom: { branch: 'Chennai' } } });
		// bounced/pending: 0,1,5,6,10,11; language en: 0,3,6,9; branch Chennai: even → 0, 6.
		expect(answer.body.results).toMatchObject({ totalMatched: 2, initiated: 2 });
		expect(timepay.initiations.at(-1)?.initiated).toEqual([LOANS[0], LOANS[6]]);
	});

	it('207 on partial success: success false, the failures listed', async () => {
		const answer = await initiate('camp-loans', { templateId: 't' });
		expect(answer.status).toBe(207);
		expect(answer.body).toEqual({
			success: false,
			message: expect.stringContaining('initiated for 10 customers, 2 failed'),
			results: {
				totalMatched: 12,
				customersSelected: 12,
				initiated: 10,
				failed: 2,
				batchesProcessed: 1,
				errors: [
					{ customerId: LOANS[5], error: expect.any(String) },
					{ customerId: LOANS[11], error: expect.any(String) },
				],
			},
		});
	});

	it('500 when every message fails, with the results', async () => {
		const answer = await initiate('camp-failing', { templateId: 't' });
		expect(answer.status).toBe(500);
		expect(answer.body).toMatchObject({ success: false, message: expect.any(String), results: { initiated: 0, failed: 1 } });
	});

	it.each([
		['an unknown campaign', 'camp-nope', {}],
		['a campaign without customers', 'camp-empty', {}],
		['filters nobody matches', 'camp-loans', { filters: { ids: ['LOANID-0'] } }],
	])('404 for %s', async (_name, campaign, extra) => {
		const answer = await initiate(campaign, { templateId: 't', ...extra });
		expect(answer.status).toBe(404);
		expect(answer.body).toEqual({ success: false, message: expect.any(String) });
	});

	it.each<[string, unknown]>([
		['no templateId', {}],
		['an empty templateId', { templateId: '' }],
		['a numeric templateId', { templateId: 7 }],
		['an unknown field', { templateId: 't', channel: 'x' }],
		['conversationSettings with only agentId', { templateId: 't', conversationSettings: { agentId: 'a' } }],
		['conversationSettings with only dispositionId', { templateId: 't', conversationSettings: { dispositionId: 'XaYnpMfmTumXNSgOSIZB' } }],
		['conversationSettings with an unknown field', { templateId: 't', conversationSettings: { agentId: 'a', dispositionId: 'XaYnpMfmTumXNSgOSIZB', mood: 'x' } }],
		['conversationSettings that is not an object', { templateId: 't', conversationSettings: 'a,b' }],
		['an unknown dispositionId', { templateId: 't', conversationSettings: { agentId: 'a', dispositionId: 'nope' } }],
		['a zero limit', { templateId: 't', limit: 0 }],
		['a fractional limit', { templateId: 't', limit: 1.5 }],
		['a limit as a string', { templateId: 't', limit: '5' }],
		['filters that are a list', { templateId: 't', filters: [] }],
		['an unknown filter', { templateId: 't', filters: { city: ['Pune'] } }],
		['ids that are not strings', { templateId: 't', filters: { ids: [1] } }],
		['payment_status that is a string', { templateId: 't', filters: { payment_status: 'bounced' } }],
		['custom that is not an object', { templateId: 't', filters: { custom: ['x'] } }],
		['a JSON array body', [{ templateId: 't' }]],
	])('400 for %s, with the message', async (_name, body) => {
		const before = timepay.initiations.length;
		const answer = await initiate('camp-loans', body);
		expect(answer.status).toBe(400);
		expect(answer.body).toEqual({ success: false, message: expect.any(String) });
		expect(timepay.initiations.length).toBe(before);
	});

	it('400 for a body that is not JSON, or not declared JSON', async () => {
		const path = '/api/v1/initiate/camp-loans/whatsapp';
		expect((await send('POST', path, { body: '{"templateId"', headers: { 'content-type': 'application/json' } })).status).toBe(400);
		expect((await send('POST', path, { body: '{"templateId":"t"}', headers: { 'content-type': 'text/plain' } })).status).toBe(400);
	});

	it('the sms and calls channels share the contract', async () => {
		const sms = await initiate('camp-welcome', { templateId: 't' }, 'sms');
		expect(sms).toMatchObject({ status: 200, body: { success: true, message: 'SMS messages initiated for 1 customers' } });
		expect((await initiate('camp-welcome', { templateId: 't' }, 'calls')).status).toBe(200);
		expect((await initiate('camp-welcome', { templateId: 't' }, 'fax')).status).toBe(404);
	});
});

describe('bearer token', () => {
	it.each<[string, Record<string, string>]>([
		['no Authorization header', { authorization: '' }],
		['a wrong token', { authorization: 'Bearer nope' }],
		['the token without the Bearer scheme', { authorization: TOKEN }],
	])('401 {success:false, message} for %s, on every endpoint', async (_name, headers) => {
		for (const [method, path] of [
			['POST', '/api/v1/initiate/camp-loans/whatsapp'],
			['GET', '/api/v1/campaigns'],
			['GET', '/api/v1/dispositions'],
		]) {
			const answer = await send(method, path, { headers: { ...headers, 'content-type': 'application/json' }, body: method === 'POST' ? '{"templateId":"t"}' : undefined });
			expect([path, answer.status, answer.body]).toEqual([path, 401, { success: false, message: expect.any(String) }]);
		}
	});
});

describe('campaigns and dispositions', () => {
	const list = async (query = '') => (await send('GET', `/api/v1/campaigns${query}`)).body;

	it('lists campaigns as {id, name, status} with pagination', async () => {
		expect(await list()).toEqual({
			success: true,
			data: [
				{ id: 'camp-loans', name: 'Loan reminders', status: 'active' },
				{ id: 'camp-failing', name: 'Broken numbers', status: 'active' },
				{ id: 'camp-empty', name: 'Empty campaign', status: 'paused' },
				{ id: 'camp-welcome', name: 'Welcome journey', status: 'completed' },
			],
			pagination: { page: 1, limit: 10, total: 4, totalPages: 1 },
		});
		expect(await list('?page=2&limit=3')).toEqual({ success: true, data: [{ id: 'camp-welcome', name: 'Welcome journey', status: 'completed' }], pagination: { page: 2, limit: 3, total: 4, totalPages: 2 } });
	});

	it('filters by status and searches names', async () => {
		expect(((await list('?status=active')).data as Array<{ id: string }>).map((c) => c.id)).toEqual(['camp-loans', 'camp-failing']);
		expect(((await list('?search=LOAN')).data as Array<{ id: string }>).map((c) => c.id)).toEqual(['camp-loans']);
		expect(await list('?search=nothing-like-this')).toMatchObject({ data: [], pagination: { total: 0 } });
	});

	it.each(['?page=0', '?page=x', '?limit=-1', '?limit=1000'])('400 for %s', async (query) => {
		const answer = await send('GET', `/api/v1/campaigns${query}`);
		expect(answer.status).toBe(400);
		expect(answer.body).toEqual({ success: false, message: expect.any(String) });
	});

	it('lists dispositions as {id, name} with pagination', async () => {
		const answer = await send('GET', '/api/v1/dispositions');
		expect(answer.body).toEqual({
			success: true,
			data: expect.arrayContaining([{ id: 'XaYnpMfmTumXNSgOSIZB', name: expect.any(String) }]),
			pagination: { page: 1, limit: 20, total: 2, totalPages: 1 },
		});
		expect((await send('GET', '/api/v1/dispositions?search=later')).body).toMatchObject({ data: [{ id: 'disp-callback' }], pagination: { total: 1 } });
		expect((await send('GET', '/api/v1/dispositions?page=0')).status).toBe(400);
	});

	it('pages dispositions 20 at a time', async () => {
		const many = await startTimePayServer({
			token: TOKEN,
			dispositions: Array.from({ length: 25 }, (_, i) => ({ id: `d-${i}`, name: `Disposition ${i}` })),
		});
		try {
			const page = async (n: number) => (await (await fetch(`${many.url}/api/v1/dispositions?page=${n}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as Record<string, unknown>;
			expect(await page(1)).toMatchObject({ data: expect.any(Array), pagination: { page: 1, limit: 20, total: 25, totalPages: 2 } });
			expect(((await page(1)).data as unknown[]).length).toBe(20);
			expect(((await page(2)).data as Array<{ id: string }>).map((d) => d.id)).toEqual(['d-20', 'd-21', 'd-22', 'd-23', 'd-24']);
		} finally {
			await many.close();
		}
	});
});

describe('TimePay faults', () => {
	it('503 with Retry-After, then the answer', async () => {
		timepay.faults.add({ method: 'GET', path: '/api/v1/campaigns', kind: 'status', status: 503, retryAfter: 2 });
		const first = await send('GET', '/api/v1/campaigns');
		expect(first.status).toBe(503);
		expect(first.headers.get('retry-after')).toBe('2');
		expect((await send('GET', '/api/v1/campaigns')).status).toBe(200);
	});

	it('a faulted initiate sends nothing; reset-after sends the messages but drops the answer', async () => {
		const before = timepay.initiations.length;
		timepay.faults.add({ method: 'POST', path: /\/initiate\//, kind: 'status', status: 500 });
		expect((await initiate('camp-welcome', { templateId: 't' })).status).toBe(500);
		expect(timepay.initiations.length).toBe(before);
		timepay.faults.add({ method: 'POST', path: /\/initiate\//, kind: 'reset-after' });
		await expect(initiate('camp-welcome', { templateId: 't' })).rejects.toThrow('fetch failed');
		expect(timepay.initiations.length).toBe(before + 1);
	});
});

describe('results.errors shapes (errorShape)', () => {
	afterEach(() => {
		timepay.errorShape = 'customerId';
	});

	it.each([
		['customerId', { customerId: LOANS[5], error: 'WhatsApp number is not reachable' }],
		['customer_id', { customer_id: LOANS[5], message: 'WhatsApp number is not reachable' }],
		['id', { id: LOANS[5], reason: 'WhatsApp number is not reachable' }],
		['string', `${LOANS[5]}: WhatsApp number is not reachable`],
	] as const)('%s: a failed customer is written %j', async (shape, entry) => {
		timepay.errorShape = shape;
		const answer = await initiate('camp-loans', { templateId: 't' });
		expect(answer.status).toBe(207);
		expect((answer.body.results as { errors: unknown[] }).errors).toEqual([entry, expect.anything()]);
	});

	it('a server started without errorShape writes {customerId, error}', () => {
		expect(timepay.errorShape).toBe('customerId');
	});
});
