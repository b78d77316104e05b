/**
 * Which data rows of a CSV file repeat an identifier of an earlier row, in memory that does not grow
 * with the file. Holding every identifier's hash while the file streams takes 9 to 17 bytes an
 * identifier (about 100 MB at 10 million rows, in the process that serves the rest of n8n). Instead
 * each usable row's hash goes, with its row number, to one of 64 logs by 6 bits of the hash (in memory
 * for up to MEMORY_ENTRIES rows, in temporary files past that); once the file is read, each log alone
 * is checked in a table of its own hashes, a sixty-fourth of the file's, and the rows whose hash came
 * earlier are marked in a bit per row (1.2 MB at 10 million rows).
 *
 * The logs are written while the file streams when a repeat refuses the file (it is refused at its
 * end), or by reading the file once ahead when a repeated row must be left out as it passes.
 *
 * The hashes and their 54 bits are those of identifierSet.ts: two different identifiers share one
 * with probability about n²/2^55, and a caller that must be sure checks a reported row against the
 * identifiers themselves.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

import { turnClock } from '../../shared/turns';
import { Identifier, readInTurns, rowProblem } from './csvRows';
import { HashTable, IdentifierSet, slotsFor, TABLES, tableEntryOf } from './identifierSet';

/** Whether a data row's identifier came in an earlier usable row. */
export interface RepeatCheck {
	isRepeat(row: number, id: Identifier): boolean;
	/** The most memory the check's tables and logs held at once, in bytes. */
	readonly peakBytes: number;
}

/** The check of a file read once: the identifiers seen so far, in memory (see identifierSet.ts). */
export class IdentifiersSeen implements RepeatCheck {
	private readonly seen = new IdentifierSet();

	get peakBytes(): number {
		// The tables only grow (a doubled one replaces the old).
		return this.seen.bytes;
	}

	isRepeat(_row: number, id: Identifier): boolean {
		return !this.seen.add(id.bytes, id.start, id.end);
	}
}

/** The rows a scan found repeating an earlier identifier. */
export class RepeatedRows implements RepeatCheck {
	constructor(
		private readonly marks: Uint8Array,
		/** How many rows repeat an earlier identifier. */
		readonly count: number,
		/** The most memory the scan and the check held at once. */
		readonly peakBytes: number,
	) {}

	isRepeat(row: number): boolean {
		return (this.marks[row >>> 3] & (1 << (row & 7))) !== 0;
	}

	/** The rows, in order. */
	*rows(): Generator<number> {
		const marks = this.marks;
		for (let at = 0; at < marks.length; at++) {
			if (marks[at] === 0) continue;
			for (let bit = 0; bit < 8; bit++) if (marks[at] & (1 << bit)) yield at * 8 + bit;
		}
	}
}

/**
 * The hashes of the usable rows' identifiers, logged as the file is read (isRepeat says no to every
 * row); once it is read, repeats() tells which rows repeat an earlier identifier.
 */
export class IdentifierLog implements RepeatCheck {
	private readonly logs: HashLogs;
	private readonly entry = new Uint32Array(3);
	private checkedPeak = 0;

	get peakBytes(): number {
		return Math.max(this.logs.bytes, this.checkedPeak);
	}

	constructor(where: LogPlace = {}) {
		this.logs = new HashLogs(where.memoryEntries ?? MEMORY_ENTRIES, where.folder ?? tmpdir());
	}

	isRepeat(row: number, id: Identifier): boolean {
		const entry = this.entry;
		tableEntryOf(id.bytes, id.start, id.end, entry);
		this.logs.add(entry[0], entry[1], entry[2], row);
		return false;
	}

	/** Moves the logs to temporary files when they hold more than the memory allows: called between slices of the file. */
	async spill(): Promise<void> {
		await this.logs.spill();
	}

	/** The rows that repeat an earlier identifier, up to `lastRow`; the temporary files are removed. */
	async repeats(lastRow: number): Promise<RepeatedRows> {
		try {
			const repeated = await markRepeats(this.logs, lastRow);
			this.checkedPeak = repeated.peakBytes;
			return repeated;
		} finally {
			await this.close();
		}
	}

