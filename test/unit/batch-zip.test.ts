import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';

import { ZipFile } from 'yazl';

import { zipSingleEntry } from '../../nodes/Whilter/batch/zip';
import { readZipEntries } from '../servers/zipEntries';

async function collect(stream: Readable): Promise<Buffer> {
	const chunks: Buffer[] = [];
	await pipeline(
		stream,
		new Writable({
			write(chunk: Buffer, _encoding, callback) {
				chunks.push(chunk);
				callback();
			},
		}),
	);
	return Buffer.concat(chunks);
}

/** The ZIP yazl 3 makes of the same chunks: the reference the batch files were made with before. */
async function yazlZip(chunks: Buffer[], name: string, mtime: Date, forceZip64 = false): Promise<Buffer> {
	const zip = new ZipFile();
	zip.addReadStream(Readable.from(chunks), name, { compress: true, mtime, forceZip64Format: forceZip64 });
	zip.end({ forceZip64Format: forceZip64, comment: '' });
	return await collect(zip.outputStream as Readable);
}

function csvChunks(rows: number, rowsPerChunk: number): Buffer[] {
	const chunks: Buffer[] = [];
	for (let start = 0; start < rows; start += rowsPerChunk) {
		let text = start === 0 ? 'phone,name,city,offer\r\n' : '';
		for (let i = start; i < Math.min(rows, start + rowsPerChunk); i++) text += `+91${9_000_000_000 + i},Customer ${i},शहर ${i % 97},"offer ${i % 13}, limited"\r\n`;
		chunks.push(Buffer.from(text, 'utf8'));
	}
	return chunks;
}

describe('zipSingleEntry', () => {
	const mtime = new Date(2026, 2, 14, 9, 26, 53);

	it.each([
		['an empty entry', [] as Buffer[]],
		['one small chunk', csvChunks(3, 10)],
		['many chunks (about 5 MB)', csvChunks(60_000, 2_000)],
	])('writes %s byte for byte as yazl does, with a CRC the reader accepts', async (_label, chunks) => {
		const name = 'T-1_campaign_whilter_2026-03-14.csv';
		const ours = await collect(zipSingleEntry(Readable.from(chunks), name, mtime));
		expect(ours.equals(await yazlZip(chunks, name, mtime))).toBe(true);
		const [entry] = await readZipEntries(ours);
		expect(entry.name).toBe(name);
		expect(entry.text).toBe(Buffer.concat(chunks).toString('utf8'));
		// The central directory's CRC-32 (offset 16 of its record) is the data's.
		const central = ours.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
		expect(ours.readUInt32LE(central + 16)).toBe(crc32(Buffer.concat(chunks)));
	});

	it('writes the zip64 records (used past 4 GiB) as yazl does', async () => {
		const chunks = csvChunks(5_000, 1_000);
		const name = 'T-2_नाम.csv';
		const ours = await collect(zipSingleEntry(Readable.from(chunks), name, mtime, { forceZip64: true }));
		expect(ours.equals(await yazlZip(chunks, name, mtime, true))).toBe(true);
		const [entry] = await readZipEntries(ours);
		expect(entry.text).toBe(Buffer.concat(chunks).toString('utf8'));
	});

	it('fails the ZIP when its entry fails', async () => {
		const entry = new Readable({ read() {} });
		const zip = zipSingleEntry(entry, 'x.csv', mtime);
		const done = collect(zip);
		entry.push(Buffer.from('phone\r\n1\r\n'));
		entry.destroy(new Error('Item 7, field "phone": the identifier is empty'));
		await expect(done).rejects.toThrow('Item 7');
	});
});
