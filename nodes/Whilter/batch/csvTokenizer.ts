/**
 * A streaming CSV tokenizer that finds the records papaparse 5 finds in the whole text with
 * `Papa.parse(text, { delimiter: ',', skipEmptyLines: true })`, which is how Whilter reads a batch
 * file: so the rows the node checks and counts are the rows Whilter will read, and `row-count` matches.
 *
 * papaparse's rules, as this tokenizer follows them:
 * - A UTF-8 BOM at the very start is dropped.
 * - The line break is guessed once, from the first 1024 × 1024 characters (UTF-16 code units) of the
 *   text: the text inside each pair of quotes is left out (an unpaired last quote and what follows it
 *   stay in); no CR, or an LF before the first CR, gives LF; otherwise CRLF when at least half of
 *   (CRs + 1) are followed by an LF, else CR. Only that sequence ends a record; a CR or LF that is not
 *   it is data.
 * - A quote opens a quoted field only as a field's first character. Inside, `""` is a quote. A quote
 *   closes the field only when what follows it, up to the next comma or line break, is white space
 *   (as JavaScript's trim() sees it: spaces, tabs, CR, LF, no-break spaces, U+2028…); the white space
 *   is dropped. Any other quote is kept as data and the search goes on (papaparse's InvalidQuotes).
 *   A quote that is the last character of the text closes the field.
 * - A quoted field still open at the end of the text takes the rest of the text as it is, escapes
 *   not undone (papaparse's MissingQuotes): `unterminated` says so.
 * - A record of one empty field (a blank line, `""`) is no row.
 *
 * Bytes are read in whatever chunks they come, split anywhere (inside a CRLF, a `""` or a letter).
 * Commas, quotes, CR and LF are ASCII, which UTF-8 never uses inside a multi-byte letter, so the
 * scanning works on bytes (Buffer#indexOf past a short JavaScript look-ahead); only the first field
 * of each record (every field of the header) is kept, up to a limit, and decoded when asked.
 */
import { StringDecoder } from 'node:string_decoder';

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

export type CsvNewline = '\n' | '\r\n' | '\r';

/** How far papaparse's line break guess looks, in UTF-16 code units. */
const GUESS_WINDOW = 1024 * 1024;

/** A JavaScript loop finds a near byte faster than a native call costs; indexOf takes over after this. */
const NEAR = 24;

/** Counts toward papaparse's guess: CRs, CRs followed by an LF, and which of CR and LF came first. */
interface BreakCounts {
	crs: number;
	crlfs: number;
	lfFirst: boolean | undefined;
	/** The character counted last was a CR. */
	afterCr: boolean;
}

/**
 * papaparse's line break guess, fed the text a piece at a time, so a file's first MiB is decoded and
 * walked as its slices come rather than in one turn of the event loop.
 *
 * papaparse leaves out the text between each pair of quotes in the window; a quote with no closing
 * quote in the window is kept, and the text after it counted. Inside a quote whose close is not seen
 * yet, `open` counts the text as if the quote were never closed: the next quote drops it (the pair
 * closed, `counts` stand, with the CR before the quote still counting toward a CRLF), the window's
 * end keeps it. The text after an unclosed quote holds no quote, so one such count is enough.
 */
class NewlineGuess {
	private counts: BreakCounts = { crs: 0, crlfs: 0, lfFirst: undefined, afterCr: false };
	private open: BreakCounts | undefined;
	private seen = 0;

	/** Whether the window is full: the guess is then made, and more text changes nothing. */
	get full(): boolean {
		return this.seen >= GUESS_WINDOW;
	}

	/**
	 * Whether an LF came before any CR outside quotes: LF, whatever the rest of the window holds (a
	 * quote opened later counts from these counts on, with the LF first in them too).
	 */
	get lfDecided(): boolean {
		return this.counts.lfFirst === true;
	}

