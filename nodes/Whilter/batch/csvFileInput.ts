import { Readable } from 'node:stream';

import { InputError } from '../../shared/errors';
import { giveTurn } from '../../shared/turns';
import { CsvTokenizer } from './csvTokenizer';
import type { CsvNewline, CsvRecord } from './csvTokenizer';
import { HEADER_LIMIT, Identifier, readInTurns, rowProblem, slices, STREAMING_TOKENIZER, toBuffer } from './csvRows';
import { findRepeatedRows, IdentifierLog, IdentifiersSeen } from './repeatedRows';
import type { LogPlace, RepeatCheck } from './repeatedRows';

/** openCsvFile reads at most this far past the header looking for a first data row; the rest is checked as the body streams. */
const PEEK_LIMIT = 4 << 20;
/** A row that may be left out is held until its end: a longer one stops the upload. */
const ROW_HOLD_LIMIT = 16 << 20;
/** Rows left out are all counted; this many are listed in the output, as with items input. */
const REPORT_LIMIT = 100;

export interface CsvFileOptions {
	identifier: string;
	fileLabel?: string;
	/** Leave out rows without a usable identifier or with another number of fields than the header (reported) instead of failing. */
	skipInvalidRows?: boolean;
	/** Whether a repeated identifier fails the upload (default) or its later rows are left out (reported). */
	duplicateIdentifiers?: 'error' | 'keepFirst';
	/** Where the duplicate check keeps its logs (see repeatedRows.ts); by default in memory, then in the system's temporary folder. */
	repeatLogs?: LogPlace;
}

/** Rows left out of the uploaded file, as the items input reports them, with data rows for items. */
export interface CsvRowsLeftOut {
	skipped: { count: number; first: Array<{ row: number; reason: string }> };
	duplicatesDropped: { count: number; first: Array<{ row: number; identifier: string }> };
}

export interface CsvFile {
	/** Column names from the header row, trimmed. */
	header: string[];
	identifierIndex: number;
	/** The file to upload, streamed (BOM removed, rows left out removed); fails on a row it refuses. */
	body: Readable;
	/** Data rows in the body, as papaparse will read them: final once the body has ended. */
	rowCount: () => number;
	/** Rows left out: final once the body has ended. */
	leftOut: () => CsvRowsLeftOut;
	/** The most memory the duplicate check held at once, in bytes: final once the body has ended. */
	repeatCheckPeakBytes: () => number;
}

/**
 * The file as a stream, or a way to open it (again): with a way to open it, a duplicate identifier is
 * confirmed by reading the file again up to the row, which names the earlier row.
 */
export type CsvSource = Readable | (() => Readable | Promise<Readable>);

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

const NEWLINE_NAMES: Record<CsvNewline, string> = { '\n': 'LF', '\r\n': 'CRLF', '\r': 'CR' };

/** The source's bytes from `offset`, kept until they are passed on or left out. */
class HeldBytes {
	private readonly pieces: Buffer[] = [];
	private start = 0;

	push(chunk: Buffer): void {
		this.pieces.push(chunk);
	}

	/** Views of bytes [from, to) into `out`; everything before `to` is then forgotten. */
	take(from: number, to: number, out: Buffer[]): void {
		let at = this.start;
		for (const piece of this.pieces) {
			const end = at + piece.length;
			if (end > from && at < to) out.push(piece.subarray(Math.max(0, from - at), Math.min(piece.length, to - at)));
			if (end >= to) break;
			at = end;
		}
		while (this.pieces.length && this.start + this.pieces[0].length <= to) this.start += this.pieces.shift()!.length;
	}
}

/**
 * Reads the file through the tokenizer, checks each data row as it comes and decides which bytes go
 * on: all of them but the BOM and the rows left out.
 */
class CsvFileReader {
	header: string[] | undefined;
	/** Where the header record ends. */
	headerEnd: number | undefined;
	identifierIndex = -1;
	dataRows = 0;
	kept = 0;
	readonly leftOut: CsvRowsLeftOut = { skipped: { count: 0, first: [] }, duplicatesDropped: { count: 0, first: [] } };

