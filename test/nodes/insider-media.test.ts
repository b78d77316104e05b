/**
 * Insider WhatsApp Media's Upload, Upload and Get URL and Download operations, run through n8n-core
 * against the Insider contract server. What the server received is checked on its side: the exact
 * multipart fields, the file part's name and type, and the SHA-256 of the bytes. Rejected files
 * (WhatsApp's limits) must leave the server's request log empty.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IBinaryData, INodeExecutionData } from 'n8n-workflow';

import { CredentialStore, runChain, shutdownN8nCore } from '../harness/run';
import type { NodeSpec, TestFile } from '../harness/run';
import { json, startServer } from '../servers/http';
import type { ContractServer, RecordedRequest } from '../servers/http';
import { parseMultipart, startInsiderServer } from '../servers/insider';
import type { InsiderServer } from '../servers/insider';

// The harness has pointed n8n-core at its temp folder by now; the binary store is read directly.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const core = require('n8n-core') as typeof import('n8n-core');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Container } = require('@n8n/di') as typeof import('@n8n/di');

const KEY = 'INS.media-secret-key-7f3a';
const MB = 1024 * 1024;
const KB = 1024;

let insider: InsiderServer;
let other: ContractServer;
let store: CredentialStore;
let credential: { id: string; name: string };
let workDir: string;

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
	workDir = mkdtempSync(join(tmpdir(), 'insider-media-test-'));
	insider = await startInsiderServer({ authKey: KEY });
	// A media host that is not Insider: it serves /file.bin, and /to-insider/<id> redirects to Insider.
	other = await startServer((request) => {
		if (request.path === '/file.bin') return { status: 200, raw: Buffer.from('third-party bytes'), headers: { 'content-type': 'application/pdf' } };
		const hop = /^\/to-insider\/(\d+)$/.exec(request.path);
		if (hop) return { status: 302, body: undefined, headers: { location: `${insider.url}/media-files/${hop[1]}` } };
		return json(404, { message: 'nothing here' });
	});
	store = new CredentialStore();
	credential = store.add('insiderApi', { authKey: KEY, baseUrl: insider.url });
});

afterAll(async () => {
	await insider?.close();
	await other?.close();
	rmSync(workDir, { recursive: true, force: true });
	await shutdownN8nCore();
});

beforeEach(() => {
	insider.requests.splice(0);
	other.requests.splice(0);
});

afterEach(() => {
	insider.faults.clear();
	other.faults.clear();
});

/** A real file in the temp folder: given bytes, or a sparse file of `size` bytes (made at once, no data written). */
function file(name: string, content: Buffer | number): string {
	const path = join(workDir, name);
	if (typeof content === 'number') {
		writeFileSync(path, '');
		truncateSync(path, content);
	} else writeFileSync(path, content);
	return path;
}

const input = (path: string, fileName: string, mimeType: string, property = 'data'): TestFile => ({ property, path, fileName, mimeType });

function media(operation: string, parameters: Record<string, unknown> = {}, extra: Partial<NodeSpec> = {}): NodeSpec {
	return { name: 'Media', type: 'insiderWhatsAppMedia', parameters: { operation, ...parameters }, credentials: { insiderApi: credential }, ...extra };
}

async function run(files: Array<TestFile | null>, nodes: NodeSpec[], items?: INodeExecutionData[]) {
	return await runChain({ items: items ?? files.map(() => ({ json: {} })), files, nodes, credentials: store });
}

const posts = () => insider.requests.filter((r) => r.method === 'POST');

/** The upload form as the server received it: field names in order, the file part, and the fields' values. */
function receivedForm(request: RecordedRequest) {
	const parts = parseMultipart(request.raw, String(request.headers['content-type']));
	if (!parts) throw new Error('the server could not parse the multipart body');
	const file = parts.find((p) => p.name === 'file')!;
	return {
		names: parts.map((p) => p.name),
		fileName: file.fileName,
		fileType: file.contentType,
		fileSha256: sha(file.data),
		fileSize: file.data.length,
		type: parts.find((p) => p.name === 'type')?.data.toString(),
		messagingProduct: parts.find((p) => p.name === 'messaging_product')?.data.toString(),
	};
}

