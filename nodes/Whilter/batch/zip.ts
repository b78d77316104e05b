import { PassThrough, Transform } from 'node:stream';
import type { Readable, TransformCallback } from 'node:stream';
import { crc32, createDeflateRaw } from 'node:zlib';

/**
 * The records of a one-entry ZIP, byte for byte as yazl 3 writes them for a streamed, deflated entry
 * (local header with a data descriptor, UTF-8 name, Info-ZIP timestamp in the central directory,
 * zip64 records past 4 GiB). Written here rather than by yazl because yazl checksums in JavaScript
 * (buffer-crc32, about 2 ms per MiB on the main thread, 1.4 s over a 10M-row file), where Node's
 * zlib.crc32 is native (about 0.15 ms per MiB).
 */

const UTF8_NAME = 1 << 11;
const SIZES_IN_DESCRIPTOR = 1 << 3;
const FLAGS = UTF8_NAME | SIZES_IN_DESCRIPTOR;
const DEFLATE = 8;
const VERSION_UTF8 = 20;
const VERSION_ZIP64 = 45;
// Unix, spec 6.3 (as yazl).
const VERSION_MADE_BY = (3 << 8) | 63;
// A regular file, rw-rw-r--.
const EXTERNAL_ATTRIBUTES = (0o100664 << 16) >>> 0;
const ZIP64_LIMIT = 0xfffffffe;

/** DOS date and time, in local time as the format has it (clamped to 1980–2107). */
function dosDateTime(when: Date): { date: number; time: number } {
	const min = new Date(1980, 0, 1);
	const max = new Date(2107, 11, 31, 23, 59, 58);
	const at = when < min ? min : when > max ? max : when;
	return {
		date: (at.getDate() & 0x1f) | (((at.getMonth() + 1) & 0xf) << 5) | (((at.getFullYear() - 1980) & 0x7f) << 9),
		time: Math.floor(at.getSeconds() / 2) | ((at.getMinutes() & 0x3f) << 5) | ((at.getHours() & 0x1f) << 11),
	};
}

function writeUInt64(buffer: Buffer, value: number, offset: number): void {
	buffer.writeUInt32LE(value % 0x100000000, offset);
	buffer.writeUInt32LE(Math.floor(value / 0x100000000), offset + 4);
}

interface EntryFacts {
	name: Buffer;
	modified: Date;
	crc: number;
	size: number;
	compressed: number;
	/** Zip64 records even below 4 GiB (for tests of the zip64 layout). */
	forceZip64?: boolean;
}

export function localHeader(name: Buffer, modified: Date): Buffer {
	const { date, time } = dosDateTime(modified);
	const header = Buffer.alloc(30);
	header.writeUInt32LE(0x04034b50, 0);
	header.writeUInt16LE(VERSION_UTF8, 4);
	header.writeUInt16LE(FLAGS, 6);
	header.writeUInt16LE(DEFLATE, 8);
	header.writeUInt16LE(time, 10);
	header.writeUInt16LE(date, 12);
	// CRC and sizes are 0 here: they follow the data, in the data descriptor.
	header.writeUInt16LE(name.length, 26);
	return Buffer.concat([header, name]);
}