	private readonly tokenizer: CsvTokenizer;
	/** How a row's identifier is checked against the earlier rows' (set in the constructor). */
	private repeats: RepeatCheck;
	/** With Duplicate Identifiers: Error, of a file that can be read again: the identifiers' hashes, checked at the end. */
	private readonly log: IdentifierLog | undefined;
	private readonly id = new Identifier();
	private readonly held = new HeldBytes();
	/** Output up to here is decided (passed on, or left out). */
	private emitted = 0;
	private ready: Buffer[] = [];
	/** Whether a row may be left out: then its bytes are held until its end. */
	private readonly mayLeaveOut: boolean;
	/** Set on the first data row while openCsvFile peeks: it has what it needs. */
	private peeking = true;
	private peekPaused = false;
	/** How papaparse will guess the uploaded file's line breaks, checked once rows are left out. */
	private readonly outputGuess = new CsvTokenizer(() => undefined, { newlineOnly: true });
	private outputChecked = false;

	constructor(
		private readonly label: string,
		private readonly identifier: string,
		private readonly options: CsvFileOptions,
		private readonly reopen: (() => Promise<Readable>) | undefined,
	) {
		this.mayLeaveOut = options.skipInvalidRows === true || options.duplicateIdentifiers === 'keepFirst';
		// Read once, the file's identifiers are held as it streams. With Error, a file that can be read
		// again is refused at its end, after a check of the logged hashes in memory that does not grow
		// with the file; with Keep First it is scanned ahead (checkRepeatsWith) once the peek is done.
		this.log = reopen && options.duplicateIdentifiers !== 'keepFirst' ? new IdentifierLog(options.repeatLogs) : undefined;
		this.repeats = this.log ?? new IdentifiersSeen();
		this.tokenizer = new CsvTokenizer((record) => this.onRecord(record), STREAMING_TOKENIZER);
	}

	get peekDone(): boolean {
		return this.peekPaused || (this.headerEnd !== undefined && this.tokenizer.scanned - this.headerEnd > PEEK_LIMIT);
	}

	/** Reads a slice of the file (at most 64 KiB, see csvRows.ts); what it decides is then in takeReady(). */
	async write(slice: Buffer): Promise<void> {
		this.held.push(slice);
		this.tokenizer.write(slice);
		await this.settle();
	}

	get repeatCheckPeakBytes(): number {
		return this.repeats.peakBytes;
	}

	/** From here on, rows are checked against a scan of the whole file for repeated identifiers (Keep First). */
	checkRepeatsWith(repeats: RepeatCheck): void {
		this.repeats = repeats;
	}

	/** After peeking: reads on from where the first data row stopped it. */
	async resumeAfterPeek(): Promise<void> {
		this.peeking = false;
		if (!this.peekPaused) return;
		this.peekPaused = false;
		this.tokenizer.resume();
		await this.settle();
	}

	async end(): Promise<void> {
		this.peeking = false;
		this.tokenizer.end();
		await this.settle();
		if (this.header === undefined) {
			throw new InputError(`${this.label} is empty (no header row, no data rows): nothing to send`, {
				description: 'Whilter needs a header row, then one row per customer.',
			});
		}
		if (this.dataRows === 0) {
			throw new InputError(`${this.label} has no data rows, only the header (${this.header.join(', ')}): nothing to send`, {
				description: 'Whilter needs a header row, then one row per customer.',
			});
		}
		if (this.kept === 0) {
			const { skipped, duplicatesDropped } = this.leftOut;
			const example = skipped.first[0];
			throw new InputError(
				`${this.label}: no rows to send: all ${this.dataRows} data rows were left out (${skipped.count} skipped` +
					(example ? `, e.g. data row ${example.row}: ${example.reason}` : '') +
					(duplicatesDropped.count ? `; ${duplicatesDropped.count} duplicate identifiers` : '') +
					')',
				{ field: this.identifier, description: 'Check the file, and that "Identifier Column" names its first column.' },
			);
		}
		await this.refuseLoggedRepeat();
		this.pass(this.tokenizer.scanned);
		this.checkOutputNewline(true);
	}

	/** Removes the identifier log's temporary files, if it has any (the file was read, or reading it stopped). */
	async close(): Promise<void> {
		await this.log?.close();
	}

	/** The bytes decided since the last call, in one buffer (a slice's worth at most, plus rows held). */
	takeReady(): Buffer | undefined {
		if (!this.ready.length) return undefined;
		const out = this.ready.length === 1 ? this.ready[0] : Buffer.concat(this.ready);
		this.ready = [];
		return out;
	}