async function storedBytes(binary: IBinaryData | undefined): Promise<Buffer> {
	if (!binary) throw new Error('no binary on the output item');
	return await Container.get(core.BinaryDataService).getAsBuffer(binary);
}

/** Some bytes that begin like a JPEG. */
const jpegBytes = (size: number) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(size - 4)]);

/** A WebP file of `size` bytes: extended header, animated (flag + ANIM chunk) or static. */
function webpBytes(size: number, animated: boolean): Buffer {
	const header = Buffer.concat([
		Buffer.from('RIFF', 'latin1'),
		Buffer.from([0, 0, 0, 0]),
		Buffer.from('WEBPVP8X', 'latin1'),
		Buffer.from([10, 0, 0, 0, animated ? 0x12 : 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
		Buffer.from(animated ? 'ANIM' : 'VP8 ', 'latin1'),
	]);
	const bytes = Buffer.concat([header, randomBytes(size - header.length)]);
	bytes.writeUInt32LE(size - 8, 4);
	return bytes;
}

describe('Upload', () => {
	it('streams a stored file as multipart (file, type, messaging_product) and outputs the id and the file facts', async () => {
		const bytes = jpegBytes(300 * KB);
		const result = await run([input(file('photo.jpg', bytes), 'photo.jpg', 'image/jpeg')], [media('upload')]);
		expect(result.error).toBeUndefined();
		const [out] = result.output('Media');
		// The package's own fields in kebab-case; Insider's answer, unchanged, under `response`.
		expect(out.json).toEqual({
			id: expect.stringMatching(/^\d+$/),
			'file-name': 'photo.jpg',
			'mime-type': 'image/jpeg',
			'file-size': bytes.length,
			'media-type': 'image',
			'messaging-product': 'whatsapp',
			response: { id: out.json.id },
		});
		expect(out.pairedItem).toEqual({ item: 0 });
		expect(insider.requests).toHaveLength(1);
		const [post] = posts();
		expect(post.path).toBe('/v1/media/upload');
		expect(post.headers['x-ins-auth-key']).toBe(KEY);
		expect(post.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
		expect(Number(post.headers['content-length'])).toBe(post.raw.length);
		expect(receivedForm(post)).toEqual({
			names: ['file', 'type', 'messaging_product'],
			fileName: 'photo.jpg',
			fileType: 'image/jpeg',
			fileSha256: sha(bytes),
			fileSize: bytes.length,
			type: 'image/jpeg',
			messagingProduct: 'whatsapp',
		});
		expect(insider.media.get(String(out.json.id))).toMatchObject({ sha256: sha(bytes), mimeType: 'image/jpeg', fileName: 'photo.jpg' });
	});

	it('uploads an in-memory binary (no id) from its buffer', async () => {
		const bytes = Buffer.from('Hello WhatsApp, plain text document\n');
		const result = await run([], [media('upload', { binaryPropertyName: 'doc' })], [
			{ json: {}, binary: { doc: { data: bytes.toString('base64'), mimeType: 'text/plain', fileName: 'hello.txt' } } },
		]);
		expect(result.error).toBeUndefined();
		expect(result.output('Media')[0].json).toMatchObject({ 'file-name': 'hello.txt', 'mime-type': 'text/plain', 'file-size': bytes.length, 'media-type': 'document' });
		expect(receivedForm(posts()[0])).toMatchObject({ fileName: 'hello.txt', type: 'text/plain', fileSha256: sha(bytes) });
	});

	it('the MIME Type option overrides the binary: a .bin stored as octet-stream goes up as audio/ogg', async () => {
		const bytes = Buffer.concat([Buffer.from('OggS'), randomBytes(40 * KB)]);
		const result = await run([input(file('voice.bin', bytes), 'voice.bin', 'application/octet-stream')], [
			media('upload', { options: { mimeType: 'audio/ogg', fileName: 'voice-note.ogg' } }),
		]);
		expect(result.error).toBeUndefined();
		expect(result.output('Media')[0].json).toMatchObject({ 'mime-type': 'audio/ogg', 'media-type': 'audio', 'file-name': 'voice-note.ogg' });
		expect(receivedForm(posts()[0])).toMatchObject({ fileName: 'voice-note.ogg', fileType: 'audio/ogg', type: 'audio/ogg', fileSha256: sha(bytes) });
	});

	it('an animated WebP sticker of 200 KB is detected from its header and uploaded (500 KB limit)', async () => {
		const bytes = webpBytes(200 * KB, true);
		const result = await run([input(file('wave.webp', bytes), 'wave.webp', 'image/webp')], [media('upload')]);
		expect(result.error).toBeUndefined();
		expect(result.output('Media')[0].json).toMatchObject({ 'media-type': 'sticker', animated: true, 'file-size': 200 * KB });
		expect(receivedForm(posts()[0])).toMatchObject({ type: 'image/webp', fileSha256: sha(bytes) });
	});

	describe("WhatsApp's limits: refused before anything is sent", () => {
		it.each<[string, () => TestFile, Record<string, unknown>, RegExp]>([
			[
				'a 6 MB jpeg',
				() => input(file('big.jpg', 6 * MB), 'big.jpg', 'image/jpeg'),
				{},
				/^Item 0: "big\.jpg" \(image\/jpeg, 6 MB \(6,291,456 bytes\)\) is over WhatsApp's image limit of 5 MB \(5,242,880 bytes\); nothing was uploaded$/,
			],
			['a gif as image', () => input(file('anim.gif', Buffer.from('GIF89a....')), 'anim.gif', 'image/gif'), {}, /^Item 0: "anim\.gif" \(image\/gif, 10 bytes\) is not a type WhatsApp accepts/],
			[
				'a 17 MB mp4',
				() => input(file('clip.mp4', 17 * MB), 'clip.mp4', 'video/mp4'),
				{},
				/^Item 0: "clip\.mp4" \(video\/mp4, 17 MB \(17,825,792 bytes\)\) is over WhatsApp's video limit of 16 MB \(16,777,216 bytes\)/,
			],
			[
				'a 101 MB pdf',
				() => input(file('manual.pdf', 101 * MB), 'manual.pdf', 'application/pdf'),
				{},
				/^Item 0: "manual\.pdf" \(application\/pdf, 101 MB \(105,906,176 bytes\)\) is over WhatsApp's document limit of 100 MB \(104,857,600 bytes\)/,
			],
			[
				'a 200 KB static webp sticker',
				() => input(file('still.webp', webpBytes(200 * KB, false)), 'still.webp', 'image/webp'),
				{},
				/^Item 0: "still\.webp" \(image\/webp, 200 KB \(204,800 bytes\)\) is over WhatsApp's static sticker limit of 100 KB \(102,400 bytes\)/,
			],
			[
				'a jpeg whose MIME Type option says gif',
				() => input(file('pic.jpg', jpegBytes(2 * KB)), 'pic.jpg', 'image/jpeg'),
				{ options: { mimeType: 'image/gif' } },
				/^Item 0: "pic\.jpg" \(image\/gif, 2 KB \(2,048 bytes\)\) is not a type WhatsApp accepts/,
			],
			[
				'a 300 KB sticker declared static though animated',
				() => input(file('forced.webp', webpBytes(300 * KB, true)), 'forced.webp', 'image/webp'),
				{ options: { stickerAnimation: 'static' } },
				/static sticker limit of 100 KB/,
			],
		])('%s', async (_name, makeFile, parameters, message) => {
			const testFile = makeFile();
			for (const operation of ['upload', 'uploadAndGetUrl']) {
				const result = await run([testFile], [media(operation, parameters)]);
				expect(result.error?.message).toMatch(message);
				expect(result.error).toMatchObject({ name: 'NodeOperationError', context: { itemIndex: 0 } });
				expect(insider.requests).toEqual([]);
			}
			rmSync(testFile.path);
		}, 30_000);

		it('without "continue on fail" a bad second item stops the node before the good first item is sent', async () => {
			const result = await run(
				[input(file('ok.jpg', jpegBytes(KB)), 'ok.jpg', 'image/jpeg'), input(file('bad.gif', Buffer.from('GIF89a')), 'bad.gif', 'image/gif')],
				[media('upload')],
			);
			expect(result.error?.message).toMatch(/^Item 1: "bad\.gif" \(image\/gif/);
			expect(insider.requests).toEqual([]);
		});

		it('an item without the binary field is a clear error and sends nothing', async () => {
			const result = await run([null], [media('upload', { binaryPropertyName: 'attachment' })]);
			expect(result.error?.message).toMatch(/attachment/);
			expect(insider.requests).toEqual([]);
		});
	});

	it('continue on fail: good items are uploaded, refused ones become error items, all paired', async () => {
		const good1 = jpegBytes(10 * KB);
		const good2 = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(20 * KB)]);
		const result = await run(
			[
				input(file('a.jpg', good1), 'a.jpg', 'image/jpeg'),
				input(file('b.gif', Buffer.from('GIF89a')), 'b.gif', 'image/gif'),
				input(file('c.pdf', good2), 'c.pdf', 'application/pdf'),
				input(file('d.jpg', 6 * MB), 'd.jpg', 'image/jpeg'),
			],
			[media('uploadAndGetUrl', {}, { continueOnFail: true })],
		);
		expect(result.error).toBeUndefined();
		const out = result.output('Media');
		expect(out.map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }, { item: 3 }]);
		expect(out[0].json).toMatchObject({ sha256: sha(good1), 'file-name': 'a.jpg' });
		expect(out[1].json.error).toMatch(/^Item 1: "b\.gif" \(image\/gif, 6 bytes\) is not a type WhatsApp accepts/);
		expect(out[2].json).toMatchObject({ sha256: sha(good2), 'mime-type': 'application/pdf' });
		expect(out[3].json.error).toMatch(/^Item 3: "d\.jpg" .* over WhatsApp's image limit of 5 MB/);
		expect(posts().map((p) => receivedForm(p).fileName)).toEqual(['a.jpg', 'c.pdf']);
		expect(JSON.stringify(out)).not.toContain(KEY);
	});

	it('an upload answered 429 or 503 is not retried: exactly one POST and a clear error, without the key', async () => {
		for (const status of [429, 503] as const) {
			insider.requests.splice(0);
			insider.faults.add({ method: 'POST', path: '/v1/media/upload', kind: 'status', status, retryAfter: 0, times: 3 });
			const result = await run([input(file('once.jpg', jpegBytes(KB)), 'once.jpg', 'image/jpeg')], [media('upload')]);
			expect(result.error?.message).toBe(
				`Insider answered HTTP ${status} to POST /v1/media/upload (sent once, not retried): injected fault: HTTP ${status}`,
			);
			expect(result.error?.httpCode).toBe(String(status));
			expect(posts()).toHaveLength(1);
			expect(JSON.stringify(result.error)).not.toContain(KEY);
			insider.faults.clear();
		}
	});

	it("a rejected key is Insider's 401 with its message, and the key is nowhere in the error", async () => {
		const wrong = store.add('insiderApi', { authKey: 'INS.wrong-key-123', baseUrl: insider.url });
		const result = await run([input(file('k.jpg', jpegBytes(KB)), 'k.jpg', 'image/jpeg')], [media('upload', {}, { credentials: { insiderApi: wrong } })]);
		expect(result.error?.message).toMatch(/^Insider answered HTTP 401 to POST \/v1\/media\/upload.*Invalid or missing x-ins-auth-key/);
		expect(JSON.stringify(result.error)).not.toContain('INS.wrong-key-123');
		expect(posts()).toHaveLength(1);
	});
});

describe('Upload and Get URL', () => {
	it('uploads, then outputs the URL, MIME type, SHA-256 and size Insider reports', async () => {
		const bytes = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(64 * KB)]);
		const result = await run([input(file('offer.pdf', bytes), 'offer.pdf', 'application/pdf')], [media('uploadAndGetUrl')]);
		expect(result.error).toBeUndefined();
		const [out] = result.output('Media');
		const id = String(out.json.id);
		expect(out.json).toEqual({
			id,
			url: `${insider.url}/media-files/${id}`,
			'file-name': 'offer.pdf',
			'mime-type': 'application/pdf',
			'file-size': bytes.length,
			sha256: sha(bytes),
			'media-type': 'document',
			'messaging-product': 'whatsapp',
			// Two calls, two answers, each unchanged under the step that got it.
			response: {
				upload: { id },
				media: { url: `${insider.url}/media-files/${id}`, mime_type: 'application/pdf', sha256: sha(bytes), file_size: bytes.length, id, messaging_product: 'whatsapp' },
			},
		});
		expect(insider.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v1/media/upload', `GET /v1/media/${id}`]);
	});

	it('a URL lookup that fails after the upload names the uploaded id', async () => {
		insider.faults.add({ method: 'GET', path: /^\/v1\/media\//, kind: 'status', status: 500 });
		const result = await run([input(file('x.png', Buffer.from('\x89PNG....')), 'x.png', 'image/png')], [media('uploadAndGetUrl')]);
		const id = [...insider.media.values()].at(-1)!.id;
		expect(result.error?.message).toMatch(new RegExp(`^Item 0: "x\\.png" was uploaded as media ${id}, but getting its URL failed: Insider answered HTTP 500`));
		expect(posts()).toHaveLength(1);
	});
});

describe('Download', () => {
	it('Upload → Get URL → Download (by URL) chained: the same bytes come back as a binary', async () => {
		const bytes = jpegBytes(700 * KB);
		const result = await run(
			[input(file('chain.jpg', bytes), 'chain.jpg', 'image/jpeg')],
			[
				media('upload'),
				{ ...media('getUrl', { mediaId: '={{ $json.id }}' }), name: 'URL' },
				{ ...media('download', { media: '={{ $json.url }}', binaryPropertyName: 'photo' }), name: 'Fetch' },
			],
		);
		expect(result.error).toBeUndefined();
		const id = String(result.output('Media')[0].json.id);
		expect(result.output('URL')[0].json).toMatchObject({ id, sha256: sha(bytes), 'file-size': bytes.length });
		const [out] = result.output('Fetch');
		// By URL Insider is not asked anything, so there is no `response`.
		expect(out.json).toEqual({
			id: null,
			url: `${insider.url}/media-files/${id}`,
			'file-name': `${id}.jpg`,
			'mime-type': 'image/jpeg',
			'file-size': bytes.length,
			sha256: sha(bytes),
		});
		expect(out.binary?.photo).toMatchObject({ mimeType: 'image/jpeg' });
		expect(sha(await storedBytes(out.binary?.photo))).toBe(sha(bytes));
		expect(out.pairedItem).toEqual({ item: 0 });
		// The file itself was fetched from Insider's URL with the key.
		const fetched = insider.requests.filter((r) => r.path === `/media-files/${id}`);
		expect(fetched).toHaveLength(1);
		expect(fetched[0].headers['x-ins-auth-key']).toBe(KEY);
	});

	it('by media ID: looks up the URL, fetches with the key, checks the SHA-256, and keeps the input binaries', async () => {
		const bytes = randomBytes(300 * KB);
		const id = await uploadDirect(bytes, 'video/mp4', 'clip.mp4');
		const result = await run([input(file('keep.txt', Buffer.from('keep me')), 'keep.txt', 'text/plain', 'original')], [media('download', { media: '={{ $json.mediaId }}' })], [
			{ json: { mediaId: id } },
		]);
		expect(result.error).toBeUndefined();
		const [out] = result.output('Media');
		expect(out.json).toEqual({
			id,
			url: `${insider.url}/media-files/${id}`,
			'file-name': `${id}.mp4`,
			'mime-type': 'video/mp4',
			'file-size': bytes.length,
			sha256: sha(bytes),
			'sha256-verified': true,
			response: { url: `${insider.url}/media-files/${id}`, mime_type: 'video/mp4', sha256: sha(bytes), file_size: bytes.length, id, messaging_product: 'whatsapp' },
		});
		expect(Object.keys(out.binary ?? {}).sort()).toEqual(['data', 'original']);
		expect(sha(await storedBytes(out.binary?.data))).toBe(sha(bytes));
		expect(insider.requests.map((r) => `${r.method} ${r.path} ${r.headers['x-ins-auth-key'] === KEY}`)).toEqual([
			`GET /v1/media/${id} true`,
			`GET /media-files/${id} true`,
		]);
	});

	it('retries the GETs after 429 and 503 (URL lookup and file), then delivers the bytes', async () => {
		const bytes = randomBytes(50 * KB);
		const id = await uploadDirect(bytes, 'image/png', 'p.png');
		insider.faults.add({ method: 'GET', path: /^\/v1\/media\//, kind: 'status', status: 429, retryAfter: 0 });
		insider.faults.add({ method: 'GET', path: /^\/media-files\//, kind: 'status', status: 503 });
		insider.faults.add({ method: 'GET', path: /^\/media-files\//, kind: 'status', status: 429, retryAfter: 0 });
		const result = await run([null], [media('download', { media: id })]);
		expect(result.error).toBeUndefined();
		expect(sha(await storedBytes(result.output('Media')[0].binary?.data))).toBe(sha(bytes));
		expect(insider.faults.pending()).toBe(0);
		expect(insider.requests.map((r) => `${r.path} ${r.status}`)).toEqual([
			`/v1/media/${id} 429`,
			`/v1/media/${id} 200`,
			`/media-files/${id} 503`,
			`/media-files/${id} 429`,
			`/media-files/${id} 200`,
		]);
	}, 30_000);

	it('never sends the key to another host; a redirect back to Insider gets it again, hop by hop', async () => {
		const direct = await run([null], [media('download', { media: `${other.url}/file.bin?sig=abc` })]);
		expect(direct.error).toBeUndefined();
		expect(direct.output('Media')[0].json).toMatchObject({ 'mime-type': 'application/pdf', 'file-name': 'file.bin', 'file-size': 17 });
		expect(other.requests[0].headers['x-ins-auth-key']).toBeUndefined();

		const bytes = randomBytes(2 * KB);
		const id = await uploadDirect(bytes, 'image/jpeg', 'r.jpg');
		insider.requests.splice(0);
		const redirected = await run([null], [media('download', { media: `${other.url}/to-insider/${id}` })]);
		expect(redirected.error).toBeUndefined();
		expect(sha(await storedBytes(redirected.output('Media')[0].binary?.data))).toBe(sha(bytes));
		expect(other.requests.at(-1)?.headers['x-ins-auth-key']).toBeUndefined();
		expect(insider.requests.map((r) => [r.path, r.headers['x-ins-auth-key']])).toEqual([[`/media-files/${id}`, KEY]]);

		const never = await run([null], [media('download', { media: `${insider.url}/media-files/${id}`, options: { sendAuthKey: 'never' } })]);
		expect(never.error?.message).toMatch(/^Insider answered HTTP 401 to GET http:\/\/127\.0\.0\.1:\d+\/media-files\/\d+: Invalid or missing x-ins-auth-key/);
	});

	it("an unknown id is Insider's 404 on its item; with continue on fail the other items still download", async () => {
		const bytes = randomBytes(KB);
		const id = await uploadDirect(bytes, 'audio/mpeg', 'a.mp3');
		const failed = await run([null, null], [media('download', { media: '={{ $json.m }}' })], [{ json: { m: id } }, { json: { m: '999' } }]);
		expect(failed.error?.message).toMatch(/^Insider answered HTTP 404 to GET \/v1\/media\/999: Media 999 not found/);
		expect(failed.error?.httpCode).toBe('404');
		const kept = await run([null, null, null], [media('download', { media: '={{ $json.m }}' }, { continueOnFail: true })], [
			{ json: { m: id } },
			{ json: { m: '999' } },
			{ json: { m: '' } },
		]);
		const out = kept.output('Media');
		expect(out.map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		expect(sha(await storedBytes(out[0].binary?.data))).toBe(sha(bytes));
		expect(out[1].json.error).toMatch(/HTTP 404/);
		expect(out[1].binary).toBeUndefined();
		expect(out[2].json.error).toBe('Item 2: "Media ID or URL" is empty');
		expect(JSON.stringify(out)).not.toContain(KEY);
	});
});

/** Puts a file on the server as another client would, for the download tests. */
async function uploadDirect(bytes: Buffer, type: string, name: string): Promise<string> {
	const form = new FormData();
	form.append('file', new Blob([bytes], { type }), name);
	form.append('type', type);
	form.append('messaging_product', 'whatsapp');
	const response = await fetch(`${insider.url}/v1/media/upload`, { method: 'POST', body: form, headers: { 'x-ins-auth-key': KEY } });
	const { id } = (await response.json()) as { id: string };
	insider.requests.splice(0);
	return id;
}
