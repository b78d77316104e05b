/**
 * The Insider contract server over real HTTP: upload (multipart) → id, id → URL and facts, URL →
 * bytes; every malformed upload gets its 4xx and stores nothing; faults inject here too.
 */
import { createHash } from 'node:crypto';

import { parseMultipart, startInsiderServer } from './insider';
import type { InsiderServer } from './insider';

const KEY = 'INS.key';
let insider: InsiderServer;

beforeAll(async () => {
	insider = await startInsiderServer({ authKey: KEY });
});

afterAll(async () => insider.close());

afterEach(() => insider.faults.clear());

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
const jpeg = () => new Blob([JPEG], { type: 'image/jpeg' });

/** A form as fetch builds it (its own multipart content type and boundary). */
function form(fields: Record<string, string | Blob>): FormData {
	const data = new FormData();
	for (const [name, value] of Object.entries(fields)) {
		if (value instanceof Blob) data.append(name, value, 'photo.jpg');
		else data.append(name, value);
	}
	return data;
}

const goodForm = () => form({ file: jpeg(), type: 'image/jpeg', messaging_product: 'whatsapp' });

/** A multipart body written by hand, for what fetch would never send. */
function rawMultipart(boundary: string, parts: Array<{ headers: string[]; body: string | Buffer }>, preamble = ''): Buffer {
	const chunks: Buffer[] = [Buffer.from(preamble)];
	for (const part of parts) chunks.push(Buffer.from(`--${boundary}\r\n${part.headers.join('\r\n')}\r\n\r\n`), Buffer.from(part.body), Buffer.from('\r\n'));
	chunks.push(Buffer.from(`--${boundary}--\r\n`));
	return Buffer.concat(chunks);
}

/**
 * Each upload on a connection of its own: a 100 MB body built after the last answer can start on a
 * kept-alive socket the server is closing for idleness, and the upload then fails with ECONNRESET
 * (seen once in CI, on a busy machine) instead of getting its answer.
 */
async function upload(body: RequestInit['body'], headers: Record<string, string> = { 'x-ins-auth-key': KEY }): Promise<Response> {
	return await fetch(`${insider.url}/v1/media/upload`, { method: 'POST', body, headers: { connection: 'close', ...headers } });
}

/** `key` null: no x-ins-auth-key header at all. */
const get = async (path: string, key: string | null = KEY) => await fetch(`${insider.url}${path}`, { headers: key === null ? {} : { 'x-ins-auth-key': key } });