	/** Runs what the last write asked for (confirming a duplicate, a turn for the event loop), then passes on what is decided. */
	private async settle(): Promise<void> {
		while (this.tokenizer.paused && !this.peekPaused) {
			await giveTurn();
			this.tokenizer.resume();
		}
		await this.log?.spill();
		if (!this.tokenizer.headerSeen && this.tokenizer.scanned - this.tokenizer.recordStart > HEADER_LIMIT) {
			throw new InputError(`${this.label}: the header row is longer than ${HEADER_LIMIT >> 20} MiB; is a quote (") in it never closed?`, { row: 0 });
		}
		if (this.mayLeaveOut && this.tokenizer.headerSeen && this.tokenizer.scanned - this.tokenizer.recordStart > ROW_HOLD_LIMIT) {
			throw new InputError(
				`${this.label}: data row ${this.dataRows + 1} is longer than ${ROW_HOLD_LIMIT >> 20} MiB so far; is a quote (") in it never closed?`,
				{ row: this.dataRows + 1, description: 'With "Skip Invalid Rows" or "Keep First" on, each row is held until its end, in case it is left out.' },
			);
		}
		this.pass(this.mayLeaveOut ? this.tokenizer.recordStart : this.tokenizer.scanned);
	}

	/** Passes on the bytes up to `to` not yet decided. */
	private pass(to: number): void {
		this.emitted = Math.max(this.emitted, this.tokenizer.bomLength);
		if (to <= this.emitted) return;
		const before = this.ready.length;
		this.held.take(this.emitted, to, this.ready);
		this.emitted = to;
		for (let i = before; i < this.ready.length; i++) this.watchOutput(this.ready[i]);
	}

	private leaveOut(record: CsvRecord): void {
		this.pass(record.start);
		this.emitted = record.end;
	}

	/** Feeds the uploaded bytes to a line break guess until it settles: leaving rows out must not change it. */
	private watchOutput(bytes: Buffer): void {
		if (this.outputChecked) return;
		this.outputGuess.write(bytes);
		this.checkOutputNewline(false);
	}

	private checkOutputNewline(atEnd: boolean): void {
		if (this.outputChecked) return;
		if (atEnd) this.outputGuess.end();
		const output = this.outputGuess.newline;
		if (output === undefined) return;
		this.outputChecked = true;
		const input = this.tokenizer.newline;
		if (input === undefined || output === input) return;
		throw new InputError(
			`${this.label}: leaving out rows would change how the file's line breaks are read (${NEWLINE_NAMES[input]} with them, ${NEWLINE_NAMES[output]} without), and with them every row`,
			{ description: 'The file mixes kinds of line breaks. Save it with one kind (CRLF or LF), or fix the rows instead of skipping them.' },
		);
	}

	private onRecord(record: CsvRecord): void {
		if (record.row === 0) return this.onHeader(record);
		const row = record.row;
		this.dataRows = row;
		const id = this.id;
		const problem = rowProblem(record, this.header!.length, id);
		if (problem?.kind === 'unterminated') {
			// papaparse would read the rest of the file as one field: refused, never skipped.
			throw new InputError(`${this.label}: data row ${row} opens a quoted field (") that is never closed before the end of the file`, {
				row,
				description: 'Inside a quoted field a quote is written twice (""). Fix the file and run again.',
			});
		}
		// A CRLF line in a file read as LF keeps its CR as data: a "\r" row, or a last field ending in it.
		const mixed = record.endsWithCr
			? '. The row ends with CR LF while the file\'s first line break is LF alone: the line breaks are mixed, and the CR is read as data'
			: '';
		if (problem?.kind === 'identifier') {
			const reason = problem.reason + mixed;
			return this.invalid(record, `${this.label}, data row ${row}, column "${this.identifier}": ${reason}`, reason, this.identifier);
		}
		if (problem?.kind === 'fields') {
			const columns = this.header!.length;
			const found = problem.found;
			const reason =
				`found ${found} field${found === 1 ? '' : 's'}, expected ${columns} (one per column of the header); ` +
				(found < columns ? `column "${this.header![found]}" has no value` : `field ${columns + 1} has no column`) +
				mixed;
			return this.invalid(record, `${this.label}, data row ${row}: ${reason}`, reason, found < columns ? this.header![found] : undefined);
		}
		if (this.repeats.isRepeat(row, id)) return this.duplicate(record, id.text);
		this.kept++;
		if (this.peeking && !this.peekPaused) {
			this.peekPaused = true;
			this.tokenizer.pause();
		}
	}

