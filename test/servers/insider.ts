import { createHash, randomUUID } from 'node:crypto';

import type { RecordedRequest, Reply } from './http';
import { startContractServer } from './http';
import type { ContractServer } from './http';

/**
 * Insider's WhatsApp media endpoints as documented (seed insider-whatsapp-media-upload.txt):
 * `POST /v1/media/upload` (multipart: file, type, messaging_product=whatsapp) → {id}, and
 * `GET /v1/media/<id>` → {url, mime_type, sha256, file_size, id, messaging_product}. Both need
 * the x-ins-auth-key header.
 */
export interface StoredMedia {
	id: string;
	bytes: Buffer;
	mimeType: string;
	fileName?: string;
	sha256: string;
}

export interface InsiderServer extends ContractServer {
	media: Map<string, StoredMedia>;
}

export interface MultipartPart {
	name: string;
	fileName?: string;
	contentType?: string;
	data: Buffer;
}

/** Enough of RFC 7578 for the contract: parts split on the boundary, headers parsed per part. */
export function parseMultipart(body: Buffer, contentType: string): MultipartPart[] | undefined {
	const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
	if (!boundary) return undefined;
	const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
	const parts: MultipartPart[] = [];
	let start = body.indexOf(delimiter);
	if (start === -1) return undefined;
	for (;;) {
		start += delimiter.length;
		if (body.subarray(start, start + 2).toString() === '--') return parts;
		start += 2; // CRLF after the delimiter
		const next = body.indexOf(delimiter, start);
		if (next === -1) return undefined;
		const part = body.subarray(start, next - 2); // CRLF before the next delimiter
		const headerEnd = part.indexOf('\r\n\r\n');
		if (headerEnd === -1) return undefined;
		const headers = part.subarray(0, headerEnd).toString('utf8');
		const disposition = /content-disposition:\s*form-data;([^\r\n]*)/i.exec(headers);
		const name = disposition && /\bname="([^"]*)"/i.exec(disposition[1]);
		if (!name) return undefined;
		const fileName = disposition && /\bfilename="([^"]*)"/i.exec(disposition[1]);
		const type = /content-type:\s*([^\r\n]+)/i.exec(headers);
		parts.push({ name: name[1], fileName: fileName?.[1], contentType: type?.[1].trim(), data: part.subarray(headerEnd + 4) });
		start = next;
	}
}

function bad(status: number, message: string): Reply {
	return { status, body: { error: { message } } };
}

export async function startInsiderServer(options: { authKey: string }): Promise<InsiderServer> {
	const media = new Map<string, StoredMedia>();
	let url = '';
	const upload = (request: RecordedRequest): Reply => {
		const contentType = String(request.headers['content-type'] ?? '');
		if (!contentType.startsWith('multipart/form-data')) return bad(415, 'Content-Type must be multipart/form-data');
		const parts = parseMultipart(request.raw, contentType);
		if (!parts) return bad(400, 'Malformed multipart body');
		const field = (name: string) => parts.find((p) => p.name === name);
		const file = field('file');
		if (!file || file.fileName === undefined) return bad(400, 'The "file" part (a file) is required');
		const type = field('type')?.data.toString('utf8').trim();
		if (!type) return bad(400, 'The "type" field (MIME type) is required');
		if (field('messaging_product')?.data.toString('utf8').trim() !== 'whatsapp') return bad(400, '"messaging_product" must be "whatsapp"');
		const known = ['file', 'type', 'messaging_product'];
		const unknown = parts.filter((p) => !known.includes(p.name)).map((p) => p.name);
		if (unknown.length) return bad(400, `Unknown field(s): ${unknown.join(', ')}`);
		if (!file.data.length) return bad(400, 'The file is empty');
		const id = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
		media.set(id, { id, bytes: Buffer.from(file.data), mimeType: type, fileName: file.fileName, sha256: createHash('sha256').update(file.data).digest('hex') });
		return { status: 200, body: { id } };
	};
	const server = await startContractServer(
		(request) => {
			if (request.headers['x-ins-auth-key'] !== options.authKey) return bad(401, 'Invalid or missing x-ins-auth-key');
			if (request.method === 'POST' && request.path === '/v1/media/upload') return upload(request);
			const get = request.method === 'GET' ? /^\/v1\/media\/([^/]+)$/.exec(request.path) : null;
			if (get) {
				const found = media.get(get[1]);
				if (!found) return bad(404, `Media ${get[1]} not found`);
				return {
					status: 200,
					body: {
						url: `${url}/media-files/${found.id}?token=${randomUUID()}`,
						mime_type: found.mimeType,
						sha256: found.sha256,
						file_size: found.bytes.length,
						id: found.id,
						messaging_product: 'whatsapp',
					},
				};
			}
			const download = request.method === 'GET' ? /^\/media-files\/([^/]+)$/.exec(request.path) : null;
			if (download) {
				const found = media.get(download[1]);
				if (!found) return bad(404, 'Not found');
				return { status: 200, raw: found.bytes, headers: { 'content-type': found.mimeType } };
			}
			return bad(404, `No route for ${request.method} ${request.path}`);
		},
		// Documents may be 100 MB: the contract server accepts a little more, so the node's own limit is what is tested.
		{ maxBodyBytes: 110 * 1024 * 1024 },
	);
	url = server.url;
	return { ...server, media };
}