	feed(text: string): void {
		const stop = Math.min(text.length, GUESS_WINDOW - this.seen);
		this.seen += stop;
		for (let i = 0; i < stop; i++) {
			const c = text.charCodeAt(i);
			if (c === QUOTE) {
				if (this.open) {
					this.open = undefined;
				} else {
					this.open = { ...this.counts, afterCr: false };
				}
				continue;
			}
			if (c !== CR && c !== LF) {
				if (this.open) this.open.afterCr = false;
				else this.counts.afterCr = false;
				continue;
			}
			const counts = this.open ?? this.counts;
			if (c === CR) {
				counts.crs++;
				counts.lfFirst ??= false;
				counts.afterCr = true;
			} else {
				counts.lfFirst ??= true;
				if (counts.afterCr) counts.crlfs++;
				counts.afterCr = false;
				if (this.lfDecided) return;
			}
		}
	}

	/** The guess for the text fed so far, as if the text ended there (or the window did). */
	get newline(): CsvNewline {
		const { crs, crlfs, lfFirst } = this.open ?? this.counts;
		if (crs === 0 || lfFirst === true) return '\n';
		return crlfs >= (crs + 1) / 2 ? '\r\n' : '\r';
	}
}

/** papaparse's line break guess for a whole text (BOM already removed). */
export function guessNewline(text: string): CsvNewline {
	const guess = new NewlineGuess();
	guess.feed(text);
	return guess.newline;
}

/**
 * Whether the bytes of one character after a closing quote are white space to trim(): 'yes' (all of
 * it), 'more' (could still be), 'no'. The multi-byte ones are U+00A0, U+1680, U+2000–U+200A, U+2028,
 * U+2029, U+202F, U+205F, U+3000 and U+FEFF; bytes that are not UTF-8 decode to U+FFFD, which is not.
 */
function multiByteSpace(b0: number, b1: number, b2: number, length: number): 'yes' | 'more' | 'no' {
	if (length === 1) return b0 === 0xc2 || b0 === 0xe1 || b0 === 0xe2 || b0 === 0xe3 || b0 === 0xef ? 'more' : 'no';
	if (length === 2) {
		if (b0 === 0xc2) return b1 === 0xa0 ? 'yes' : 'no';
		const more = (b0 === 0xe1 && b1 === 0x9a) || (b0 === 0xe2 && (b1 === 0x80 || b1 === 0x81)) || (b0 === 0xe3 && b1 === 0x80) || (b0 === 0xef && b1 === 0xbb);
		return more ? 'more' : 'no';
	}
	if (b0 === 0xe1) return b2 === 0x80 ? 'yes' : 'no';
	if (b0 === 0xe2 && b1 === 0x80) return b2 <= 0x8a && b2 >= 0x80 ? 'yes' : b2 === 0xa8 || b2 === 0xa9 || b2 === 0xaf ? 'yes' : 'no';
	if (b0 === 0xe2) return b2 === 0x9f ? 'yes' : 'no';
	if (b0 === 0xe3) return b2 === 0x80 ? 'yes' : 'no';
	return b2 === 0xbf ? 'yes' : 'no';
}

/** What the tokenizer tells about each record that is a row (not blank). Valid only during the call. */
export interface CsvRecord {
	/** 0 for the header (the first record that is not blank), then 1, 2… for data rows. */
	readonly row: number;
	readonly fieldCount: number;
	/** Byte offsets in the input (a BOM included) of the record's first byte and just past its line break, or the end. */
	readonly start: number;
	readonly end: number;
	/** The input ended inside a quoted field of this record: it took the rest of the input. */
	readonly unterminated: boolean;
	/** The line break is LF and the record's last field ends with a CR: the file mixes CRLF into LF lines. */
	readonly endsWithCr: boolean;
	/** Whether `""` in the first field's bytes stands for one quote (a quoted field that was closed). */
	readonly firstFieldEscaped: boolean;
	/** Bytes of the first field as written (between its quotes), or -1 when longer than the limit. */
	readonly firstFieldLength: number;
	/** Holds the first field's bytes at [0, firstFieldLength). Shared by every record: read it during the call. */
	readonly firstFieldBuffer: Buffer;
	/** The first field's value as papaparse gives it, or undefined when longer than the limit. */
	firstField(): string | undefined;
	/** The header's field values (row 0 only), or undefined when the header is longer than its limit. */
	fields(): string[] | undefined;
}

