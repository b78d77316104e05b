import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';

import { turnClock } from '../../shared/turns';

/** A problem in the output file, located: the caller adds which file it was. */
export class ResultCsvError extends Error {
	constructor(
		message: string,
		/** 1-based data row (the header is row 0), when the problem is in a row. */
		readonly row?: number,
		/** 1-based line of the file where that row starts. */
		readonly line?: number,
	) {
		super(message);
		this.name = 'ResultCsvError';
	}
}

/**
 * A field larger than the reader's limit, found while it was still arriving: the file is not read
 * further, so one field can never hold more than the limit plus one chunk.
 */
export class FieldTooLargeError extends ResultCsvError {
	constructor(
		message: string,
		row: number,
		line: number,
		/** The header's name of the column, or its 1-based position for a header name. */
		readonly column: string,
		/** The limit in bytes (UTF-8). */
		readonly limit: number,
	) {
		super(message, row, line);
		this.name = 'FieldTooLargeError';
	}
}

/** The largest field the reader holds unless told otherwise: 1 MiB of UTF-8. */
export const DEFAULT_MAX_FIELD_BYTES = 1024 * 1024;

/** How a limit reads in messages: KB when it is whole KB (as the nodes' options give it), else bytes. */
export function sizeLimitText(bytes: number): string {
	return bytes % 1024 === 0 ? `${bytes / 1024} KB` : `${bytes} bytes`;
}

export interface CsvReaderOptions {
	/** The largest field, in UTF-8 bytes; default DEFAULT_MAX_FIELD_BYTES. */
	maxFieldBytes?: number;
}

export interface CsvRecord {
	fields: string[];
	/** 1-based line of the file where the record starts (a quoted field may span lines). */
	line: number;
}

const COMMA = 44;
const QUOTE = 34;
const CR = 13;
const LF = 10;

function isHighSurrogate(code: number): boolean {
	return code >= 0xd800 && code <= 0xdbff;
}

const enum State {
	FieldStart,
	Unquoted,
	Quoted,
	/** Just saw a quote inside a quoted field: an escaped quote or the end of the field. */
	QuoteInQuoted,
}

/**
 * An RFC 4180 reader fed text chunk by chunk: CRLF, LF or CR line ends, quoted fields with commas,
 * line breaks and doubled quotes. Only the record being read is held between chunks, so a file of any
 * size passes through in the memory of its longest row; a field over `maxFieldBytes` throws as soon
 * as it is seen, so a row is never longer than its fields allow.
 */
export class CsvRecordReader {
	private readonly maxFieldBytes: number;
	private state = State.FieldStart;
	private field = '';
	/**
	 * UTF-8 bytes of the field so far, once it is long enough to matter (undefined before): then each
	 * piece is counted as it is added, never the field again, which would copy it once per piece.
	 */
	private fieldBytes: number | undefined;
	/** The high half of a surrogate pair that ended the last piece, counted with its low half. */
	private pendingHalf = '';
	/** The header's keys, to name a column in an error. */
	private header: string[] | undefined;
	private record: string[] = [];
	private line = 1;
	private recordLine = 1;
	/** A CR ended the last record: a LF right after it belongs to the same line end. */
	private afterCr = false;
	/** Records handed out so far: the one being read is record number `emitted` counting from 0 (the header). */
	private emitted = 0;

	constructor(options: CsvReaderOptions = {}) {
		const max = options.maxFieldBytes;
		this.maxFieldBytes = max !== undefined && Number.isFinite(max) && max > 0 ? Math.floor(max) : DEFAULT_MAX_FIELD_BYTES;
	}

	/**
	 * Feeds one chunk; returns the records it completed. A malformed record throws a ResultCsvError
	 * whose `row` is that record's number counting the first record (the header) as 0.
	 */
	push(text: string): CsvRecord[] {
		const out: CsvRecord[] = [];
		const length = text.length;
		let i = 0;
		if (this.afterCr && length > 0) {
			this.afterCr = false;
			if (text.charCodeAt(0) === LF) i = 1;
		}
		let start = i;
		while (i < length) {
			if (this.state === State.Quoted) {
				const quote = text.indexOf('"', i);
				if (quote === -1) {
					this.countLines(text, i, length);
					this.grow(text.slice(start, length));
					return out;
				}
				this.countLines(text, i, quote);
				this.grow(text.slice(start, quote));
				this.state = State.QuoteInQuoted;
				i = quote + 1;
				start = i;
				continue;
			}
			const code = text.charCodeAt(i);
			if (this.state === State.QuoteInQuoted) {
				if (code === QUOTE) {
					this.grow('"');
					this.state = State.Quoted;
					i++;
					start = i;
					continue;
				}
				if (code !== COMMA && code !== CR && code !== LF) {
					throw this.syntaxError(
						`a quoted field is followed by "${text[i]}" instead of a comma or a line end (a quote inside a quoted field must be doubled)`,
						this.line,
					);
				}
				// Falls through to the separator handling below, as an unquoted field that just ended.
				this.state = State.Unquoted;
				start = i;
			}
			if (code === COMMA) {
				this.record.push(this.finishField(text.slice(start, i)));
				this.state = State.FieldStart;
				i++;
				start = i;
			} else if (code === CR || code === LF) {
				this.record.push(this.finishField(text.slice(start, i)));
				this.state = State.FieldStart;
				this.emit(out);
				this.line++;
				i++;
				if (code === CR) {
					if (i < length) {
						if (text.charCodeAt(i) === LF) i++;
					} else {
						this.afterCr = true;
					}
				}
				this.recordLine = this.line;
				start = i;
			} else if (code === QUOTE && this.state === State.FieldStart) {
				this.state = State.Quoted;
				i++;
				start = i;
			} else {
				// A quote in the middle of an unquoted field is kept as text, as spreadsheets do.
				this.state = State.Unquoted;
				i++;
			}
		}
		if (this.state !== State.QuoteInQuoted) this.grow(text.slice(start, length));
		return out;
	}