	async close(): Promise<void> {
		await this.logs.close();
	}
}

/** Entries (hash, more hash, row: three 32-bit words) held in memory before the logs move to temporary files: 3 MiB. */
const MEMORY_ENTRIES = 1 << 18;
/** Entries a log gathers before they are written together (12 KiB). */
const CHUNK_ENTRIES = 1024;
const WORDS = 3;
/** A log is read back from its file in pieces of this many entries (about 1 MiB). */
const READ_ENTRIES = 87_381;

/** Where the logs are kept. */
export interface LogPlace {
	/** Rows whose hashes are held in memory before temporary files are used (default MEMORY_ENTRIES). */
	memoryEntries?: number;
	/** The folder for the temporary files (default: the system's, os.tmpdir()). */
	folder?: string;
}

/** The 64 logs of (hash, row) entries, each in row order. */
class HashLogs {
	/** Entries per log, in all. */
	readonly counts = new Float64Array(TABLES);
	/** Full chunks of each log not yet written to its file. */
	private readonly full: Uint32Array[][] = Array.from({ length: TABLES }, () => []);
	private readonly filling: Array<Uint32Array | undefined> = new Array(TABLES);
	private readonly filled = new Int32Array(TABLES);
	/** Written chunks, filled again: a file of millions of rows makes no garbage here. */
	private readonly spare: Uint32Array[] = [];
	private held = 0;
	private chunks = 0;
	private files: { dir: string; handles: FileHandle[]; written: Float64Array } | undefined;

	constructor(
		private readonly memoryEntries: number,
		private readonly folder: string,
	) {}

	add(table: number, high: number, stored: number, row: number): void {
		let chunk = this.filling[table];
		if (!chunk) chunk = this.filling[table] = this.spare.pop() ?? this.newChunk();
		const at = this.filled[table] * WORDS;
		chunk[at] = high;
		chunk[at + 1] = stored;
		chunk[at + 2] = row;
		this.counts[table]++;
		if (++this.filled[table] === CHUNK_ENTRIES) {
			this.full[table].push(chunk);
			this.filling[table] = undefined;
			this.filled[table] = 0;
			this.held += CHUNK_ENTRIES;
		}
	}

	private newChunk(): Uint32Array {
		this.chunks++;
		return new Uint32Array(CHUNK_ENTRIES * WORDS);
	}

	/** Bytes of the chunks in memory (filled, filling, or written and kept for reuse). */
	get bytes(): number {
		return this.chunks * CHUNK_ENTRIES * WORDS * 4;
	}

	/** Writes the full chunks to the logs' files once they hold more than the memory allows. */
	async spill(): Promise<void> {
		if (this.held <= this.memoryEntries) return;
		const files = this.files ?? (this.files = await openLogFiles(this.folder));
		for (let table = 0; table < TABLES; table++) {
			const chunks = this.full[table];
			if (!chunks.length) continue;
			this.full[table] = [];
			const bytes = chunks.length * CHUNK_ENTRIES * WORDS * 4;
			const { bytesWritten } = await files.handles[table].writev(chunks).catch((error: Error) => {
				throw new Error(`The duplicate check could not write its temporary files in ${files.dir} (${files.written[table] + bytes} bytes for this one): ${error.message}`);
			});
			if (bytesWritten !== bytes) throw new Error(`The duplicate check wrote ${bytesWritten} of ${bytes} bytes to its temporary files in ${files.dir}`);
			files.written[table] += bytes;
			for (const written of chunks) this.spare.push(written);
		}
		this.held = 0;
	}

	/** Whether the logs went to temporary files. */
	get spilled(): boolean {
		return this.files !== undefined;
	}

