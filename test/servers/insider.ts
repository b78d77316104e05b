/**
 * Insider's WhatsApp media endpoints as Insider documents them:
 * `POST /v1/media/upload` (multipart: file, type, messaging_product=whatsapp) → {id}, and
 * `GET /v1/media/<id>` → {url, mime_type, sha256, file_size, id, messaging_product}. The `url` points
 * at `GET /media-files/<id>` on this server, which serves the bytes. Every call needs x-ins-auth-key.
 * An upload of a type or size WhatsApp refuses is refused with a 400, as Insider passes WhatsApp's
 * refusal on (WhatsApp Cloud API "Supported media types", written out here on purpose rather than
 * taken from the node, so a mistake in the node's table is caught).
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
	/** See InsiderServerOptions.getContentType. */
	getContentType: 'any' | 'json';
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
	/**
	 * Insider's documented examples send `Content-Type: application/json` on every call, the GET too.
	 * 'json' plays a gateway that insists on it: `GET /v1/media/<id>` without it is a 415. Default
	 * 'any'. Can also be changed at runtime on the server.
	 */
	getContentType?: 'any' | 'json';
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

const KB = 1024;
const MB = 1024 * 1024;

/**
 * WhatsApp's accepted media: type → kind and largest size in bytes (1 MB = 1,048,576 bytes). Its table
 * spells 3GPP video `video/3gp`; the registered `video/3gpp` is taken too. Stickers: see stickerLimit.
 */
const WHATSAPP_MEDIA: Readonly<Record<string, { kind: string; maxBytes: number }>> = {
	'image/jpeg': { kind: 'image', maxBytes: 5 * MB },
	'image/png': { kind: 'image', maxBytes: 5 * MB },
	'video/mp4': { kind: 'video', maxBytes: 16 * MB },
	'video/3gpp': { kind: 'video', maxBytes: 16 * MB },
	'video/3gp': { kind: 'video', maxBytes: 16 * MB },
	'audio/aac': { kind: 'audio', maxBytes: 16 * MB },
	'audio/amr': { kind: 'audio', maxBytes: 16 * MB },
	'audio/mpeg': { kind: 'audio', maxBytes: 16 * MB },
	'audio/mp4': { kind: 'audio', maxBytes: 16 * MB },
	'audio/ogg': { kind: 'audio', maxBytes: 16 * MB },
	'text/plain': { kind: 'document', maxBytes: 100 * MB },
	'application/pdf': { kind: 'document', maxBytes: 100 * MB },
	'application/msword': { kind: 'document', maxBytes: 100 * MB },
	'application/vnd.openxmlformats-officedocument.wordprocessingml.document': { kind: 'document', maxBytes: 100 * MB },
	'application/vnd.ms-excel': { kind: 'document', maxBytes: 100 * MB },
	'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': { kind: 'document', maxBytes: 100 * MB },
	'application/vnd.ms-powerpoint': { kind: 'document', maxBytes: 100 * MB },
	'application/vnd.openxmlformats-officedocument.presentationml.presentation': { kind: 'document', maxBytes: 100 * MB },
	'image/webp': { kind: 'sticker', maxBytes: 100 * KB },
};

/**
 * Whether a WebP file is animated, by walking its RIFF chunks (RFC 9649): a VP8X chunk with the
 * animation flag, or an ANIM or ANMF chunk.
 */
export function isAnimatedWebpFile(bytes: Buffer): boolean {
	if (bytes.length < 12 || bytes.toString('latin1', 0, 4) !== 'RIFF' || bytes.toString('latin1', 8, 12) !== 'WEBP') return false;
	for (let at = 12; at + 8 <= bytes.length; ) {
		const fourCc = bytes.toString('latin1', at, at + 4);
		const size = bytes.readUInt32LE(at + 4);
		if (fourCc === 'ANIM' || fourCc === 'ANMF') return true;
		if (fourCc === 'VP8X' && at + 8 < bytes.length && (bytes[at + 8] & 0x02) !== 0) return true;
		// Chunks are padded to an even size.
		at += 8 + size + (size % 2);
	}
	return false;
}

/** A sticker's limit: 100 KB static, 500 KB animated. */
function stickerLimit(bytes: Buffer): { maxBytes: number; what: string } {
	return isAnimatedWebpFile(bytes) ? { maxBytes: 500 * KB, what: 'animated sticker' } : { maxBytes: 100 * KB, what: 'static sticker' };
}

/** WhatsApp's refusal of a type or size, in the words Insider passes on; undefined when the media is accepted. */
export function whatsappMediaProblem(type: string, bytes: Buffer): string | undefined {
	const mime = type.split(';')[0].trim().toLowerCase();
	const rule = WHATSAPP_MEDIA[mime];
	if (!rule) return `(#131053) Media upload error: unsupported media type ${mime}`;
	const limit = rule.kind === 'sticker' ? stickerLimit(bytes) : { maxBytes: rule.maxBytes, what: rule.kind };
	if (bytes.length > limit.maxBytes) return `(#131053) Media upload error: ${limit.what} file of ${bytes.length} bytes is over the ${limit.maxBytes} bytes limit for ${mime}`;
	return undefined;
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
	let getContentType = options.getContentType ?? 'any';

	const upload = (request: RecordedRequest): Reply => {
		const contentType = String(request.headers['content-type'] ?? '');
		// Insider's documented curl example also sets Content-Type: application/json; a real multipart request carries its own type.
		if (!contentType.toLowerCase().startsWith('multipart/form-data')) return bad(415, 'Content-Type must be multipart/form-data');
		const parts = parseMultipart(request.raw, contentType);
		if (!parts) return bad(400, 'Malformed multipart body');
		const form = readUploadForm(parts);
		if (typeof form === 'string') return bad(400, form);
		const refused = whatsappMediaProblem(form.type, form.file.data);
		if (refused) return bad(400, refused);
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
			if (info && getContentType === 'json' && !/^application\/json\b/i.test(String(request.headers['content-type'] ?? ''))) {
				return bad(415, 'Content-Type must be application/json');
			}
			if (info) return describe(info[1]);
			const file = method === 'GET' ? /^\/media-files\/([^/]+)$/.exec(path) : null;
			if (file) return download(file[1]);
			return bad(404, `No route for ${method} ${path}`);
		},
		// Documents may be 100 MB: the server takes a little more, so the node's own size check is what gets tested.
		{ port: options.port, maxBodyBytes: 110 * 1024 * 1024 },
	);
	baseUrl = server.url;
	return {
		...server,
		media,
		get getContentType() {
			return getContentType;
		},
		set getContentType(value: 'any' | 'json') {
			getContentType = value;
		},
	};
}