export interface CsvTokenizerOptions {
	/** Bytes of a data row's first field kept (default 1024): a longer one is reported as undefined. */
	firstFieldLimit?: number;
	/** Bytes of the header's fields kept (default 1 MiB). */
	headerLimit?: number;
	/**
	 * Pause (as pause() does) once this many bytes have been read in one go, when more are waiting:
	 * the input held for the line break guess is then read in steps, with turns of the event loop
	 * between them. Default: no limit.
	 */
	stepBytes?: number;
	/**
	 * Only guess the line break: no record is read and no input is held (reading it would cost as
	 * much as the file's first MiB of rows, for nothing).
	 */
	newlineOnly?: boolean;
}

const FIELD_START = 0;
const PLAIN = 1;
const QUOTED = 2;
/** Just after a quote inside a quoted field: the next byte says whether it was `""`. */
const QUOTE_SEEN = 3;
/** After a quote that may close the field: white space so far. */
const AFTER_QUOTE = 4;

/** `""` → `"`, left to right, as papaparse undoes escapes. */
function unescapeQuotes(bytes: Buffer): Buffer {
	if (bytes.indexOf(QUOTE) === -1) return bytes;
	const out = Buffer.allocUnsafe(bytes.length);
	let length = 0;
	for (let i = 0; i < bytes.length; i++) {
		out[length++] = bytes[i];
		if (bytes[i] === QUOTE && bytes[i + 1] === QUOTE) i++;
	}
	return out.subarray(0, length);
}

export class CsvTokenizer {
	private readonly firstFieldLimit: number;
	private readonly headerLimit: number;
	private readonly stepBytes: number;
	private readonly newlineOnly: boolean;

	private nl: CsvNewline | undefined;
	/** The newline's byte that ends (CR or LF) or starts (CRLF) a record. */
	private nlByte = LF;

	/** The first bytes, until there are three to tell a BOM from. */
	private head: Buffer | undefined = Buffer.alloc(0);
	private bom = 0;

	/** Input not scanned yet: held while the line break is guessed (up to the first MiB), or left when paused. */
	private readonly queue: Buffer[] = [];
	/** Where scanning stopped in queue[0]. */
	private queueOffset = 0;
	/** Absolute offset of queue[0][0]. */
	private queueBase = 0;

	/** Until the line break is known: the input decoded as it comes, and papaparse's guess from it. */
	private guessing: { decoder: StringDecoder; guess: NewlineGuess } | undefined = { decoder: new StringDecoder('utf8'), guess: new NewlineGuess() };

	private state = FIELD_START;
	private quoted = false;
	/** CRLF files: a CR ended the last chunk; the next byte says whether it was a line break. */
	private pendingCr = false;
	/** Bytes of a possible multi-byte space after a closing quote. */
	private spaceLength = 0;
	private space0 = 0;
	private space1 = 0;
	private space2 = 0;
	private lastByte = -1;

	// Field capture: bytes of the kept fields, one after the other, in `capture` up to `limit`;
	// `raw` counts them all, so a field past the limit is known to be so.
	private capture = Buffer.alloc(256);
	private raw = 0;
	private capturing = true;
	private fieldStart = 0;
	/** `raw` at the quote that may close the current field. */
	private closeAt = 0;
	private fieldIndex = 0;
	private firstEnd = 0;
	private firstEscaped = false;
	private endsWithCr = false;
	private readonly marks: number[] = [];

	private rows = 0;
	private recordStartAt = 0;
	private scannedTo = 0;
	private isPaused = false;
	private ending = false;
	private done = false;
	private unterminatedInput = false;