describe('Insider media upload and URL', () => {
	it('uploads a file and tells its URL, type, hash and size; the URL serves the bytes with the key', async () => {
		const response = await upload(goodForm());
		expect(response.status).toBe(200);
		const { id } = (await response.json()) as { id: string };
		expect(id).toMatch(/^\d+$/);
		const info = await get(`/v1/media/${id}`);
		expect(info.status).toBe(200);
		const body = (await info.json()) as Record<string, unknown>;
		expect(body).toEqual({
			url: `${insider.url}/media-files/${id}`,
			mime_type: 'image/jpeg',
			sha256: createHash('sha256').update(JPEG).digest('hex'),
			file_size: JPEG.length,
			id,
			messaging_product: 'whatsapp',
		});
		expect((await get(`/media-files/${id}`, null)).status).toBe(401);
		const file = await get(`/media-files/${id}`);
		expect(file.headers.get('content-type')).toBe('image/jpeg');
		expect(Buffer.from(await file.arrayBuffer())).toEqual(JPEG);
		expect(insider.media.get(id)).toMatchObject({ size: JPEG.length, mimeType: 'image/jpeg', fileName: 'photo.jpg' });
	});

	it('reads a hand-written body with a preamble, a quoted boundary and part content types', async () => {
		const body = rawMultipart(
			'b-1',
			[
				{ headers: ['Content-Disposition: form-data; name="messaging_product"'], body: 'whatsapp' },
				{ headers: ['Content-Disposition: form-data; name="file"; filename="doc.pdf"', 'Content-Type: application/pdf'], body: '%PDF-1.4\r\n--b-not-a-boundary' },
				{ headers: ['Content-Disposition: form-data; name="type"'], body: 'application/pdf' },
			],
			'ignored preamble\r\n',
		);
		const response = await upload(body, { 'x-ins-auth-key': KEY, 'content-type': 'multipart/form-data; boundary="b-1"' });
		expect(response.status).toBe(200);
		const { id } = (await response.json()) as { id: string };
		expect(insider.media.get(id)?.bytes.toString()).toBe('%PDF-1.4\r\n--b-not-a-boundary');
	});

	it('parseMultipart refuses a body without its closing delimiter', () => {
		const cut = rawMultipart('x', [{ headers: ['Content-Disposition: form-data; name="type"'], body: 'a/b' }]).subarray(0, -8);
		expect(parseMultipart(cut, 'multipart/form-data; boundary=x')).toBeUndefined();
	});

	const multipart = (boundary: string) => ({ 'x-ins-auth-key': KEY, 'content-type': `multipart/form-data; boundary=${boundary}` });
	const fileHeaders = ['Content-Disposition: form-data; name="file"; filename="a.jpg"'];
	const field = (name: string, body: string) => ({ headers: [`Content-Disposition: form-data; name="${name}"`], body });

	it.each<[string, () => Promise<Response>, number]>([
		['no auth key', async () => await upload(goodForm(), {}), 401],
		['a wrong auth key', async () => await upload(goodForm(), { 'x-ins-auth-key': 'INS.wrong' }), 401],
		[
			'the form sent as application/json (the documented example header)',
			async () => await upload(rawMultipart('z', [{ headers: fileHeaders, body: 'x' }, field('type', 'image/jpeg'), field('messaging_product', 'whatsapp')]), { 'x-ins-auth-key': KEY, 'content-type': 'application/json' }),
			415,
		],
		['a JSON body', async () => await upload(JSON.stringify({ type: 'image/jpeg' }), { 'x-ins-auth-key': KEY, 'content-type': 'application/json' }), 415],
		['a urlencoded form', async () => await upload(new URLSearchParams({ type: 'image/jpeg', messaging_product: 'whatsapp' })), 415],
		['a broken multipart body', async () => await upload('--nope\r\n', multipart('abc')), 400],
		['a multipart type without a boundary', async () => await upload(goodForm(), { 'x-ins-auth-key': KEY, 'content-type': 'multipart/form-data' }), 400],
		['a part without a name', async () => await upload(rawMultipart('q', [{ headers: ['Content-Disposition: form-data'], body: 'x' }]), multipart('q')), 400],
		['no file part', async () => await upload(form({ type: 'image/jpeg', messaging_product: 'whatsapp' })), 400],
		['"file" as a plain field, not a file', async () => await upload(form({ file: 'just text', type: 'image/jpeg', messaging_product: 'whatsapp' })), 400],
		['an empty file', async () => await upload(form({ file: new Blob([]), type: 'image/jpeg', messaging_product: 'whatsapp' })), 400],
		['no type', async () => await upload(form({ file: jpeg(), messaging_product: 'whatsapp' })), 400],
		['a type that is not a MIME type', async () => await upload(form({ file: jpeg(), type: 'jpeg', messaging_product: 'whatsapp' })), 400],
		['no messaging_product', async () => await upload(form({ file: jpeg(), type: 'image/jpeg' })), 400],
		['another messaging product', async () => await upload(form({ file: jpeg(), type: 'image/jpeg', messaging_product: 'sms' })), 400],
		['an unknown field', async () => await upload(form({ file: jpeg(), type: 'image/jpeg', messaging_product: 'whatsapp', caption: 'hi' })), 400],
		[
			'two files',
			async () => await upload(rawMultipart('d', [{ headers: fileHeaders, body: 'x' }, { headers: fileHeaders, body: 'y' }, field('type', 'image/jpeg'), field('messaging_product', 'whatsapp')]), multipart('d')),
			400,
		],
	])('rejects %s with its 4xx and a message, storing nothing', async (_name, send, status) => {
		const before = insider.media.size;
		const response = await send();
		expect(response.status).toBe(status);
		expect(await response.json()).toEqual({ message: expect.any(String) });
		expect(insider.media.size).toBe(before);
	});

	it('an unknown media id is 404 with a message, for the facts and the file', async () => {
		for (const path of ['/v1/media/123', '/media-files/123']) {
			const response = await get(path);
			expect(response.status).toBe(404);
			expect(await response.json()).toEqual({ message: 'Media 123 not found' });
		}
	});

	it('the facts need the auth key', async () => {
		expect((await get('/v1/media/123', null)).status).toBe(401);
		expect((await get('/v1/media/123', 'INS.wrong')).status).toBe(401);
	});
});