	private onHeader(record: CsvRecord): void {
		const fields = record.fields();
		if (!fields) {
			throw new InputError(`${this.label}: the header row is longer than ${HEADER_LIMIT >> 20} MiB; is a quote (") in it never closed?`, { row: 0 });
		}
		if (fields[0].startsWith('\ufeff')) {
			// Two BOMs: the node drops the first, and papaparse would drop the second from the uploaded file.
			throw new InputError(`${this.label} starts with two byte order marks (BOM): save it as UTF-8 with one BOM or none`, { row: 0 });
		}
		const header = fields.map((name) => name.trim());
		this.header = header;
		this.headerEnd = record.end;
		const identifier = this.identifier;
		const index = header.indexOf(identifier);
		if (index === -1) {
			throw new InputError(
				`${this.label} has no column "${identifier}" (the identifier column) in its header row; the columns found are: ${header.join(', ')}${headerHints(header, identifier)}`,
				{ field: identifier, description: 'Set "Identifier Column" to one of the file\'s columns, spelled as in its header row.' },
			);
		}
		if (index !== 0) {
			throw new InputError(
				`${this.label}: the identifier column "${identifier}" is column ${index + 1}, but Whilter expects the identifier in the first column (for now); the columns found are: ${header.join(', ')}`,
				{
					field: identifier,
					description: 'Move the identifier column to the front of the file, or read the file into items (Extract from File) and use Input: Items.',
				},
			);
		}
		this.identifierIndex = index;
	}

	private invalid(record: CsvRecord, message: string, reason: string, field: string | undefined): void {
		if (!this.options.skipInvalidRows) {
			throw new InputError(message, {
				row: record.row,
				...(field === undefined ? {} : { field }),
				description:
					'Every row needs its identifier, and one field per column of the header (a value holding a comma or a line break is written in double quotes: "Pune, MH"). Fix the file, or turn on "Skip Invalid Rows" to leave such rows out.',
			});
		}
		this.leaveOut(record);
		const { skipped } = this.leftOut;
		skipped.count++;
		if (skipped.first.length < REPORT_LIMIT) skipped.first.push({ row: record.row, reason });
	}

	private duplicate(record: CsvRecord, id: string): void {
		if (this.options.duplicateIdentifiers === 'keepFirst') {
			this.leaveOut(record);
			const dropped = this.leftOut.duplicatesDropped;
			dropped.count++;
			if (dropped.first.length < REPORT_LIMIT) dropped.first.push({ row: record.row, identifier: id });
			return;
		}
		throw new InputError(
			`${this.label}: data row ${record.row} has the same identifier as an earlier data row: column "${this.identifier}" is "${id}" (compared as trimmed text)`,
			{ row: record.row, field: this.identifier, description: DUPLICATE_DESCRIPTION },
		);
	}

	/**
	 * The first logged row whose identifier an earlier row has, named with that row. A hash is not the
	 * identifier: each reported row is confirmed against the file (read again up to it), and one that
	 * merely shares a hash is let through.
	 */
	private async refuseLoggedRepeat(): Promise<void> {
		if (!this.log || !this.reopen) return;
		const repeated = await this.log.repeats(this.dataRows);
		for (const row of repeated.rows()) {
			const id = await identifierOfRow(await this.reopen(), row);
			const earlier = id === undefined ? undefined : await findEarlierRow(await this.reopen(), { row, id });
			if (earlier === undefined) continue;
			throw new InputError(
				`${this.label}: data rows ${earlier} and ${row} have the same identifier: column "${this.identifier}" is "${id}" in both (compared as trimmed text)`,
				{ row, field: this.identifier, description: DUPLICATE_DESCRIPTION },
			);
		}
	}
}

const DUPLICATE_DESCRIPTION = 'Whilter needs one row per customer. Remove the duplicates, or set the "Duplicate Identifiers" option to "Keep First".';

/** Data row `row`'s identifier (trimmed), reading the file from its start. */
async function identifierOfRow(source: Readable, row: number): Promise<string | undefined> {
	const id = new Identifier();
	let found: string | undefined;
	let past = false;
	await readInTurns(
		source,
		(record) => {
			if (record.row < row || past) return;
			past = true;
			if (id.read(record) === undefined) found = id.text;
		},
		{ done: () => past },
	);
	return found;
}

