import { CredentialStore, runChain, shutdownN8nCore } from '../harness/run';
import { startInsiderServer } from '../servers/insider';

type Insider = Awaited<ReturnType<typeof startInsiderServer>>;

const KEY = 'INS.secret-auth-key';
let insider: Insider;
let store: CredentialStore;
let credential: { id: string; name: string };
let mediaId: string;

beforeAll(async () => {
	insider = await startInsiderServer({ authKey: KEY });
	store = new CredentialStore();
	credential = store.add('insiderApi', { authKey: KEY, baseUrl: insider.url });
	const form = new FormData();
	form.append('file', new Blob([Buffer.from('%PDF-1.4 demo')], { type: 'application/pdf' }), 'offer.pdf');
	form.append('type', 'application/pdf');
	form.append('messaging_product', 'whatsapp');
	const response = await fetch(`${insider.url}/v1/media/upload`, { method: 'POST', body: form, headers: { 'x-ins-auth-key': KEY } });
	mediaId = ((await response.json()) as { id: string }).id;
});

afterAll(async () => {
	await insider.close();
	await shutdownN8nCore();
});

afterEach(() => insider.faults.clear());

const getUrl = (extra: Record<string, unknown> = {}) => ({
	name: 'Media',
	type: 'insiderWhatsAppMedia',
	parameters: { operation: 'getUrl', mediaId: '={{ $json.mediaId }}' },
	credentials: { insiderApi: credential },
	...extra,
});

describe('Insider WhatsApp Media through n8n-core', () => {
	it('Get URL: the URL, type, hash and size of an uploaded file, with the auth key header', async () => {
		const result = await runChain({ items: [{ json: { mediaId } }], nodes: [getUrl()], credentials: store });
		expect(result.error).toBeUndefined();
		const [out] = result.output('Media');
		expect(out.json).toMatchObject({ id: mediaId, 'mime-type': 'application/pdf', 'file-size': 13, 'messaging-product': 'whatsapp' });
		expect(String(out.json.url)).toContain(`/media-files/${mediaId}`);
		expect(String(out.json.sha256)).toMatch(/^[0-9a-f]{64}$/);
		expect(out.pairedItem).toEqual({ item: 0 });
		expect(insider.requests.at(-1)?.headers['x-ins-auth-key']).toBe(KEY);
	});

	it('retries a GET after 429 and 503', async () => {
		insider.faults.add({ method: 'GET', path: /\/v1\/media\//, kind: 'status', status: 429, retryAfter: 0 });
		insider.faults.add({ method: 'GET', path: /\/v1\/media\//, kind: 'status', status: 503 });
		const result = await runChain({ items: [{ json: { mediaId } }], nodes: [getUrl()], credentials: store });
		expect(result.error).toBeUndefined();
		expect(result.output('Media')[0].json.id).toBe(mediaId);
	});

	it("an unknown id is a NodeApiError with Insider's message and status, on its item, without the key", async () => {
		const result = await runChain({ items: [{ json: { mediaId } }, { json: { mediaId: '999' } }], nodes: [getUrl()], credentials: store });
		expect(result.error?.message).toMatch(/Insider answered HTTP 404 .*Media 999 not found/);
		expect(result.error?.httpCode).toBe('404');
		expect(JSON.stringify(result.error)).not.toContain(KEY);
		const kept = await runChain({ items: [{ json: { mediaId } }, { json: { mediaId: '999' } }], nodes: [getUrl({ continueOnFail: true })], credentials: store });
		expect(kept.output('Media').map((i) => Boolean(i.json.error))).toEqual([false, true]);
		expect(kept.output('Media')[1].pairedItem).toEqual({ item: 1 });
	});
});
