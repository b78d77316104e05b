import { pipeline, Readable, Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';

import Papa from 'papaparse';

import { InputError } from '../../shared/errors';

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

/** The header record must end within this many bytes (a longer one is almost surely an unclosed quote). */
const HEADER_LIMIT = 1 << 20;
/** The first data row must start within this many bytes: what is peeked is held in memory. */
const PEEK_LIMIT = 4 << 20;

/** A JavaScript loop finds a near byte faster than a native call costs; indexOf takes over after this. */
const NEAR = 24;

/** Index of the first `byte` at or after `from`, or -1. */
function find(chunk: Buffer, byte: number, from: number): number {
	const stop = Math.min(chunk.length, from + NEAR);
	for (let i = from; i < stop; i++) if (chunk[i] === byte) return i;
	return stop < chunk.length ? chunk.indexOf(byte, stop) : -1;
}

/** What the current line holds so far: a line of nothing or a lone CR is blank and is no record. */
const LINE_EMPTY = 0;
const LINE_CR = 1;
const LINE_CONTENT = 2;

/**
 * Counts CSV records in bytes as they pass, without parsing fields, in the way RFC 4180 readers
 * (papaparse, Python's csv) see them: a quote opens a quoted field only at the start of a field,
 * inside one `""` is a quote and CR/LF belong to the field; LF or CRLF ends a record; a blank line is
 * no record; the last record needs no line break. Quotes and line feeds are found with
 * Buffer#indexOf (native memchr), so plain data is scanned at memory speed.
 */
export class CsvRecordCounter {
	/** Records ended by a line break (the header included). */
	records = 0;

	/** Inside a quoted field. */
	inQuotes = false;

	/** 1-based record in which the open quoted field started (for the error when it never closes). */
	quoteRecord = 0;

	/** Bytes scanned so far. */
	bytes = 0;

	/** Byte offset of the line feed that ends the first record, once seen. */
	firstRecordEnd = -1;

	private line = LINE_EMPTY;

	/** Inside quotes, the previous chunk ended with a quote: the next byte says whether it was `""`. */
	private quoteAtEnd = false;

	/** The byte before the current chunk: a quote after LF, CR or a comma (or first in the file) opens a field. */
	private previous = LF;

	/** Records seen so far, an unfinished last line with content included. */
	get total(): number {
		return this.records + (this.line === LINE_CONTENT ? 1 : 0);
	}

	scan(chunk: Buffer): void {
		const length = chunk.length;
		if (length === 0) return;
		let pos = 0;
		if (this.quoteAtEnd) {
			this.quoteAtEnd = false;
			if (chunk[0] === QUOTE) pos = 1;
			else this.inQuotes = false;
		}
		// Positions of the next quote and line feed at or after pos (-1: none left in the chunk),
		// kept while still ahead of pos; -2: not looked for yet.
		let nextQuote = -2;
		let nextLineFeed = -2;
		while (pos < length) {
			if (this.inQuotes) {
				const quote = find(chunk, QUOTE, pos);
				if (quote === -1) break;
				if (quote + 1 === length) {
					this.quoteAtEnd = true;
					break;
				}
				if (chunk[quote + 1] === QUOTE) {
					pos = quote + 2;
					continue;
				}
				this.inQuotes = false;
				pos = quote + 1;
				continue;
			}
			if (nextQuote !== -1 && nextQuote < pos) nextQuote = find(chunk, QUOTE, pos);
			if (nextLineFeed !== -1 && nextLineFeed < pos) nextLineFeed = find(chunk, LF, pos);
			if (nextQuote !== -1 && (nextLineFeed === -1 || nextQuote < nextLineFeed)) {
				const before = nextQuote > 0 ? chunk[nextQuote - 1] : this.previous;
				this.line = LINE_CONTENT;
				if (before === COMMA || before === LF || before === CR) {
					this.inQuotes = true;
					this.quoteRecord = this.records + 1;
				}
				// Otherwise a quote inside an unquoted field (say `24" screen`): an ordinary character.
				pos = nextQuote + 1;
				continue;
			}
			if (nextLineFeed === -1) {
				this.addBytes(chunk, pos, length);
				break;
			}
			this.addBytes(chunk, pos, nextLineFeed);
			if (this.line === LINE_CONTENT) {
				this.records++;
				if (this.records === 1) this.firstRecordEnd = this.bytes + nextLineFeed;
			}
			this.line = LINE_EMPTY;
			pos = nextLineFeed + 1;
		}
		this.previous = chunk[length - 1];
		this.bytes += length;
	}

	/** Notes bytes [start, end) of the current line, none of them a quote or line feed. */
	private addBytes(chunk: Buffer, start: number, end: number): void {
		if (end <= start || this.line === LINE_CONTENT) return;
		this.line = this.line === LINE_EMPTY && end - start === 1 && chunk[start] === CR ? LINE_CR : LINE_CONTENT;
	}
}

export interface CsvFile {
	/** Column names from the header row, trimmed. */
	header: string[];
	identifierIndex: number;
	/** The whole file again from its first byte (header included, BOM removed), to stream into the ZIP. */
	body: Readable;
	/** Data rows counted while `body` streamed: final once it has ended. */
	rowCount: () => number;
}

function toBuffer(chunk: unknown): Buffer {
	if (Buffer.isBuffer(chunk)) return chunk;
	if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
	return Buffer.from(String(chunk), 'utf8');
}

function parseHeader(bytes: Buffer): string[] {
	const text = bytes.toString('utf8').replace(/\r$/, '');
	// Comma only: Whilter reads commas, so a file separated by ";" must not pass as a good one here.
	const parsed = Papa.parse<string[]>(text, { delimiter: ',', header: false });
	return (parsed.data[0] ?? []).map((name) => String(name).trim());
}

function headerHints(header: string[], identifier: string): string {
	const hints: string[] = [];
	const otherCase = header.find((name) => name.toLowerCase() === identifier.toLowerCase());
	if (otherCase !== undefined) hints.push(`column names are case-sensitive: the file has "${otherCase}"`);
	if (header.length === 1) {
		const separator = [';', '\t', '|'].find((candidate) => header[0].includes(candidate));
		if (separator) {
			hints.push(`the header looks separated by ${separator === '\t' ? 'tabs' : `"${separator}"`}; Whilter needs a comma-separated file`);
		}
	}
	return hints.length ? ` (${hints.join('; ')})` : '';
}

/**
 * Opens a CSV file from n8n's binary storage: reads only far enough to check the header and that a
 * data row exists, then hands back a stream of the whole file (the peeked chunks, then the rest of
 * the source, at the reader's pace) that counts its rows on the way.
 */
export async function openCsvFile(source: Readable, options: { identifier: string; fileLabel?: string }): Promise<CsvFile> {
	const label = options.fileLabel ?? 'The CSV file';
	const identifier = options.identifier.trim();
	if (!identifier) {
		// Nothing to read the file for: release it, as every other refusal here does.
		source.destroy();
		throw new InputError('The "Identifier Column" parameter is empty: enter the name of the file\'s first column (e.g. phone)', {
			parameter: 'identifierColumn',
		});
	}
	const peekCounter = new CsvRecordCounter();
	const iterator = source[Symbol.asyncIterator]() as AsyncIterator<unknown>;
	const peeked: Buffer[] = [];
	let ended = false;
	const fail = async (error: InputError): Promise<never> => {
		// Stop reading the file: return() destroys the source stream.
		await iterator.return?.();
		throw error;
	};

	// The BOM may arrive split over chunks: hold the first bytes until there are three.
	let head: Buffer | undefined = Buffer.alloc(0);
	while (peekCounter.total < 2) {
		const next = await iterator.next();
		if (next.done) {
			ended = true;
			if (head?.length) {
				peekCounter.scan(head);
				peeked.push(head);
			}
			break;
		}
		let chunk = toBuffer(next.value);
		if (head) {
			head = Buffer.concat([head, chunk]);
			if (head.length < 3) continue;
			chunk = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? head.subarray(3) : head;
			head = undefined;
		}
		peekCounter.scan(chunk);
		peeked.push(chunk);
		if (peekCounter.records === 0 && peekCounter.bytes > HEADER_LIMIT) {
			await fail(
				new InputError(`${label}: the header row is longer than ${HEADER_LIMIT >> 20} MiB; is a quote (") in it never closed?`, {
					row: 0,
				}),
			);
		}
		if (peekCounter.bytes > PEEK_LIMIT) {
			await fail(new InputError(`${label}: no data row in the first ${PEEK_LIMIT >> 20} MiB after the header (only blank lines)`));
		}
	}

	const all = peeked.length === 1 ? peeked[0] : Buffer.concat(peeked);
	peeked.splice(0, peeked.length, all);
	const header = parseHeader(all.subarray(0, peekCounter.firstRecordEnd === -1 ? all.length : peekCounter.firstRecordEnd));
	if (peekCounter.total < 2) {
		await fail(
			new InputError(
				header.length && header[0] !== ''
					? `${label} has no data rows, only the header (${header.join(', ')}): nothing to send`
					: `${label} is empty (no header row, no data rows): nothing to send`,
				{ description: 'Whilter needs a header row, then one row per customer.' },
			),
		);
	}
	const identifierIndex = header.indexOf(identifier);
	if (identifierIndex === -1) {
		await fail(
			new InputError(
				`${label} has no column "${identifier}" (the identifier column) in its header row; the columns found are: ${header.join(', ')}${headerHints(header, identifier)}`,
				{ field: identifier, description: 'Set "Identifier Column" to one of the file\'s columns, spelled as in its header row.' },
			),
		);
	}
	if (identifierIndex !== 0) {
		await fail(
			new InputError(
				`${label}: the identifier column "${identifier}" is column ${identifierIndex + 1}, but Whilter expects the identifier in the first column (for now); the columns found are: ${header.join(', ')}`,
				{
					field: identifier,
					description: 'Move the identifier column to the front of the file, or read the file into items (Extract from File) and use Input: Items.',
				},
			),
		);
	}

	async function* replay(): AsyncGenerator<Buffer> {
		let done = ended;
		try {
			yield* peeked.splice(0);
			while (!done) {
				const next = await iterator.next();
				if (next.done) done = true;
				else yield toBuffer(next.value);
			}
		} finally {
			// The reader stopped early (an upload failed): stop reading the file too.
			if (!done) await iterator.return?.();
		}
	}

	const counter = new CsvRecordCounter();
	const body = new Transform({
		readableHighWaterMark: 1 << 20,
		transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
			counter.scan(chunk);
			callback(null, chunk);
		},
		flush(callback: TransformCallback) {
			if (!counter.inQuotes) {
				callback();
				return;
			}
			// Readers would swallow every row after the quote into one field: refuse rather than upload that.
			const row = counter.quoteRecord - 1;
			callback(
				new InputError(
					`${label}: ${row === 0 ? 'the header row' : `data row ${row}`} opens a quoted field (") that is never closed before the end of the file`,
					{ row, description: 'Inside a quoted field a quote is written twice (""). Fix the file and run again.' },
				),
			);
		},
	});
	// pipeline: an error on either side ends both (a failed source fails the body; a body the reader
	// destroyed stops the replay, which releases the source).
	pipeline(Readable.from(replay(), { objectMode: false }), body, () => undefined);
	return {
		header,
		identifierIndex,
		body,
		rowCount: () => Math.max(0, counter.total - 1),
	};
}
