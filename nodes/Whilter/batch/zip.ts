import type { Readable } from 'node:stream';
import { ZipFile } from 'yazl';

/**
 * A ZIP holding one deflated entry, produced while the entry's bytes stream in: nothing is held
 * whole, and yazl switches to zip64 records by itself when the entry passes 4 GiB. yazl deflates
 * with Node's zlib, off the main thread.
 */
export function zipSingleEntry(entry: Readable, entryName: string, modified = new Date()): Readable {
	const zip = new ZipFile();
	zip.addReadStream(entry, entryName, { compress: true, mtime: modified });
	zip.end();
	const output = zip.outputStream as Readable;
	// yazl does not watch its source for errors: a bad row found while writing must fail the ZIP,
	// and so the upload, rather than leave it waiting for bytes that never come.
	entry.once('error', (error) => output.destroy(error));
	return output;
}