	/** The end of the input: the last record when the file does not end with a line break. */
	end(): CsvRecord[] {
		if (this.state === State.Quoted) {
			throw this.syntaxError(`a quoted field starting on line ${this.recordLine} is never closed (the file ends inside it)`, this.recordLine);
		}
		const out: CsvRecord[] = [];
		if (this.record.length > 0 || this.field !== '' || this.state === State.QuoteInQuoted) {
			this.record.push(this.finishField(''));
			this.state = State.FieldStart;
			this.emit(out);
		}
		return out;
	}

	private emit(out: CsvRecord[]): void {
		const fields = this.record;
		this.record = [];
		// A blank line (one empty unquoted field) is not a row.
		if (fields.length === 1 && fields[0] === '') return;
		out.push({ fields, line: this.recordLine });
		this.header ??= headerKeys(fields);
		this.emitted++;
	}

	/** Adds to the field being read (its part in earlier chunks, or a quoted field's text), within the limit. */
	private grow(piece: string): void {
		this.field += piece;
		this.checkFieldSize(this.field, piece);
	}

	/** The whole field, its last piece added, checked; the next field starts empty. */
	private finishField(lastPiece: string): string {
		const value = this.field + lastPiece;
		this.checkFieldSize(value, lastPiece);
		if (this.pendingHalf !== '' && (this.fieldBytes ?? 0) + 3 > this.maxFieldBytes) throw this.fieldTooLarge();
		this.field = '';
		this.fieldBytes = undefined;
		this.pendingHalf = '';
		return value;
	}

	/** `value` is the field so far, `piece` what was just added to it. */
	private checkFieldSize(value: string, piece: string): void {
		// A UTF-16 unit is 1 to 3 UTF-8 bytes (a surrogate pair 4 for its two): a field below a third of
		// the limit cannot be over it; one with more units than the limit has bytes is, whatever they are.
		if (this.fieldBytes === undefined) {
			if (value.length * 3 <= this.maxFieldBytes) return;
			this.fieldBytes = 0;
			piece = value;
		}
		if (value.length > this.maxFieldBytes) throw this.fieldTooLarge();
		let text = this.pendingHalf + piece;
		this.pendingHalf = '';
		if (text.length > 0 && isHighSurrogate(text.charCodeAt(text.length - 1))) {
			this.pendingHalf = text[text.length - 1];
			text = text.slice(0, -1);
		}
		this.fieldBytes += Buffer.byteLength(text, 'utf8');
		if (this.fieldBytes > this.maxFieldBytes) throw this.fieldTooLarge();
	}

	private fieldTooLarge(): FieldTooLargeError {
		const position = this.record.length;
		// A header name, or a field past the header's last column, is named by its position.
		const name = this.emitted > 0 ? this.header?.[position] : undefined;
		const where = this.emitted === 0 ? `header (line ${this.recordLine})` : `row ${this.emitted} (line ${this.recordLine})`;
		return new FieldTooLargeError(
			`${where}, column ${name === undefined ? position + 1 : `"${name}"`}: the field is larger than the limit of ${sizeLimitText(this.maxFieldBytes)}`,
			this.emitted,
			this.recordLine,
			name ?? String(position + 1),
			this.maxFieldBytes,
		);
	}

	/** The record being read is number `emitted` counting the header as 0, i.e. that data row. */
	private syntaxError(problem: string, line: number): ResultCsvError {
		const where = this.emitted === 0 ? `header (line ${line})` : `row ${this.emitted} (line ${line})`;
		return new ResultCsvError(`${where}: ${problem}`, this.emitted, line);
	}

