import { once } from 'node:events';
import { Readable } from 'node:stream';
import { createGunzip, createInflateRaw } from 'node:zlib';

/**
 * A task's output file as it is stored: a plain CSV, a ZIP holding one CSV (the form the input takes),
 * or a gzipped CSV. Which one is read from the first bytes, not the name or the content type, which
 * storage and CDNs often get wrong; the CSV then streams out decompressed.
 */
export type ResultEncoding = 'csv' | 'zip' | 'gzip';

/** The file is a ZIP or gzip that cannot be read: the caller adds which file it was. */
export class ResultArchiveError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'ResultArchiveError';
	}
}

const GZIP_MAGIC = [0x1f, 0x8b];
const ZIP_LOCAL_HEADER = 0x04034b50;
const ZIP_EMPTY = 0x06054b50;
const ZIP_CENTRAL_HEADER = 0x02014b50;
/** The end-of-central-directory record is 22 bytes plus a comment of at most 65,535. */
const ZIP_TAIL_BYTES = 22 + 0xffff;

export function encodingOf(head: Buffer): ResultEncoding {
	if (head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]) return 'gzip';
	if (head.length >= 4) {
		const signature = head.readUInt32LE(0);
		if (signature === ZIP_LOCAL_HEADER || signature === ZIP_EMPTY) return 'zip';
	}
	return 'csv';
}

/** Pulls bytes from a stream in exact amounts, keeping what was read past them. */
class ByteReader {
	private buffered: Buffer = Buffer.alloc(0);

	constructor(private readonly source: AsyncIterator<Buffer>) {}

	/** Up to `count` bytes: fewer only at the end of the stream. */
	async read(count: number): Promise<Buffer> {
		while (this.buffered.length < count) {
			const next = await this.source.next();
			if (next.done) break;
			this.buffered = this.buffered.length ? Buffer.concat([this.buffered, next.value]) : next.value;
		}
		const out = this.buffered.subarray(0, count);
		this.buffered = this.buffered.subarray(out.length);
		return out;
	}

	async exactly(count: number, what: string): Promise<Buffer> {
		const bytes = await this.read(count);
		if (bytes.length < count) throw new ResultArchiveError(`the ZIP ends inside ${what}`);
		return bytes;
	}

	/** The rest of the stream, what is buffered first. */
	async *rest(): AsyncGenerator<Buffer> {
		if (this.buffered.length) {
			const first = this.buffered;
			this.buffered = Buffer.alloc(0);
			yield first;
		}
		for (let next = await this.source.next(); !next.done; next = await this.source.next()) yield next.value;
	}
}

/** The last bytes of a stream, for the ZIP's central directory at its end. */
class Tail {
	private bytes: Buffer = Buffer.alloc(0);

	add(chunk: Buffer): void {
		const joined = Buffer.concat([this.bytes, chunk]);
		this.bytes = joined.length > ZIP_TAIL_BYTES * 2 ? joined.subarray(joined.length - ZIP_TAIL_BYTES * 2) : joined;
	}

	/**
	 * The number of files (directories left out) the central directory lists: counted from its records
	 * when they are in the tail, else the total of the end record. Undefined without an end record.
	 */
	files(): number | undefined {
		const b = this.bytes;
		for (let at = b.length - 22; at >= 0; at--) {
			if (b.readUInt32LE(at) !== ZIP_EMPTY) continue;
			const total = b.readUInt16LE(at + 10);
			const size = b.readUInt32LE(at + 12);
			let record = at - size;
			if (record < 0) return total;
			let files = 0;
			while (record + 46 <= at && b.readUInt32LE(record) === ZIP_CENTRAL_HEADER) {
				const nameLength = b.readUInt16LE(record + 28);
				const name = b.toString('utf8', record + 46, record + 46 + nameLength);
				if (!name.endsWith('/')) files++;
				record += 46 + nameLength + b.readUInt16LE(record + 30) + b.readUInt16LE(record + 32);
			}
			return files;
		}
		return undefined;
	}
}

interface LocalEntry {
	name: string;
	method: number;
	compressedSize: number;
	/** Bit 3: the sizes follow the data, so the data's end is known only by decompressing it. */
	sizesAfterData: boolean;
}

async function readLocalHeader(reader: ByteReader): Promise<LocalEntry | undefined> {
	const header = await reader.read(30);
	if (header.length < 4 || header.readUInt32LE(0) !== ZIP_LOCAL_HEADER) return undefined;
	if (header.length < 30) throw new ResultArchiveError('the ZIP ends inside an entry header');
	const flags = header.readUInt16LE(6);
	const method = header.readUInt16LE(8);
	let compressedSize = header.readUInt32LE(18);
	const nameLength = header.readUInt16LE(26);
	const extraLength = header.readUInt16LE(28);
	const name = (await reader.exactly(nameLength, 'an entry name')).toString('utf8');
	const extra = await reader.exactly(extraLength, 'an entry header');
	if (flags & 1) throw new ResultArchiveError(`the ZIP entry "${name}" is encrypted`);
	if (compressedSize === 0xffffffff) {
		// ZIP64: the real sizes are in the extra field with id 1 (uncompressed, then compressed).
		for (let at = 0; at + 4 <= extra.length; at += 4 + extra.readUInt16LE(at + 2)) {
			if (extra.readUInt16LE(at) === 1 && extra.readUInt16LE(at + 2) >= 16) compressedSize = Number(extra.readBigUInt64LE(at + 12));
		}
	}
	return { name, method, compressedSize, sizesAfterData: (flags & 8) !== 0 };
}