	// Near-search caches for plain fields in the chunk being scanned (-2: not searched yet, -1: none).
	private cachedChunk: Buffer | undefined;
	private nextComma = -2;
	private nextBreak = -2;

	/** One object for every record (none is made per row): its fields change before each call. */
	private readonly record: { -readonly [K in keyof CsvRecord]: CsvRecord[K] };

	constructor(
		private readonly onRecord: (record: CsvRecord) => void,
		options: CsvTokenizerOptions = {},
	) {
		this.firstFieldLimit = options.firstFieldLimit ?? 1024;
		this.headerLimit = options.headerLimit ?? 1 << 20;
		this.stepBytes = options.stepBytes ?? Number.POSITIVE_INFINITY;
		this.newlineOnly = options.newlineOnly === true;
		this.record = {
			row: 0,
			fieldCount: 0,
			start: 0,
			end: 0,
			unterminated: false,
			endsWithCr: false,
			firstFieldEscaped: false,
			firstFieldLength: 0,
			firstFieldBuffer: this.capture,
			firstField: () => this.firstValue(),
			fields: () => this.headerValues(),
		};
	}

	/** The line break papaparse takes for this input, once known. */
	get newline(): CsvNewline | undefined {
		return this.nl;
	}

	/** 3 when the input starts with a UTF-8 BOM (dropped), else 0. */
	get bomLength(): number {
		return this.bom;
	}

	/** Offset up to which the input has been read into records. */
	get scanned(): number {
		return this.scannedTo;
	}

	/** Where the record being read began: every byte before it belongs to a record already reported, or to a blank line. */
	get recordStart(): number {
		return this.recordStartAt;
	}

	get headerSeen(): boolean {
		return this.rows > 0;
	}

	/** The input ended inside a quoted field (papaparse's MissingQuotes). */
	get unterminated(): boolean {
		return this.unterminatedInput;
	}

	get paused(): boolean {
		return this.isPaused;
	}

	/** Called from onRecord: stop after this record, keeping the rest of the input until resume(). */
	pause(): void {
		this.isPaused = true;
	}

	resume(): void {
		this.isPaused = false;
		this.drain();
	}

	write(chunk: Buffer): void {
		if (this.ending) throw new Error('CsvTokenizer: write after end');
		if (this.newlineOnly && this.nl !== undefined) return;
		if (this.head) {
			const head: Buffer = this.head.length ? Buffer.concat([this.head, chunk]) : chunk;
			if (head.length < 3) {
				this.head = head;
				return;
			}
			this.head = undefined;
			this.bom = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
			this.queueBase = this.scannedTo = this.recordStartAt = this.bom;
			chunk = head.subarray(this.bom);
		}
		if (chunk.length === 0) return;
		this.take(chunk);
		if (this.nl !== undefined) this.drain();
	}

	/** The input is complete: the last record is reported (it may pause; resume() then finishes). */
	end(): void {
		if (this.ending) return;
		this.ending = true;
		if (this.head) {
			const head = this.head;
			this.head = undefined;
			if (head.length) this.take(head);
		}
		if (this.guessing) {
			this.guessing.guess.feed(this.guessing.decoder.end());
			this.decide(this.guessing.guess.newline);
		}
		this.drain();
	}

	/** Queues a chunk to be read (a guess alone reads none) and feeds it to the guess while there is one. */
	private take(chunk: Buffer): void {
		if (!this.newlineOnly) this.queue.push(chunk);
		if (this.guessing) this.guess(chunk);
	}

	private guess(chunk: Buffer): void {
		const { decoder, guess } = this.guessing!;
		guess.feed(decoder.write(chunk));
		if (guess.lfDecided || guess.full) this.decide(guess.newline);
	}

	private decide(newline: CsvNewline): void {
		this.guessing = undefined;
		this.nl = newline;
		this.nlByte = newline === '\n' ? LF : CR;
	}

