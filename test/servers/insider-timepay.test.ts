import { startInsiderServer } from './insider';
import { startTimePayServer } from './timepay';

type Insider = Awaited<ReturnType<typeof startInsiderServer>>;
type TimePay = Awaited<ReturnType<typeof startTimePayServer>>;

let insider: Insider;
let timepay: TimePay;

beforeAll(async () => {
	insider = await startInsiderServer({ authKey: 'INS.key' });
	timepay = await startTimePayServer({ token: 'tp-token' });
});

afterAll(async () => {
	await insider.close();
	await timepay.close();
});

function form(fields: Record<string, string | Blob>): FormData {
	const data = new FormData();
	for (const [k, v] of Object.entries(fields)) data.append(k, v, ...(v instanceof Blob ? ['photo.jpg'] : []));
	return data;
}

const jpeg = () => new Blob([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])], { type: 'image/jpeg' });

describe('Insider contract server', () => {
	const upload = async (body: string | FormData, headers: Record<string, string> = { 'x-ins-auth-key': 'INS.key' }) =>
		await fetch(`${insider.url}/v1/media/upload`, { method: 'POST', body, headers });

	it('uploads a file and tells its URL, size and hash', async () => {
		const response = await upload(form({ file: jpeg(), type: 'image/jpeg', messaging_product: 'whatsapp' }));
		expect(response.status).toBe(200);
		const { id } = (await response.json()) as { id: string };
		const info = (await (await fetch(`${insider.url}/v1/media/${id}`, { headers: { 'x-ins-auth-key': 'INS.key' } })).json()) as Record<string, unknown>;
		expect(info).toMatchObject({ id, mime_type: 'image/jpeg', file_size: 7, messaging_product: 'whatsapp' });
		expect(String(info.sha256)).toMatch(/^[0-9a-f]{64}$/);
		const file = await fetch(String(info.url), { headers: { 'x-ins-auth-key': 'INS.key' } });
		expect(Buffer.from(await file.arrayBuffer())).toEqual(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
	});

	it.each([
		['no auth key', () => upload(form({ file: jpeg(), type: 'image/jpeg', messaging_product: 'whatsapp' }), {}), 401],
		['a wrong auth key', () => upload(form({ file: jpeg(), type: 'image/jpeg', messaging_product: 'whatsapp' }), { 'x-ins-auth-key': 'x' }), 401],
		['a JSON body', () => upload(JSON.stringify({ type: 'image/jpeg' }), { 'x-ins-auth-key': 'INS.key', 'content-type': 'application/json' }), 415],
		['no file part', () => upload(form({ type: 'image/jpeg', messaging_product: 'whatsapp' })), 400],
		['no type', () => upload(form({ file: jpeg(), messaging_product: 'whatsapp' })), 400],
		['another messaging product', () => upload(form({ file: jpeg(), type: 'image/jpeg', messaging_product: 'sms' })), 400],
		['a broken multipart body', () => upload('--nope\r\n', { 'x-ins-auth-key': 'INS.key', 'content-type': 'multipart/form-data; boundary=abc' }), 400],
	])('rejects %s', async (_name, send, status) => {
		const before = insider.media.size;
		expect((await send()).status).toBe(status);
		expect(insider.media.size).toBe(before);
	});

	it('an unknown media id is not found', async () => {
		expect((await fetch(`${insider.url}/v1/media/123`, { headers: { 'x-ins-auth-key': 'INS.key' } })).status).toBe(404);
	});
});

describe('TimePay contract server', () => {
	const initiate = async (campaign: string, body: unknown, token = 'tp-token') =>
		await fetch(`${timepay.url}/api/v1/initiate/${campaign}/whatsapp`, {
			method: 'POST',
			headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
			body: JSON.stringify(body),
		});

	it('200 when all are initiated, with the documented counts', async () => {
		const response = await initiate('camp-loans', {
			templateId: 't1',
			limit: 2,
			filters: { ids: ['LOANID-2043150', 'LOANID-2043151', 'LOANID-2043152', 'LOANID-2043153'], exclude_ids: ['LOANID-2043150'], language: ['hi', 'ta', 'en'] },
		});
		expect(response.status).toBe(200);
		expect(await response.json()).toMatchObject({ success: true, results: { totalMatched: 3, customersSelected: 2, initiated: 2, failed: 0, errors: [] } });
	});

	it('207 on partial success, 500 when all fail, 404 when nothing matches', async () => {
		const partial = await initiate('camp-loans', { templateId: 't1' });
		expect(partial.status).toBe(207);
		expect(await partial.json()).toMatchObject({ success: false, results: { failed: 2, initiated: 10 } });
		expect((await initiate('camp-failing', { templateId: 't1' })).status).toBe(500);
		expect((await initiate('camp-nope', { templateId: 't1' })).status).toBe(404);
		expect((await initiate('camp-empty', { templateId: 't1' })).status).toBe(404);
	});

	it.each([
		['no templateId', {}],
		['half the conversation settings', { templateId: 't', conversationSettings: { agentId: 'a' } }],
		['an unknown field', { templateId: 't', channel: 'x' }],
		['an unknown filter', { templateId: 't', filters: { city: ['Pune'] } }],
		['a zero limit', { templateId: 't', limit: 0 }],
		['ids that are not strings', { templateId: 't', filters: { ids: [1] } }],
	])('400 for %s, with the message', async (_name, body) => {
		const response = await initiate('camp-loans', body);
		expect(response.status).toBe(400);
		expect(await response.json()).toMatchObject({ success: false, message: expect.any(String) });
	});

	it('401 without the bearer token', async () => {
		expect((await initiate('camp-loans', { templateId: 't' }, 'bad')).status).toBe(401);
	});

	it('lists and searches campaigns, and lists dispositions', async () => {
		const get = async (path: string) =>
			(await (await fetch(`${timepay.url}${path}`, { headers: { authorization: 'Bearer tp-token' } })).json()) as { data: Array<{ id: string }>; pagination?: { total: number } };
		expect((await get('/api/v1/campaigns?search=loan')).data.map((c) => c.id)).toEqual(['camp-loans']);
		expect((await get('/api/v1/campaigns?page=1&limit=2')).pagination?.total).toBe(4);
		expect((await get('/api/v1/dispositions')).data.length).toBeGreaterThan(0);
	});

	it('faults inject here too', async () => {
		timepay.faults.add({ method: 'GET', path: '/api/v1/campaigns', kind: 'status', status: 503, retryAfter: 2 });
		const response = await fetch(`${timepay.url}/api/v1/campaigns`, { headers: { authorization: 'Bearer tp-token' } });
		expect(response.status).toBe(503);
		expect(response.headers.get('retry-after')).toBe('2');
	});
});