	private countLines(text: string, from: number, to: number): void {
		for (let at = text.indexOf('\n', from); at !== -1 && at < to; at = text.indexOf('\n', at + 1)) this.line++;
		// A bare CR inside a quoted field is a line break too, but CRLF counts once.
		for (let at = text.indexOf('\r', from); at !== -1 && at < to; at = text.indexOf('\r', at + 1)) {
			if (text.charCodeAt(at + 1) !== LF) this.line++;
		}
	}
}

/** Header names as object keys: blanks get a name, a repeated name gets `_1`, `_2`… (as papaparse does). */
export function headerKeys(header: string[]): string[] {
	const seen = new Map<string, number>();
	const taken = new Set(header);
	return header.map((raw, index) => {
		let name = raw.trim() === '' ? `column_${index + 1}` : raw;
		const count = seen.get(name) ?? 0;
		seen.set(name, count + 1);
		if (count > 0) {
			let suffix = count;
			while (taken.has(`${name}_${suffix}`)) suffix++;
			name = `${name}_${suffix}`;
			taken.add(name);
		}
		return name;
	});
}

export interface ResultRow {
	/** Column → cell text, for every column of the header. */
	values: Record<string, string>;
	/** 1-based data row (the header is row 0). */
	row: number;
	line: number;
}

export interface ParseResultCsvOptions extends CsvReaderOptions {
	/** Columns that must be in the header, e.g. 'error' for a failed/succeeded filter. */
	requiredColumns?: string[];
	/**
	 * Names a header may write in another case ("MEDIA-URL", "Error"): such a column is keyed by the
	 * name given here, unless the header also has it exactly. Required columns are checked after this.
	 */
	canonicalColumns?: string[];
}

/** The header's keys with `canonical` names put in place of the same names in another case. */
export function canonicalKeys(keys: string[], canonical: string[]): string[] {
	const out = [...keys];
	for (const name of canonical) {
		if (out.includes(name)) continue;
		const wanted = name.toLowerCase();
		const at = out.findIndex((key) => key.trim().toLowerCase() === wanted);
		if (at !== -1) out[at] = name;
	}
	return out;
}

/**
 * An object of the header's columns, each '', that every row is copied from. A row built up from `{}`
 * keeps only its first four columns in the object and the rest in a second allocation; a copy of an
 * object parsed from JSON has every column in place: one object a row instead of two, which counts
 * when a million rows stay in memory as n8n items. Made with data properties only, so a column named
 * `__proto__` is a column like any other and a row's values are never lost to the prototype setter.
 */
function blankRowOf(keys: string[]): Record<string, string> {
	return JSON.parse(JSON.stringify(Object.fromEntries(keys.map((key) => [key, ''])))) as Record<string, string>;
}

/**
 * Reads an output CSV as a stream, one row at a time, with the header's names as keys. The stream is
 * pulled (for await), so a slow consumer slows the download rather than buffering the file.
 */
export async function* parseResultCsv(source: Readable | AsyncIterable<Buffer | string>, options: ParseResultCsvOptions = {}): AsyncGenerator<ResultRow> {
	const decoder = new StringDecoder('utf8');
	const reader = new CsvRecordReader({ maxFieldBytes: options.maxFieldBytes });
	/** The header's keys and the blank row every row is copied from, once the header is read. */
	let header: { keys: string[]; blankRow: Record<string, string> } | undefined;
	let row = 0;
	let first = true;

	const rowsOf = function* (records: CsvRecord[]): Generator<ResultRow> {
		for (const record of records) {
			if (!header) {
				const keys = canonicalKeys(headerKeys(record.fields), options.canonicalColumns ?? []);
				const missing = (options.requiredColumns ?? []).filter((column) => !keys.includes(column));
				if (missing.length) {
					throw new ResultCsvError(`the header has no ${missing.map((c) => `"${c}"`).join(', ')} column (columns: ${keys.join(', ')})`, 0, record.line);
				}
				header = { keys, blankRow: blankRowOf(keys) };
				continue;
			}
			row++;
			const { keys, blankRow } = header;
			const fields = record.fields;
			if (fields.length !== keys.length) {
				throw new ResultCsvError(`row ${row} (line ${record.line}) has ${fields.length} fields, the header has ${keys.length}`, row, record.line);
			}
			const values = { ...blankRow };
			for (let c = 0; c < keys.length; c++) values[keys[c]] = fields[c];
			yield { values, row, line: record.line };
		}
	};

	// A download ahead of the reader hands over chunks without a turn of the event loop in between:
	// the rows (and what the caller makes of them) are read in turns of their own.
	const clock = turnClock();
	let step = 0;
	for await (const chunk of source) {
		let text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
		if (first && text.length > 0) {
			first = false;
			if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
		}
		for (const row of rowsOf(reader.push(text))) {
			yield row;
			if (clock.dueAt(step++)) await clock.next();
		}
	}
	const rest = decoder.end();
	if (rest) yield* rowsOf(reader.push(rest));
	yield* rowsOf(reader.end());
	if (!header) throw new ResultCsvError('the file is empty (no header row)', 0, 1);
}