describe('Insider faults', () => {
	it('429 with Retry-After on the facts, then the answer', async () => {
		insider.faults.add({ method: 'GET', path: /^\/v1\/media\//, kind: 'status', status: 429, retryAfter: 2 });
		const first = await get('/v1/media/123');
		expect(first.status).toBe(429);
		expect(first.headers.get('retry-after')).toBe('2');
		expect((await get('/v1/media/123')).status).toBe(404);
	});

	it('a reset upload stores nothing; a reset-after upload is stored though the client never hears', async () => {
		const before = insider.media.size;
		insider.faults.add({ method: 'POST', path: '/v1/media/upload', kind: 'reset' });
		await expect(upload(goodForm())).rejects.toThrow('fetch failed');
		expect(insider.media.size).toBe(before);
		insider.faults.add({ method: 'POST', path: '/v1/media/upload', kind: 'reset-after' });
		await expect(upload(goodForm())).rejects.toThrow('fetch failed');
		expect(insider.media.size).toBe(before + 1);
	});

	it('latency delays the upload answer', async () => {
		insider.faults.add({ method: 'POST', kind: 'latency', ms: 250 });
		const started = performance.now();
		expect((await upload(goodForm())).status).toBe(200);
		expect(performance.now() - started).toBeGreaterThanOrEqual(240);
	});
});

describe("WhatsApp's media rules: types and sizes WhatsApp refuses are a 400", () => {
	const KB = 1024;
	const MB = 1024 * 1024;
	/** A WebP file of `size` bytes as a chain of RIFF chunks: VP8X (flags), then ANIM or VP8, then padding. */
	function webp(size: number, animated: boolean): Buffer {
		const vp8x = Buffer.concat([Buffer.from('VP8X', 'latin1'), Buffer.from([10, 0, 0, 0, animated ? 0x12 : 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0])]);
		const next = Buffer.alloc(size - 12 - vp8x.length);
		next.write(animated ? 'ANIM' : 'VP8 ', 0, 'latin1');
		next.writeUInt32LE(next.length - 8, 4);
		const bytes = Buffer.concat([Buffer.from('RIFF\0\0\0\0WEBP', 'latin1'), vp8x, next]);
		bytes.writeUInt32LE(size - 8, 4);
		return bytes;
	}
	const file = (type: string, bytes: Buffer) => form({ file: new Blob([bytes], { type }), type, messaging_product: 'whatsapp' });

	it.each([
		['image/jpeg', 5 * MB],
		['image/png', 5 * MB],
		['video/mp4', 16 * MB],
		['video/3gpp', 16 * MB],
		['audio/ogg', 16 * MB],
		['application/pdf', 100 * MB],
		['application/vnd.openxmlformats-officedocument.presentationml.presentation', 100 * MB],
	])('%s: %d bytes are taken, one more is refused', async (type, limit) => {
		const bytes = Buffer.alloc(limit + 1, 1);
		expect((await upload(file(type, bytes.subarray(0, limit)))).status).toBe(200);
		const refused = await upload(file(type, bytes));
		expect(refused.status).toBe(400);
		expect(((await refused.json()) as { message: string }).message).toMatch(new RegExp(`over the ${limit} bytes limit for ${type.replace(/[.+]/g, '\\$&')}$`));
	}, 60_000);

	it.each(['image/gif', 'video/quicktime', 'application/zip', 'application/octet-stream'])('%s is not a type WhatsApp takes', async (type) => {
		const before = insider.media.size;
		const refused = await upload(file(type, Buffer.from('bytes')));
		expect(refused.status).toBe(400);
		expect(((await refused.json()) as { message: string }).message).toBe(`(#131053) Media upload error: unsupported media type ${type}`);
		expect(insider.media.size).toBe(before);
	});

	it('a WebP sticker: static up to 100 KB, animated up to 500 KB, judged from its chunks', async () => {
		expect((await upload(file('image/webp', webp(100 * KB, false)))).status).toBe(200);
		expect((await upload(file('image/webp', webp(100 * KB + 1, false)))).status).toBe(400);
		expect((await upload(file('image/webp', webp(500 * KB, true)))).status).toBe(200);
		const refused = await upload(file('image/webp', webp(500 * KB + 2, true)));
		expect(refused.status).toBe(400);
		expect(((await refused.json()) as { message: string }).message).toMatch(/animated sticker file of 512002 bytes is over the 512000 bytes limit/);
	});
});

describe('a gateway that wants Content-Type: application/json on GET /v1/media/<id>', () => {
	afterEach(() => {
		insider.getContentType = 'any';
	});

	it('refuses the GET without it (415) and answers with it; the file URL is not affected', async () => {
		const { id } = (await (await upload(goodForm())).json()) as { id: string };
		insider.getContentType = 'json';
		const without = await get(`/v1/media/${id}`);
		expect(without.status).toBe(415);
		expect(await without.json()).toEqual({ message: 'Content-Type must be application/json' });
		const withIt = await fetch(`${insider.url}/v1/media/${id}`, { headers: { 'x-ins-auth-key': KEY, 'content-type': 'application/json' } });
		expect(withIt.status).toBe(200);
		expect((await get(`/media-files/${id}`)).status).toBe(200);
	});
});