	private drain(): void {
		if (this.nl === undefined) return;
		if (this.newlineOnly) return;
		const until = this.scannedTo + this.stepBytes;
		while (this.queue.length && !this.isPaused) {
			if (this.scannedTo >= until) {
				this.isPaused = true;
				return;
			}
			const chunk = this.queue[0];
			const stop = this.scan(chunk, this.queueOffset);
			if (stop < chunk.length) {
				this.queueOffset = stop;
				return;
			}
			this.queue.shift();
			this.queueOffset = 0;
			this.queueBase += chunk.length;
			this.lastByte = chunk[chunk.length - 1];
		}
		if (this.ending && !this.isPaused && !this.done) this.finish();
	}

	/** papaparse at the end of the text, in each state. */
	private finish(): void {
		this.done = true;
		const end = this.queueBase;
		switch (this.state) {
			case FIELD_START:
				// The text ends where a field would start: papaparse adds an empty one (a blank last line is then no row).
				this.fieldStart = this.raw;
				break;
			case PLAIN:
				if (this.pendingCr) this.appendByte(CR);
				break;
			case QUOTE_SEEN:
				// A quote as the text's last character closes the field.
				this.raw = this.closeAt;
				break;
			default:
				// QUOTED or AFTER_QUOTE: never closed; the field is the rest of the text as written.
				if (this.pendingCr) this.appendByte(CR);
				if (this.spaceLength > 0) this.appendSpaceBytes();
				this.unterminatedInput = true;
				this.quoted = false;
		}
		this.endField();
		this.scannedTo = end;
		this.endRecord(end);
	}

	/** Reads chunk[from…] into records; returns where it stopped (the end, or just after a record when paused). */
	private scan(chunk: Buffer, from: number): number {
		const length = chunk.length;
		const base = this.queueBase;
		if (from === 0 || this.cachedChunk !== chunk) {
			this.cachedChunk = chunk;
			this.nextComma = -2;
			this.nextBreak = -2;
		}
		let i = from;
		while (i < length) {
			switch (this.state) {
				case FIELD_START: {
					this.fieldStart = this.raw;
					if (chunk[i] === QUOTE) {
						this.quoted = true;
						this.state = QUOTED;
						i++;
					} else {
						this.quoted = false;
						this.state = PLAIN;
					}
					break;
				}
				case PLAIN: {
					if (this.pendingCr) {
						this.pendingCr = false;
						if (chunk[i] === LF) {
							this.endField();
							i++;
							if (this.endRecord(base + i)) return this.stopAt(base, i);
							break;
						}
						this.appendByte(CR);
					}
					const stop = this.findPlainStop(chunk, i);
					if (stop === -1) {
						this.append(chunk, i, length);
						i = length;
						break;
					}
					this.append(chunk, i, stop);
					if (chunk[stop] === COMMA) {
						this.endField();
						i = stop + 1;
						break;
					}
					if (this.nl === '\r\n') {
						if (stop + 1 === length) {
							this.pendingCr = true;
							i = length;
							break;
						}
						if (chunk[stop + 1] !== LF) {
							// A CR alone is data in a CRLF file.
							this.appendByte(CR);
							i = stop + 1;
							break;
						}
						i = stop + 2;
					} else {
						// A field ending in CR right before an LF: a CRLF line in a file read as LF. (An empty
						// field follows a comma or an LF, never a CR.)
						if (this.nl === '\n') this.endsWithCr = (stop > 0 ? chunk[stop - 1] : this.lastByte) === CR;
						i = stop + 1;
					}
					this.endField();
					if (this.endRecord(base + i)) return this.stopAt(base, i);
					break;
				}
				case QUOTED: {
					const quote = find(chunk, QUOTE, i);
					if (quote === -1) {
						this.append(chunk, i, length);
						i = length;
						break;
					}
					this.append(chunk, i, quote);
					this.closeAt = this.raw;
					this.appendByte(QUOTE);
					this.state = QUOTE_SEEN;
					i = quote + 1;
					break;
				}
				case QUOTE_SEEN: {
					if (chunk[i] === QUOTE) {
						// `""`: a quote in the field.
						this.appendByte(QUOTE);
						this.state = QUOTED;
						i++;
					} else {
						this.state = AFTER_QUOTE;
					}
					break;
				}
				default: {
					const next = this.afterQuote(chunk, i, base);
					if (next < 0) return this.stopAt(base, -next);
					i = next;
				}
			}
		}
		this.scannedTo = base + length;
		return length;
	}

