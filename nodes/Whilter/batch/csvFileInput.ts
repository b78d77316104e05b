import { Readable } from 'node:stream';

import Papa from 'papaparse';

import { BatchInputError } from './errors';

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/**
 * Counts CSV records in bytes as they pass, without parsing fields: a line break inside quotes
 * belongs to its field, a blank line is no record, and the last record needs no line break.
 */
class RecordCounter {
	records = 0;

	private inQuotes = false;

	private lineHasContent = false;

	/** Bytes of the header record while it is still being read. */
	headerBytes: Buffer[] | undefined = [];

	scan(chunk: Buffer): void {
		let headerEnd = -1;
		for (let i = 0; i < chunk.length; i++) {
			const byte = chunk[i];
			if (byte === QUOTE) {
				this.inQuotes = !this.inQuotes;
				this.lineHasContent = true;
			} else if (this.inQuotes) {
				continue;
			} else if (byte === LF) {
				if (this.lineHasContent) {
					this.records++;
					if (this.records === 1 && headerEnd === -1) headerEnd = i;
				}
				this.lineHasContent = false;
			} else if (byte !== CR) {
				this.lineHasContent = true;
			}
		}
		if (this.headerBytes) {
			if (headerEnd === -1) this.headerBytes.push(chunk);
			else this.headerBytes.push(chunk.subarray(0, headerEnd));
		}
	}

	/** Records seen so far, the unfinished last line included. */
	get total(): number {
		return this.records + (this.lineHasContent ? 1 : 0);
	}
}

function stripBom(chunk: Buffer): Buffer {
	return chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf ? chunk.subarray(3) : chunk;
}

export interface CsvFile {
	header: string[];
	identifierIndex: number;
	/** The whole file again from its first byte (BOM removed), to stream into the ZIP. */
	body: Readable;
	/** Data rows counted while `body` streamed: final once it has ended. */
	rowCount: () => number;
}

/**
 * Opens a CSV file from n8n's binary storage: reads only far enough to check the header and that a
 * data row exists, then hands back a stream of the whole file that counts its rows on the way.
 */
export async function openCsvFile(source: Readable, options: { identifier: string; fileLabel?: string }): Promise<CsvFile> {
	const label = options.fileLabel ?? 'the CSV file';
	const counter = new RecordCounter();
	const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
	const peeked: Buffer[] = [];
	let ended = false;
	// The BOM may arrive split over chunks: hold the first bytes until there are three.
	let head: Buffer | undefined = Buffer.alloc(0);
	while (counter.total < 2 || counter.records < 1) {
		const next = await iterator.next();
		if (next.done) {
			ended = true;
			if (head?.length) {
				counter.scan(head);
				peeked.push(head);
			}
			break;
		}
		let chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
		if (head) {
			head = Buffer.concat([head, chunk]);
			if (head.length < 3) continue;
			chunk = stripBom(head);
			head = undefined;
		}
		counter.scan(chunk);
		peeked.push(chunk);
	}
	const headerText = Buffer.concat(counter.headerBytes ?? []).toString('utf8');
	counter.headerBytes = undefined;
	const header = (Papa.parse<string[]>(headerText.replace(/\r$/, ''), { header: false }).data[0] ?? []).map((h) => h.trim());
	if (counter.total < 2) {
		await iterator.return?.();
		throw new BatchInputError(`${label} has no data rows${header.length ? ` (only the header: ${header.join(', ')})` : ''}: nothing to send`);
	}
	const identifierIndex = header.indexOf(options.identifier);
	if (identifierIndex === -1) {
		await iterator.return?.();
		throw new BatchInputError(
			`${label} has no column "${options.identifier}" (the identifier column). Its header has: ${header.join(', ')}`,
			{ field: options.identifier, description: 'Set "Identifier Column" to one of the file\'s columns, spelled as in its header' },
		);
	}
	if (identifierIndex !== 0) {
		await iterator.return?.();
		throw new BatchInputError(
			`${label}: the identifier column "${options.identifier}" is column ${identifierIndex + 1}, but Whilter expects it first. Header: ${header.join(', ')}`,
			{ field: options.identifier, description: 'Move the identifier column to the front of the file (e.g. with Extract from File → items input)' },
		);
	}
	async function* replay(): AsyncGenerator<Buffer> {
		for (const chunk of peeked.splice(0)) yield chunk;
		if (ended) return;
		for (;;) {
			const next = await iterator.next();
			if (next.done) return;
			const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
			counter.scan(chunk);
			yield chunk;
		}
	}
	return {
		header,
		identifierIndex,
		body: Readable.from(replay(), { objectMode: false, highWaterMark: 1024 * 1024 }),
		rowCount: () => counter.total - 1,
	};
}
