/**
 * Insider's WhatsApp media endpoints as Insider documents them:
 * `POST /v1/media/upload` (multipart: file, type, messaging_product=whatsapp) → {id}, and
 * `GET /v1/media/<id>` → {url, mime_type, sha256, file_size, id, messaging_product}. The `url` points
 * at `GET /media-files/<id>` on this server, which serves the bytes. Every call needs x-ins-auth-key.
 */
import { createHash, randomInt } from 'node:crypto';

import { json, startServer } from './http';
import type { ContractServer, RecordedRequest, Reply } from './http';

export interface StoredMedia {
	id: string;
	bytes: Buffer;
	size: number;
	mimeType: string;
	fileName?: string;
	sha256: string;
	createdAt: number;
}

export interface InsiderServer extends ContractServer {
	media: Map<string, StoredMedia>;
}

export interface InsiderServerOptions {
	authKey: string;
	/** Fixed port (the sandbox); default random. */
	port?: number;
	/**
	 * The size key of `GET /v1/media/<id>`: `file_size` as Insider's field list names it, or
	 * `File_size` as its documented example answer spells it.
	 */
	sizeKey?: 'file_size' | 'File_size';
}

export interface MultipartPart {
	name: string;
	/** Present (maybe empty) when the part is a file. */
	fileName?: string;
	contentType?: string;
	data: Buffer;
}

const CRLF = Buffer.from('\r\n');
const FIELDS = ['file', 'type', 'messaging_product'];
/** type/subtype, as RFC 6838 restricts the characters. */
const MIME_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i;

function parsePartHeaders(block: Buffer, data: Buffer): MultipartPart | undefined {
	const headers = block.toString('utf8');
	const disposition = /^content-disposition:\s*form-data\s*;(.*)$/im.exec(headers);
	const name = disposition && /(?:^|;)\s*name="([^"]*)"/i.exec(disposition[1]);
	if (!name) return undefined;
	const fileName = /(?:^|;)\s*filename="([^"]*)"/i.exec(disposition[1]);
	const type = /^content-type:\s*(.+)$/im.exec(headers);
	return { name: name[1], fileName: fileName?.[1], contentType: type?.[1].trim(), data };
}

/**
 * Enough of RFC 7578 for the contract: parts split on the boundary, each part's headers parsed, and
 * anything malformed (no boundary, a missing CRLF, no closing delimiter, a part without a name) is
 * undefined so the server answers 400.
 */
export function parseMultipart(body: Buffer, contentType: string): MultipartPart[] | undefined {
	const boundary = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
	if (!boundary) return undefined;
	const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
	const parts: MultipartPart[] = [];
	let at = body.indexOf(delimiter);
	if (at === -1) return undefined;
	for (;;) {
		at += delimiter.length;
		if (body.subarray(at, at + 2).toString('latin1') === '--') return parts;
		if (!body.subarray(at, at + 2).equals(CRLF)) return undefined;
		at += 2;
		const next = body.indexOf(Buffer.concat([CRLF, delimiter]), at);
		if (next === -1) return undefined;
		const part = body.subarray(at, next);
		const headerEnd = part.indexOf('\r\n\r\n');
		if (headerEnd === -1) return undefined;
		const parsed = parsePartHeaders(part.subarray(0, headerEnd), part.subarray(headerEnd + 4));
		if (!parsed) return undefined;
		parts.push(parsed);
		at = next + CRLF.length;
	}
}

function bad(status: number, message: string): Reply {
	return json(status, { message });
}

/** The first broken rule of an upload's form, or the file and its type. */
function readUploadForm(parts: MultipartPart[]): { file: MultipartPart; type: string } | string {
	const unknown = parts.filter((p) => !FIELDS.includes(p.name)).map((p) => p.name);
	if (unknown.length) return `Unknown field(s): ${unknown.join(', ')}`;
	const repeated = FIELDS.filter((name) => parts.filter((p) => p.name === name).length > 1);
	if (repeated.length) return `Field(s) sent more than once: ${repeated.join(', ')}`;
	const field = (name: string) => parts.find((p) => p.name === name);
	const file = field('file');
	if (!file || file.fileName === undefined) return 'The "file" part (a file) is required';
	if (!file.data.length) return 'The file is empty';
	const type = field('type')?.data.toString('utf8').trim();
	if (!type) return 'The "type" field (the MIME type) is required';
	if (!MIME_TYPE.test(type)) return `"type" must be a MIME type, got "${type}"`;
	if (field('messaging_product')?.data.toString('utf8').trim() !== 'whatsapp') return '"messaging_product" must be "whatsapp"';
	return { file, type };
}

export async function startInsiderServer(options: InsiderServerOptions): Promise<InsiderServer> {
	const media = new Map<string, StoredMedia>();
	let baseUrl = '';

	const upload = (request: RecordedRequest): Reply => {
		const contentType = String(request.headers['content-type'] ?? '');
		// Insider's documented curl example also sets Content-Type: application/json; a real multipart request carries its own type.
		if (!contentType.toLowerCase().startsWith('multipart/form-data')) return bad(415, 'Content-Type must be multipart/form-data');
		const parts = parseMultipart(request.raw, contentType);
		if (!parts) return bad(400, 'Malformed multipart body');
		const form = readUploadForm(parts);
		if (typeof form === 'string') return bad(400, form);
		// WhatsApp media ids are long decimal strings.
		let id: string;
		do id = `${Date.now()}${randomInt(1e6)}`;
		while (media.has(id));
		const bytes = Buffer.from(form.file.data);
		media.set(id, {
			id,
			bytes,
			size: bytes.length,
			mimeType: form.type,
			fileName: form.file.fileName,
			sha256: createHash('sha256').update(bytes).digest('hex'),
			createdAt: Date.now(),
		});
		return json(200, { id });
	};

	const describe = (id: string): Reply => {
		const found = media.get(id);
		if (!found) return bad(404, `Media ${id} not found`);
		return json(200, {
			url: `${baseUrl}/media-files/${found.id}`,
			mime_type: found.mimeType,
			sha256: found.sha256,
			[options.sizeKey ?? 'file_size']: found.size,
			id: found.id,
			messaging_product: 'whatsapp',
		});
	};

	const download = (id: string): Reply => {
		const found = media.get(id);
		if (!found) return bad(404, `Media ${id} not found`);
		return { status: 200, raw: found.bytes, headers: { 'content-type': found.mimeType } };
	};

	const server = await startServer(
		(request) => {
			// Like WhatsApp's media URLs, the download needs the key too.
			if (request.headers['x-ins-auth-key'] !== options.authKey) return bad(401, 'Invalid or missing x-ins-auth-key');
			const { method, path } = request;
			if (method === 'POST' && path === '/v1/media/upload') return upload(request);
			const info = method === 'GET' ? /^\/v1\/media\/([^/]+)$/.exec(path) : null;
			if (info) return describe(info[1]);
			const file = method === 'GET' ? /^\/media-files\/([^/]+)$/.exec(path) : null;
			if (file) return download(file[1]);
			return bad(404, `No route for ${method} ${path}`);
		},
		// Documents may be 100 MB: the server takes a little more, so the node's own size check is what gets tested.
		{ port: options.port, maxBodyBytes: 110 * 1024 * 1024 },
	);
	baseUrl = server.url;
	return { ...server, media };
}
