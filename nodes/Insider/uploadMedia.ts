import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

import { NodeOperationError } from 'n8n-workflow';
import type { IBinaryData, IDataObject, IExecuteFunctions } from 'n8n-workflow';

import { readTimeoutSeconds } from '../shared/transport';
import { INSIDER_UPLOAD_TIMEOUT_SECONDS, insiderApiRequest } from './transport';
import { checkMedia, fileNameFor, needsWebpHeader, WEBP_HEADER_BYTES } from './whatsappLimits';
import type { AcceptedMedia, StickerAnimation } from './whatsappLimits';

export interface UploadOptions {
	/** Replaces the binary's MIME type, for the check and for the form. */
	mimeType?: string;
	fileName?: string;
	stickerAnimation?: StickerAnimation;
	/** Seconds, as the user set them; default INSIDER_UPLOAD_TIMEOUT_SECONDS. */
	requestTimeout?: number;
}

/** A file that passed WhatsApp's rules and may be sent. */
export interface PreparedUpload {
	itemIndex: number;
	binary: IBinaryData;
	fileName: string;
	size: number;
	media: AcceptedMedia;
	/** The upload's deadline, sending the file included. */
	timeoutMs: number;
}

/** Exact size in bytes: n8n's `bytes` when set, the store's metadata for a stored file, else the inline data's length. */
async function sizeOf(context: IExecuteFunctions, binary: IBinaryData): Promise<number> {
	if (typeof binary.bytes === 'number') return binary.bytes;
	if (binary.id) return (await context.helpers.getBinaryMetadata(binary.id)).fileSize;
	return Buffer.byteLength(binary.data, 'base64');
}

/** The first bytes of a file, without reading the rest (a stored file is opened as a stream and closed early). */
async function firstBytes(context: IExecuteFunctions, binary: IBinaryData, count: number): Promise<Buffer> {
	if (!binary.id) return Buffer.from(binary.data.slice(0, Math.ceil(count / 3) * 4), 'base64').subarray(0, count);
	const stream = await context.helpers.getBinaryStream(binary.id, count);
	const chunks: Buffer[] = [];
	let length = 0;
	try {
		for await (const chunk of stream) {
			chunks.push(chunk as Buffer);
			length += (chunk as Buffer).length;
			if (length >= count) break;
		}
	} finally {
		stream.destroy();
	}
	return Buffer.concat(chunks).subarray(0, count);
}

/**
 * Finds the item's binary and checks it against WhatsApp's rules. Reads metadata (and, for a
 * sticker whose animation decides, its first 64 bytes) only: a rejected file costs no upload.
 */
export async function prepareUpload(
	this: IExecuteFunctions,
	itemIndex: number,
	binaryPropertyName: string,
	options: UploadOptions,
): Promise<PreparedUpload> {
	const timeoutMs = readTimeoutSeconds(options.requestTimeout, undefined, itemIndex) ?? INSIDER_UPLOAD_TIMEOUT_SECONDS * 1000;
	const binary = this.helpers.assertBinaryData(itemIndex, binaryPropertyName);
	const mimeType = options.mimeType?.trim() || binary.mimeType;
	const size = await sizeOf(this, binary);
	const fileName = options.fileName?.trim() || binary.fileName || fileNameFor('media', mimeType);
	const animation = options.stickerAnimation ?? 'detect';
	const webpHeader = needsWebpHeader(mimeType, size, animation) ? await firstBytes(this, binary, WEBP_HEADER_BYTES) : undefined;
	const check = checkMedia({ itemIndex, mimeType, size, fileName, stickerAnimation: animation, webpHeader });
	if (!check.ok) throw new NodeOperationError(this.getNode(), check.message, { itemIndex, description: check.description });
	return { itemIndex, binary, fileName, size, media: check.media, timeoutMs };
}

/** A file name inside a quoted header parameter, escaped as browsers do (WHATWG multipart/form-data). */
function quoteFileName(name: string): string {
	return name.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** The form's parts around the file's bytes, in the order of Insider's documented example: file, type, messaging_product. */
export function multipartFrame(boundary: string, fileName: string, mimeType: string): { head: Buffer; tail: Buffer } {
	const head = Buffer.from(
		`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quoteFileName(fileName)}"\r\nContent-Type: ${mimeType}\r\n\r\n`,
		'utf8',
	);
	const tail = Buffer.from(
		`\r\n--${boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\n${mimeType}` +
			`\r\n--${boundary}\r\nContent-Disposition: form-data; name="messaging_product"\r\n\r\nwhatsapp` +
			`\r\n--${boundary}--\r\n`,
		'utf8',
	);
	return { head, tail };
}

/**
 * The multipart body as a byte stream: the head, the file piped chunk by chunk from n8n's binary
 * storage, the tail. The declared Content-Length depends on the file delivering exactly `size`
 * bytes, so a file that changed under us fails the request instead of sending a corrupt form.
 */
function streamedBody(head: Buffer, file: Readable, size: number, tail: Buffer): Readable {
	async function* parts(): AsyncGenerator<Buffer> {
		yield head;
		let sent = 0;
		for await (const chunk of file) {
			sent += (chunk as Buffer).length;
			if (sent > size) break;
			yield chunk as Buffer;
		}
		if (sent !== size) {
			file.destroy();
			throw new Error(`The stored file has ${sent > size ? 'more' : 'fewer'} bytes than the ${size} its metadata says`);
		}
		yield tail;
	}
	return Readable.from(parts(), { objectMode: false });
}

/**
 * `POST /v1/media/upload`, multipart. A stored file (filesystem or S3 mode: it has an id) is
 * streamed, so a 100 MB document never sits in memory; an in-memory binary is already a buffer.
 * Sent once: a creating POST is never retried (see nodes/shared/retry.ts).
 */
export async function uploadMedia(this: IExecuteFunctions, prepared: PreparedUpload): Promise<IDataObject> {
	const { binary, fileName, size, media, itemIndex, timeoutMs } = prepared;
	const boundary = `----n8nInsiderMedia${randomBytes(12).toString('hex')}`;
	const { head, tail } = multipartFrame(boundary, fileName, media.mimeType);
	const body = binary.id
		? streamedBody(head, await this.helpers.getBinaryStream(binary.id), size, tail)
		: Buffer.concat([head, await this.helpers.getBinaryDataBuffer(itemIndex, binary), tail]);
	const answer = await insiderApiRequest.call(this, {
		method: 'POST',
		path: '/v1/media/upload',
		headers: {
			'Content-Type': `multipart/form-data; boundary=${boundary}`,
			'Content-Length': String(head.length + size + tail.length),
		},
		body,
		itemIndex,
		timeoutMs,
	});
	const id = typeof answer.id === 'string' || typeof answer.id === 'number' ? String(answer.id) : '';
	if (!id) {
		throw new NodeOperationError(this.getNode(), `Item ${itemIndex}: Insider accepted the upload of "${fileName}" but answered without an id`, {
			itemIndex,
			description: `Insider answered: ${JSON.stringify(answer).slice(0, 500)}`,
		});
	}
	return {
		id,
		'file-name': fileName,
		'mime-type': media.mimeType,
		'file-size': size,
		'media-type': media.mediaType,
		...(media.animated !== undefined ? { animated: media.animated } : {}),
		'messaging-product': 'whatsapp',
		response: answer,
	};
}
