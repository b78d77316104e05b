import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';

import { ZipFile } from 'yazl';

import { dropKeyOfUrl, objectUrl } from '../../nodes/Whilter/api/objectUrl';
import { canonicalKeys, parseResultCsv } from '../../nodes/Whilter/api/resultCsv';
import { decodeResultFile, encodingOf, ResultArchiveError } from '../../nodes/Whilter/api/resultEncoding';

const CSV = 'phone,name,MEDIA-URL,Error\r\n+91 1,Asha,https://m/1.mp4,\r\n+91 2,Ravi,,render failed\r\n';

/** A ZIP built by yazl: from a buffer (sizes in the header) or a stream (sizes after the data), deflated or stored. */
async function zip(entries: Array<{ name: string; text: string; stream?: boolean; compress?: boolean }>): Promise<Buffer> {
	const file = new ZipFile();
	for (const entry of entries) {
		if (entry.name.endsWith('/')) file.addEmptyDirectory(entry.name);
		else if (entry.stream) file.addReadStream(Readable.from([Buffer.from(entry.text)]), entry.name, { compress: entry.compress ?? true });
		else file.addBuffer(Buffer.from(entry.text), entry.name, { compress: entry.compress ?? true });
	}
	file.end();
	const chunks: Buffer[] = [];
	for await (const chunk of file.outputStream) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

/** The bytes in pieces of `size`, so every header and boundary is split somewhere. */
function chunked(bytes: Buffer, size: number): Readable {
	const pieces: Buffer[] = [];
	for (let at = 0; at < bytes.length; at += size) pieces.push(bytes.subarray(at, at + size));
	return Readable.from(pieces, { objectMode: false });
}

async function decodedText(bytes: Buffer, size = 7, name = 'out.bin'): Promise<{ text: string; encoding: string; fileName: string }> {
	const decoded = await decodeResultFile(chunked(bytes, size), name);
	const chunks: Buffer[] = [];
	for await (const chunk of decoded.body) chunks.push(chunk as Buffer);
	return { text: Buffer.concat(chunks).toString('utf8'), encoding: decoded.encoding, fileName: decoded.fileName };
}

describe('the results file encoding, from its first bytes', () => {
	it('tells CSV, ZIP and gzip apart by their magic numbers, not the name', () => {
		expect(encodingOf(Buffer.from('phone,'))).toBe('csv');
		expect(encodingOf(Buffer.from([0x1f, 0x8b, 8, 0]))).toBe('gzip');
		expect(encodingOf(Buffer.from([0x50, 0x4b, 3, 4]))).toBe('zip');
		expect(encodingOf(Buffer.alloc(0))).toBe('csv');
	});

	it('passes a CSV through unchanged, its name kept', async () => {
		await expect(decodedText(Buffer.from(CSV), 3, 'task.csv')).resolves.toEqual({ text: CSV, encoding: 'csv', fileName: 'task.csv' });
	});

	it('gunzips a gzipped CSV, named without .gz', async () => {
		await expect(decodedText(gzipSync(Buffer.from(CSV)), 5, 'task.csv.gz')).resolves.toEqual({ text: CSV, encoding: 'gzip', fileName: 'task.csv' });
	});

	it.each([
		['deflated, sizes in the header', { stream: false, compress: true }],
		['deflated, sizes after the data (a streamed writer)', { stream: true, compress: true }],
		['stored, sizes in the header', { stream: false, compress: false }],
	])('unzips the one CSV of a ZIP (%s), named as its entry, in 1-byte and larger pieces', async (_, how) => {
		const bytes = await zip([{ name: 'results/task-1.csv', text: CSV, ...how }]);
		for (const size of [1, 13, 1 << 20]) {
			await expect(decodedText(bytes, size)).resolves.toEqual({ text: CSV, encoding: 'zip', fileName: 'task-1.csv' });
		}
	});

	it('skips folder entries before the CSV', async () => {
		const bytes = await zip([{ name: 'results/', text: '' }, { name: 'results/task-1.csv', text: CSV }]);
		await expect(decodedText(bytes)).resolves.toMatchObject({ text: CSV, fileName: 'task-1.csv' });
	});

	it.each([
		['a second file after the CSV', [{ name: 'a.csv', text: CSV }, { name: 'b.csv', text: CSV }], /the ZIP holds 2 files \(expected exactly one CSV\)/],
		['a first file that is not a CSV', [{ name: 'readme.txt', text: 'hi' }, { name: 'a.csv', text: CSV }], /the ZIP's first file is "readme.txt", not a CSV/],
		['no file at all', [], /the ZIP holds no file/],
	])('refuses a ZIP with %s', async (_, entries, message) => {
		const bytes = await zip(entries);
		const error = await decodedText(bytes).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(ResultArchiveError);
		expect((error as Error).message).toMatch(message);
	});

	it('refuses a ZIP cut short, and damaged gzip data', async () => {
		const bytes = await zip([{ name: 'a.csv', text: CSV.repeat(50) }]);
		await expect(decodedText(bytes.subarray(0, bytes.length - 30))).rejects.toThrow(/central directory|ends inside/);
		const gz = gzipSync(Buffer.from(CSV.repeat(50)));
		await expect(decodedText(Buffer.concat([gz.subarray(0, 20), Buffer.alloc(40, 0xff)]))).rejects.toThrow();
	});
});

describe('result columns in another case', () => {
	it('keys MEDIA-URL and Error as media-url and error, leaving an exact match alone', () => {
		expect(canonicalKeys(['phone', 'MEDIA-URL', 'Error'], ['media-url', 'error'])).toEqual(['phone', 'media-url', 'error']);
		expect(canonicalKeys(['error', 'ERROR'], ['error'])).toEqual(['error', 'ERROR']);
	});

	it('reads rows with the canonical names, and finds a required column in another case', async () => {
		const rows = [];
		for await (const row of parseResultCsv(Readable.from([CSV]), { canonicalColumns: ['media-url', 'error'], requiredColumns: ['error'] })) rows.push(row.values);
		expect(rows).toEqual([
			{ phone: '+91 1', name: 'Asha', 'media-url': 'https://m/1.mp4', error: '' },
			{ phone: '+91 2', name: 'Ravi', 'media-url': '', error: 'render failed' },
		]);
	});
});

describe('an object URL in the drop', () => {
	const drop = { bucket: 'whilter-drop', region: 'ap-south-1', endpoint: undefined, forcePathStyle: false };

	it('is virtual-hosted on AWS by default and path-style with Force Path Style, keys encoded per segment', () => {
		expect(objectUrl(drop, 'in/acme/T-1_a b.zip')).toBe('https://whilter-drop.s3.ap-south-1.amazonaws.com/in/acme/T-1_a%20b.zip');
		expect(objectUrl({ ...drop, forcePathStyle: true }, 'in/T-1.zip')).toBe('https://s3.ap-south-1.amazonaws.com/whilter-drop/in/T-1.zip');
		expect(objectUrl({ ...drop, endpoint: 'http://127.0.0.1:9000', forcePathStyle: true }, 'k.csv')).toBe('http://127.0.0.1:9000/whilter-drop/k.csv');
	});

	it('gives its key back in either style; another host, bucket or a signed URL is not the drop', () => {
		expect(dropKeyOfUrl(drop, 'https://whilter-drop.s3.ap-south-1.amazonaws.com/in/a%20b.csv')).toBe('in/a b.csv');
		expect(dropKeyOfUrl(drop, 'https://s3.ap-south-1.amazonaws.com/whilter-drop/in/a.csv')).toBe('in/a.csv');
		expect(dropKeyOfUrl(drop, 'https://s3.ap-south-1.amazonaws.com/other-bucket/in/a.csv')).toBeUndefined();
		expect(dropKeyOfUrl(drop, 'https://cdn.example.com/whilter-drop/a.csv')).toBeUndefined();
		expect(dropKeyOfUrl(drop, 'https://whilter-drop.s3.ap-south-1.amazonaws.com/a.csv?X-Amz-Signature=x')).toBeUndefined();
	});
});