	private stopAt(base: number, i: number): number {
		this.scannedTo = base + i;
		return i;
	}

	/**
	 * After a quote that may close the field, from chunk[i]: white space is taken; a comma or the line
	 * break closes the field (and the record); anything else makes the quote data (papaparse's
	 * InvalidQuotes). Returns where to go on, or minus that when paused after a record.
	 */
	private afterQuote(chunk: Buffer, i: number, base: number): number {
		const length = chunk.length;
		while (i < length) {
			const b = chunk[i];
			if (this.pendingCr) {
				this.pendingCr = false;
				if (b === LF) {
					this.closeQuoted();
					i++;
					return this.endRecord(base + i) ? -i : i;
				}
				this.appendByte(CR);
			}
			if (this.spaceLength > 0 || b >= 0x80) {
				const n = this.spaceLength + 1;
				const verdict = multiByteSpace(n === 1 ? b : this.space0, n === 2 ? b : this.space1, b, n);
				if (verdict === 'no') {
					// Not white space: the bytes so far are data, and this one is read again as data.
					this.appendSpaceBytes();
					this.state = QUOTED;
					return i;
				}
				if (n === 1) this.space0 = b;
				else if (n === 2) this.space1 = b;
				else this.space2 = b;
				this.spaceLength = n;
				if (verdict === 'yes') this.appendSpaceBytes();
				i++;
				continue;
			}
			if (b === COMMA) {
				this.closeQuoted();
				return i + 1;
			}
			if (b === this.nlByte) {
				if (this.nl === '\r\n') {
					if (i + 1 === length) {
						this.pendingCr = true;
						return length;
					}
					if (chunk[i + 1] !== LF) {
						this.appendByte(CR);
						i++;
						continue;
					}
					i += 2;
				} else {
					i++;
				}
				this.closeQuoted();
				return this.endRecord(base + i) ? -i : i;
			}
			if (b === 0x20 || (b >= 0x09 && b <= 0x0d)) {
				this.appendByte(b);
				i++;
				continue;
			}
			// Not white space: the quote was data.
			this.state = QUOTED;
			return i;
		}
		return length;
	}

	/** Keeps the bytes of a possible multi-byte space: white space or data, they are the field's until it closes. */
	private appendSpaceBytes(): void {
		if (this.spaceLength > 0) this.appendByte(this.space0);
		if (this.spaceLength > 1) this.appendByte(this.space1);
		if (this.spaceLength > 2) this.appendByte(this.space2);
		this.spaceLength = 0;
	}

	private closeQuoted(): void {
		// The field ends at the closing quote: the quote and the white space after it are not its value.
		this.raw = this.closeAt;
		this.endField();
	}

	/** Index of the next comma or line-break byte at or after `from` in a plain field, or -1. */
	private findPlainStop(chunk: Buffer, from: number): number {
		const nl = this.nlByte;
		const near = from + NEAR < chunk.length ? from + NEAR : chunk.length;
		for (let i = from; i < near; i++) {
			const b = chunk[i];
			if (b === COMMA || b === nl) return i;
		}
		if (near === chunk.length) return -1;
		if (this.nextComma !== -1 && this.nextComma < near) this.nextComma = chunk.indexOf(COMMA, near);
		if (this.nextBreak !== -1 && this.nextBreak < near) this.nextBreak = chunk.indexOf(nl, near);
		if (this.nextComma === -1) return this.nextBreak;
		if (this.nextBreak === -1) return this.nextComma;
		return this.nextComma < this.nextBreak ? this.nextComma : this.nextBreak;
	}