/** The first data row before `row` whose identifier (trimmed) is `id`, reading the file from its start. */
async function findEarlierRow(source: Readable, suspect: { row: number; id: string }): Promise<number | undefined> {
	let found: number | undefined;
	let past = false;
	await readInTurns(
		source,
		(record) => {
			if (record.row === 0 || found !== undefined || past) return;
			if (record.row >= suspect.row) past = true;
			else if ((record.firstField() ?? '').trim() === suspect.id) found = record.row;
		},
		{ done: () => found !== undefined || past },
	);
	return found;
}

/**
 * Opens a CSV file from n8n's binary storage: reads far enough to check the header and the first data
 * row, scans the file for repeated identifiers when it can be opened again (repeatedRows.ts), then
 * hands back the file as a stream (at the reader's pace) that checks every row as it passes:
 * an empty or repeated identifier, or a row with another number of fields than the header, fails the
 * stream (so the upload) or, as the options say, leaves the row out. The rows are found as papaparse
 * finds them (nodes/Whilter/batch/csvTokenizer.ts), so the count is the count Whilter reads.
 */
export async function openCsvFile(source: CsvSource, options: CsvFileOptions): Promise<CsvFile> {
	const label = options.fileLabel ?? 'The CSV file';
	const identifier = options.identifier.trim();
	const open = typeof source === 'function' ? async () => await source() : undefined;
	if (!identifier) {
		// Nothing to read the file for: release it, as every other refusal here does.
		if (!open) (source as Readable).destroy();
		throw new InputError('The "Identifier Column" parameter is empty: enter the name of the file\'s first column (e.g. phone)', {
			parameter: 'identifierColumn',
		});
	}
	const stream = open ? await open() : (source as Readable);
	const reader = new CsvFileReader(label, identifier, options, open);
	const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<unknown>;
	let ended = false;
	let peeked = false;
	// Slices of the last chunk the peek did not need: a file held in memory is one chunk, and read
	// whole before the body is read it would come out in one piece, a copy of the whole file.
	let unread: Buffer[] = [];
	try {
		while (!reader.peekDone) {
			const next = await iterator.next();
			if (next.done) {
				ended = true;
				await reader.end();
				break;
			}
			const parts = slices(toBuffer(next.value));
			for (const [k, slice] of parts.entries()) {
				if (reader.peekDone) {
					unread = parts.slice(k);
					break;
				}
				if (k > 0) await giveTurn();
				await reader.write(slice);
			}
		}
		// Keep First decides each row as it passes: with rows left to read, the file is scanned for repeated
		// identifiers first, in memory that does not grow with the file (holding the identifiers seen
		// would take 9 to 17 MB a million rows).
		if (open && !ended && options.duplicateIdentifiers === 'keepFirst') reader.checkRepeatsWith(await findRepeatedRows(await open(), options.repeatLogs));
		peeked = true;
	} finally {
		// Refused: stop reading the file (return() destroys the source stream).
		if (!peeked) await iterator.return?.();
	}

	/** Writes slices a turn of the event loop apart (and one before the first with `turnFirst`), passing on what each decides. */
	async function* writeSlices(parts: Buffer[], turnFirst: boolean): AsyncGenerator<Buffer> {
		for (const [k, slice] of parts.entries()) {
			if (k > 0 || turnFirst) await giveTurn();
			await reader.write(slice);
			const out = reader.takeReady();
			if (out) yield out;
		}
	}

	async function* read(): AsyncGenerator<Buffer> {
		let done = ended;
		// The upload starts reading as it sets itself up (its S3 client, the check that the key is free):
		// a turn between that and the first rows keeps the two from holding the event loop as one block.
		await giveTurn();
		try {
			let out = reader.takeReady();
			if (out) yield out;
			if (!ended) {
				await reader.resumeAfterPeek();
				out = reader.takeReady();
				if (out) yield out;
				yield* writeSlices(unread.splice(0), true);
			}
			while (!done) {
				const next = await iterator.next();
				if (next.done) {
					done = true;
					await reader.end();
				} else {
					yield* writeSlices(slices(toBuffer(next.value)), false);
				}
				out = reader.takeReady();
				if (out) yield out;
			}
		} finally {
			// The reader stopped early (an upload failed, a row was refused): stop reading the file too.
			if (!done) await iterator.return?.();
			await reader.close();
		}
	}

	const body = Readable.from(read(), { objectMode: false, highWaterMark: 1 << 20 });
	return {
		header: reader.header ?? [],
		identifierIndex: reader.identifierIndex,
		body,
		rowCount: () => reader.kept,
		leftOut: () => reader.leftOut,
		repeatCheckPeakBytes: () => reader.repeatCheckPeakBytes,
	};
}