	/** A log's entries in row order: from its file, then the chunks still in memory. */
	async *entriesOf(table: number): AsyncGenerator<Uint32Array> {
		const files = this.files;
		if (files && files.written[table] > 0) {
			const piece = new Uint32Array(READ_ENTRIES * WORDS);
			const bytes = Buffer.from(piece.buffer);
			for (let position = 0; position < files.written[table]; ) {
				const { bytesRead } = await files.handles[table].read(bytes, 0, Math.min(bytes.length, files.written[table] - position), position);
				if (bytesRead === 0 || bytesRead % (WORDS * 4) !== 0) throw new Error(`read ${bytesRead} bytes at ${position} of a log in ${files.dir}`);
				position += bytesRead;
				yield piece.subarray(0, bytesRead / 4);
			}
		}
		yield* this.full[table];
		const filling = this.filling[table];
		if (filling) yield filling.subarray(0, this.filled[table] * WORDS);
	}

	async close(): Promise<void> {
		const files = this.files;
		if (!files) return;
		this.files = undefined;
		await Promise.allSettled(files.handles.map(async (handle) => await handle.close()));
		await rm(files.dir, { recursive: true, force: true });
	}
}

async function openLogFiles(folder: string): Promise<{ dir: string; handles: FileHandle[]; written: Float64Array }> {
	const dir = await mkdtemp(join(folder, 'whilter-identifiers-')).catch((error: Error) => {
		throw new Error(`The duplicate check could not make its temporary folder in ${folder}: ${error.message}`);
	});
	const handles: FileHandle[] = [];
	let opened = false;
	try {
		for (let table = 0; table < TABLES; table++) {
			const path = join(dir, String(table));
			handles.push(
				await open(path, 'w+').catch((error: Error) => {
					throw new Error(`The duplicate check could not open its temporary file ${path}: ${error.message}`);
				}),
			);
		}
		opened = true;
	} finally {
		if (!opened) {
			await Promise.allSettled(handles.map(async (handle) => await handle.close()));
			await rm(dir, { recursive: true, force: true });
		}
	}
	return { dir, handles, written: new Float64Array(TABLES) };
}

/**
 * Reads the whole file (then closes it) and tells which data rows repeat an earlier usable row's
 * identifier. Rows the stream would refuse or skip take no part, as in the check while streaming.
 */
export async function findRepeatedRows(source: Readable, where: LogPlace = {}): Promise<RepeatedRows> {
	const log = new IdentifierLog(where);
	const id = new Identifier();
	let columns = -1;
	let lastRow = 0;
	try {
		await readInTurns(
			source,
			(record) => {
				if (record.row === 0) {
					columns = record.fieldCount;
					return;
				}
				lastRow = record.row;
				if (rowProblem(record, columns, id) === undefined) log.isRepeat(record.row, id);
			},
			{ afterSlice: async () => await log.spill() },
		);
		return await log.repeats(lastRow);
	} finally {
		await log.close();
	}
}

/** Checks each log in a table of its own hashes, in row order: a hash already there marks its row. */
async function markRepeats(logs: HashLogs, lastRow: number): Promise<RepeatedRows> {
	const marks = new Uint8Array((lastRow >>> 3) + 1);
	let count = 0;
	let peakBytes = logs.bytes;
	// A log read back from its file comes in pieces of READ_ENTRIES entries.
	const pieceBytes = logs.spilled ? READ_ENTRIES * WORDS * 4 : 0;
	const clock = turnClock();
	let step = 0;
	for (let table = 0; table < TABLES; table++) {
		if (logs.counts[table] === 0) continue;
		const seen = new HashTable(slotsFor(logs.counts[table]));
		peakBytes = Math.max(peakBytes, logs.bytes + marks.byteLength + seen.bytes + pieceBytes);
		for await (const entries of logs.entriesOf(table)) {
			for (let i = 0; i < entries.length; i += WORDS) {
				if (!seen.add(entries[i], entries[i + 1])) {
					const row = entries[i + 2];
					marks[row >>> 3] |= 1 << (row & 7);
					count++;
				}
				if (clock.dueAt(step++)) await clock.next();
			}
		}
	}
	return new RepeatedRows(marks, count, peakBytes);
}