/** Data descriptor, central directory and end records: everything after the deflated data. */
export function zipTrailer(entry: EntryFacts): Buffer {
	const zip64 = entry.forceZip64 === true || entry.size > ZIP64_LIMIT || entry.compressed > ZIP64_LIMIT;
	const { date, time } = dosDateTime(entry.modified);

	const descriptor = Buffer.alloc(zip64 ? 24 : 16);
	descriptor.writeUInt32LE(0x08074b50, 0);
	descriptor.writeUInt32LE(entry.crc, 4);
	if (zip64) {
		writeUInt64(descriptor, entry.compressed, 8);
		writeUInt64(descriptor, entry.size, 16);
	} else {
		descriptor.writeUInt32LE(entry.compressed, 8);
		descriptor.writeUInt32LE(entry.size, 12);
	}

	// Info-ZIP's universal timestamp: modification time in UTC seconds (the atime flag set as Info-ZIP does).
	const timestamp = Buffer.alloc(9);
	timestamp.writeUInt16LE(0x5455, 0);
	timestamp.writeUInt16LE(5, 2);
	timestamp.writeUInt8(0b11, 4);
	timestamp.writeInt32LE(Math.min(0x7fffffff, Math.max(-0x80000000, Math.floor(entry.modified.getTime() / 1000))), 5);
	let sizes = Buffer.alloc(0);
	if (zip64) {
		sizes = Buffer.alloc(28);
		sizes.writeUInt16LE(0x0001, 0);
		sizes.writeUInt16LE(24, 2);
		writeUInt64(sizes, entry.size, 4);
		writeUInt64(sizes, entry.compressed, 12);
		// The one entry's local header is at offset 0.
		writeUInt64(sizes, 0, 20);
	}
	const central = Buffer.alloc(46);
	central.writeUInt32LE(0x02014b50, 0);
	central.writeUInt16LE(VERSION_MADE_BY, 4);
	central.writeUInt16LE(zip64 ? VERSION_ZIP64 : VERSION_UTF8, 6);
	central.writeUInt16LE(FLAGS, 8);
	central.writeUInt16LE(DEFLATE, 10);
	central.writeUInt16LE(time, 12);
	central.writeUInt16LE(date, 14);
	central.writeUInt32LE(entry.crc, 16);
	central.writeUInt32LE(zip64 ? 0xffffffff : entry.compressed, 20);
	central.writeUInt32LE(zip64 ? 0xffffffff : entry.size, 24);
	central.writeUInt16LE(entry.name.length, 28);
	central.writeUInt16LE(timestamp.length + sizes.length, 30);
	central.writeUInt32LE(EXTERNAL_ATTRIBUTES, 38);
	central.writeUInt32LE(zip64 ? 0xffffffff : 0, 42);
	const centralRecord = Buffer.concat([central, entry.name, timestamp, sizes]);

	const centralStart = 30 + entry.name.length + entry.compressed + descriptor.length;
	const centralSize = centralRecord.length;
	const zip64End = entry.forceZip64 === true || centralStart >= 0xffffffff;
	const end = Buffer.alloc(22);
	end.writeUInt32LE(0x06054b50, 0);
	end.writeUInt16LE(zip64End ? 0xffff : 1, 8);
	end.writeUInt16LE(zip64End ? 0xffff : 1, 10);
	end.writeUInt32LE(zip64End ? 0xffffffff : centralSize, 12);
	end.writeUInt32LE(zip64End ? 0xffffffff : centralStart, 16);
	if (!zip64End) return Buffer.concat([descriptor, centralRecord, end]);

	const record = Buffer.alloc(56);
	record.writeUInt32LE(0x06064b50, 0);
	writeUInt64(record, 56 - 12, 4);
	record.writeUInt16LE(VERSION_MADE_BY, 12);
	record.writeUInt16LE(VERSION_ZIP64, 14);
	writeUInt64(record, 1, 24);
	writeUInt64(record, 1, 32);
	writeUInt64(record, centralSize, 40);
	writeUInt64(record, centralStart, 48);
	const locator = Buffer.alloc(20);
	locator.writeUInt32LE(0x07064b50, 0);
	writeUInt64(locator, centralStart + centralSize, 8);
	locator.writeUInt32LE(1, 16);
	return Buffer.concat([descriptor, centralRecord, record, locator, end]);
}

/**
 * A ZIP holding one deflated entry, produced while the entry's bytes stream in: nothing is held
 * whole, and the records switch to zip64 by themselves when the entry passes 4 GiB. Deflating runs
 * in Node's zlib off the main thread; the checksum is zlib's native CRC-32.
 */
export function zipSingleEntry(entry: Readable, entryName: string, modified = new Date(), options: { forceZip64?: boolean } = {}): Readable {
	const name = Buffer.from(entryName.replace(/\\/g, '/'), 'utf8');
	let crc = 0;
	let size = 0;
	let compressed = 0;
	const measure = new Transform({
		transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
			crc = crc32(chunk, crc);
			size += chunk.length;
			callback(null, chunk);
		},
	});
	const count = new Transform({
		transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
			compressed += chunk.length;
			callback(null, chunk);
		},
	});
	const output = new PassThrough();
	output.write(localHeader(name, modified));
	count.once('end', () => output.end(zipTrailer({ name, modified, crc, size, compressed, forceZip64: options.forceZip64 })));
	entry.pipe(measure).pipe(createDeflateRaw({ level: 6 })).pipe(count).pipe(output, { end: false });
	// pipe() passes no errors on: a bad row found while writing must fail the ZIP, and so the
	// upload, rather than leave it waiting for bytes that never come.
	entry.once('error', (error) => output.destroy(error));
	return output;
}