/** The entry's data decompressed; the source is then read to its end, into `tail`. */
async function* entryData(reader: ByteReader, entry: LocalEntry, tail: Tail): AsyncGenerator<Buffer> {
	if (entry.method === 0) {
		if (entry.sizesAfterData) {
			throw new ResultArchiveError(`the ZIP entry "${entry.name}" is stored without its size: it cannot be read as it arrives`);
		}
		for (let left = entry.compressedSize; left > 0; ) {
			const bytes = await reader.read(Math.min(left, 64 * 1024));
			if (!bytes.length) throw new ResultArchiveError(`the ZIP ends inside the entry "${entry.name}"`);
			left -= bytes.length;
			yield bytes;
		}
		for await (const chunk of reader.rest()) tail.add(chunk);
		return;
	}
	if (entry.method !== 8) throw new ResultArchiveError(`the ZIP entry "${entry.name}" uses compression method ${entry.method} (only stored and deflate are read)`);
	// Deflate ends itself: what follows the entry (sizes, central directory) is ignored by the inflater
	// and kept in the tail, so the same path reads entries with and without sizes in their header.
	const inflater = createInflateRaw();
	let inflated = false;
	const ended = once(inflater, 'end').then(() => {
		inflated = true;
	});
	ended.catch(() => undefined);
	const pump = (async () => {
		for await (const chunk of reader.rest()) {
			tail.add(chunk);
			if (inflated || inflater.destroyed) continue;
			if (!inflater.write(chunk)) await Promise.race([once(inflater, 'drain'), ended]);
		}
		if (!inflated && !inflater.destroyed) inflater.end();
	})();
	pump.catch((error: unknown) => inflater.destroy(error instanceof Error ? error : new Error(String(error))));
	try {
		for await (const chunk of inflater) yield chunk as Buffer;
		await pump;
	} finally {
		inflater.destroy();
	}
}

/**
 * The one CSV of a ZIP: its name now (the header is read before returning), its bytes as they arrive;
 * a ZIP with another file besides it is refused at its end, where the central directory says so.
 */
async function openSingleCsv(source: AsyncIterator<Buffer>): Promise<{ name: string; data: AsyncGenerator<Buffer> }> {
	const reader = new ByteReader(source);
	let entry = await readLocalHeader(reader);
	// Folder entries (a name ending in "/") hold nothing.
	while (entry?.name.endsWith('/')) {
		await reader.exactly(entry.compressedSize, `the entry "${entry.name}"`);
		entry = await readLocalHeader(reader);
	}
	if (!entry) throw new ResultArchiveError('the ZIP holds no file (expected exactly one CSV)');
	if (!entry.name.toLowerCase().endsWith('.csv')) throw new ResultArchiveError(`the ZIP's first file is "${entry.name}", not a CSV (expected exactly one CSV)`);
	const csv = entry;
	const data = (async function* () {
		const tail = new Tail();
		yield* entryData(reader, csv, tail);
		const files = tail.files();
		if (files === undefined) throw new ResultArchiveError('the ZIP has no central directory at its end (the file is cut short)');
		if (files !== 1) throw new ResultArchiveError(`the ZIP holds ${files} files (expected exactly one CSV)`);
	})();
	return { name: csv.name.split('/').pop() || csv.name, data };
}

export interface DecodedResult {
	/** The CSV text's bytes, decompressed. */
	body: Readable;
	encoding: ResultEncoding;
	/** The CSV's own name: the ZIP entry's (without folders), or the gzip file's without ".gz". */
	fileName: string;
}

/** Reads the first bytes of `source` and returns the CSV inside it as a stream; nothing is held whole. */
export async function decodeResultFile(source: Readable, fileName: string): Promise<DecodedResult> {
	const iterator = (source[Symbol.asyncIterator]() as AsyncIterator<Buffer>);
	const head = new ByteReader(iterator);
	const first = await head.read(4);
	const encoding = encodingOf(first);
	// The peeked bytes go back in front of the rest.
	const all = (async function* () {
		if (first.length) yield first;
		yield* head.rest();
	})();
	if (encoding === 'csv') return { body: Readable.from(all, { objectMode: false }), encoding, fileName };
	if (encoding === 'gzip') {
		const gunzip = createGunzip();
		const raw = Readable.from(all, { objectMode: false });
		raw.on('error', (error) => gunzip.destroy(error));
		gunzip.on('close', () => raw.destroy());
		raw.pipe(gunzip);
		return { body: gunzip, encoding, fileName: fileName.replace(/\.gz$/i, '') || 'results.csv' };
	}
	const zip = await openSingleCsv(all[Symbol.asyncIterator]());
	return { body: Readable.from(zip.data, { objectMode: false }), encoding, fileName: zip.name };
}
