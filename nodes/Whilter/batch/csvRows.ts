/**
 * What makes a data row of a CSV file usable, read the same way by the check that streams the file
 * (csvFileInput.ts) and by the scan for repeated identifiers before it (repeatedRows.ts): both find
 * the same records with the same tokenizer options, and agree on which rows count.
 */
import type { Readable } from 'node:stream';

import { giveTurn } from '../../shared/turns';
import { CsvTokenizer } from './csvTokenizer';
import type { CsvRecord, CsvTokenizerOptions } from './csvTokenizer';

/** The header record must end within this many bytes (a longer one is almost surely an unclosed quote). */
export const HEADER_LIMIT = 1 << 20;
/** Bytes of an identifier as written: a longer one is no identifier (most likely a quote never closed). */
export const IDENTIFIER_LIMIT = 1024;
/**
 * At most this many bytes of rows are read between turns of the event loop: a larger chunk in slices,
 * and the megabyte or more held for the line break guess in steps. The first rows of a file run in
 * code not yet optimised, at about 4 µs a row on a slow machine: a 64 KiB step (about 1,000 rows) is
 * then 4–5 ms, where a quarter of a megabyte held the loop for 16–20 ms.
 */
const TURN_BYTES = 64 << 10;

/** How a reading of the file that gives the event loop turns finds its records. */
export const STREAMING_TOKENIZER: CsvTokenizerOptions = { firstFieldLimit: IDENTIFIER_LIMIT, headerLimit: HEADER_LIMIT, stepBytes: TURN_BYTES };

const QUOTE = 0x22;

export function toBuffer(chunk: unknown): Buffer {
	if (Buffer.isBuffer(chunk)) return chunk;
	if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
	return Buffer.from(String(chunk), 'utf8');
}

/** A chunk in slices of at most TURN_BYTES: a large one (a file held in memory) is read a slice per turn of the event loop. */
export function slices(chunk: Buffer): Buffer[] {
	if (chunk.length <= TURN_BYTES) return [chunk];
	const parts: Buffer[] = [];
	for (let at = 0; at < chunk.length; at += TURN_BYTES) parts.push(chunk.subarray(at, at + TURN_BYTES));
	return parts;
}

/**
 * Reads a whole CSV source through a tokenizer made with STREAMING_TOKENIZER, a slice or a step per
 * turn of the event loop, then closes the source. `afterSlice` runs once a slice is read (a log's
 * spill); `done` stops the reading early (what was looked for is found).
 */
export async function readInTurns(
	source: Readable,
	onRecord: (record: CsvRecord) => void,
	options: { done?: () => boolean; afterSlice?: () => Promise<void> } = {},
): Promise<void> {
	const done = options.done ?? (() => false);
	const tokenizer = new CsvTokenizer(onRecord, STREAMING_TOKENIZER);
	const settle = async () => {
		while (tokenizer.paused && !done()) {
			await giveTurn();
			tokenizer.resume();
		}
	};
	try {
		for await (const chunk of source) {
			for (const [k, slice] of slices(toBuffer(chunk)).entries()) {
				if (k > 0) await giveTurn();
				tokenizer.write(slice);
				await settle();
				await options.afterSlice?.();
				if (done()) return;
			}
		}
		tokenizer.end();
		await settle();
	} finally {
		source.destroy();
	}
}

/** Whether a byte is white space to String#trim() (the ASCII ones). */
function isAsciiSpace(b: number): boolean {
	return b === 0x20 || (b >= 0x09 && b <= 0x0d);
}

/**
 * A data row's identifier as trimmed UTF-8 bytes, the text the items input would compare: bytes
 * [start, end) of `bytes` (nothing is made for a row unless its identifier has letters beyond ASCII
 * or escaped quotes).
 */
export class Identifier {
	bytes: Buffer = Buffer.alloc(0);
	start = 0;
	end = 0;

	/** Reads the record's identifier; why it has none, or undefined. */
	read(record: CsvRecord): string | undefined {
		const length = record.firstFieldLength;
		if (length < 0) return `the identifier is longer than ${IDENTIFIER_LIMIT} bytes`;
		const raw = record.firstFieldBuffer;
		let start = 0;
		let end = length;
		while (start < end && isAsciiSpace(raw[start])) start++;
		while (end > start && isAsciiSpace(raw[end - 1])) end--;
		// Any quote is inside [start, end): trimming stops at it.
		let plain = true;
		for (let i = start; i < end && plain; i++) plain = raw[i] < 0x80 && (raw[i] !== QUOTE || !record.firstFieldEscaped);
		if (plain) {
			this.bytes = raw;
			this.start = start;
			this.end = end;
		} else {
			this.bytes = Buffer.from((record.firstField() ?? '').trim(), 'utf8');
			this.start = 0;
			this.end = this.bytes.length;
		}
		return this.start === this.end ? 'the identifier is empty' : undefined;
	}

	get text(): string {
		return this.bytes.toString('utf8', this.start, this.end);
	}
}

/** Why a data row cannot be sent, in the order the checks run. */
export type RowProblem =
	| { kind: 'unterminated' }
	| { kind: 'identifier'; reason: string }
	| { kind: 'fields'; found: number };

/**
 * Checks a data row against a header of `columns` fields, reading its identifier into `id`: a row
 * with no problem is sent, and only such rows take part in the duplicate check.
 */
export function rowProblem(record: CsvRecord, columns: number, id: Identifier): RowProblem | undefined {
	// papaparse would read the rest of the file as one field.
	if (record.unterminated) return { kind: 'unterminated' };
	const missing = id.read(record);
	if (missing !== undefined) return { kind: 'identifier', reason: missing };
	if (record.fieldCount !== columns) return { kind: 'fields', found: record.fieldCount };
	return undefined;
}