	private append(chunk: Buffer, start: number, end: number): void {
		if (end <= start || !this.capturing) return;
		const limit = this.rows === 0 ? this.headerLimit : this.firstFieldLimit;
		if (this.raw < limit) {
			const take = end - start < limit - this.raw ? end - start : limit - this.raw;
			this.reserve(this.raw + take);
			chunk.copy(this.capture, this.raw, start, start + take);
		}
		this.raw += end - start;
	}

	private appendByte(b: number): void {
		if (!this.capturing) return;
		const limit = this.rows === 0 ? this.headerLimit : this.firstFieldLimit;
		if (this.raw < limit) {
			this.reserve(this.raw + 1);
			this.capture[this.raw] = b;
		}
		this.raw++;
	}

	private reserve(size: number): void {
		if (size <= this.capture.length) return;
		let next = this.capture.length * 2;
		while (next < size) next *= 2;
		const grown = Buffer.alloc(next);
		this.capture.copy(grown, 0, 0, Math.min(this.raw, this.capture.length));
		this.capture = grown;
	}

	private endField(): void {
		if (this.fieldIndex === 0) {
			this.firstEnd = this.raw;
			this.firstEscaped = this.quoted;
		}
		if (this.rows === 0) {
			// The header keeps every field: where each one is, and whether its escapes are to be undone.
			this.marks.push(this.fieldStart, this.raw, this.quoted ? 1 : 0);
		} else {
			this.capturing = false;
		}
		this.fieldIndex++;
		this.state = FIELD_START;
	}

	/** Reports the record unless it is blank; true when onRecord paused. */
	private endRecord(end: number): boolean {
		const fieldCount = this.fieldIndex;
		// One empty field: a blank line (or `""`), which papaparse skips.
		const blank = fieldCount === 1 && this.firstEnd === 0;
		let paused = false;
		if (!blank) {
			const record = this.record;
			record.row = this.rows;
			record.fieldCount = fieldCount;
			record.start = this.recordStartAt;
			record.end = end;
			record.unterminated = this.unterminatedInput;
			record.endsWithCr = this.endsWithCr;
			record.firstFieldEscaped = this.firstEscaped;
			record.firstFieldLength = this.firstEnd > this.limitOf(record.row) ? -1 : this.firstEnd;
			record.firstFieldBuffer = this.capture;
			this.rows++;
			this.onRecord(this.record);
			paused = this.isPaused;
		}
		this.fieldIndex = 0;
		this.raw = 0;
		this.firstEnd = 0;
		this.endsWithCr = false;
		this.marks.length = 0;
		this.capturing = true;
		this.recordStartAt = end;
		return paused;
	}

	private limitOf(row: number): number {
		return row === 0 ? this.headerLimit : this.firstFieldLimit;
	}

	private firstValue(): string | undefined {
		const length = this.record.firstFieldLength;
		if (length < 0) return undefined;
		const bytes = this.capture.subarray(0, length);
		return (this.firstEscaped ? unescapeQuotes(bytes) : bytes).toString('utf8');
	}

	private headerValues(): string[] | undefined {
		if (this.record.row !== 0) return undefined;
		const values: string[] = [];
		for (let i = 0; i < this.marks.length; i += 3) {
			const [start, end, escaped] = [this.marks[i], this.marks[i + 1], this.marks[i + 2]];
			if (end > this.headerLimit) return undefined;
			const bytes = this.capture.subarray(start, end);
			values.push((escaped ? unescapeQuotes(bytes) : bytes).toString('utf8'));
		}
		return values;
	}
}

/** Index of the first `byte` at or after `from`, or -1. */
function find(chunk: Buffer, byte: number, from: number): number {
	const stop = from + NEAR < chunk.length ? from + NEAR : chunk.length;
	for (let i = from; i < stop; i++) if (chunk[i] === byte) return i;
	return stop < chunk.length ? chunk.indexOf(byte, stop) : -1;
}
