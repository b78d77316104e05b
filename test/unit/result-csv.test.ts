import { Readable } from 'node:stream';

import Papa from 'papaparse';

import { CsvRecordReader, FieldTooLargeError, headerKeys, parseResultCsv, ResultCsvError } from '../../nodes/Whilter/api/resultCsv';
import type { ResultRow } from '../../nodes/Whilter/api/resultCsv';
import { countTurns } from '../harness/turns';

async function rowsOf(chunks: Array<string | Buffer>, requiredColumns: string[] = []): Promise<ResultRow[]> {
	const out: ResultRow[] = [];
	for await (const row of parseResultCsv(Readable.from(chunks), { requiredColumns })) out.push(row);
	return out;
}

/** Every split of a text into two chunks, and one chunk per character: boundaries anywhere. */
function splits(text: string): string[][] {
	const out: string[][] = [[text], [...text]];
	for (let i = 1; i < text.length; i++) out.push([text.slice(0, i), text.slice(i)]);
	return out;
}

async function failure(chunks: Array<string | Buffer>, requiredColumns: string[] = []): Promise<ResultCsvError> {
	try {
		await rowsOf(chunks, requiredColumns);
	} catch (error) {
		if (error instanceof ResultCsvError) return error;
		throw error;
	}
	throw new Error('expected the CSV to be refused');
}

const TRICKY =
	'\uFEFFphone,name,note,media-url,error\r\n' +
	'+911,"Priya, S","says ""hi""",https://m/1.mp4,\r\n' +
	'+912,தமிழ்,"line one\r\nline two",,Template render failed\r\n' +
	'\r\n' +
	'+913,"",plain,https://m/3.mp4,\n' +
	'+914,Zoë,"a\rb",https://m/4.mp4,';

describe('output CSV reader', () => {
	it('reads quoted commas, doubled quotes, line breaks in fields, BOM, blank lines, mixed line ends and a missing last line end', async () => {
		const rows = await rowsOf([TRICKY]);
		expect(rows.map((r) => r.values)).toEqual([
			{ phone: '+911', name: 'Priya, S', note: 'says "hi"', 'media-url': 'https://m/1.mp4', error: '' },
			{ phone: '+912', name: 'தமிழ்', note: 'line one\r\nline two', 'media-url': '', error: 'Template render failed' },
			{ phone: '+913', name: '', note: 'plain', 'media-url': 'https://m/3.mp4', error: '' },
			{ phone: '+914', name: 'Zoë', note: 'a\rb', 'media-url': 'https://m/4.mp4', error: '' },
		]);
		expect(rows.map((r) => [r.row, r.line])).toEqual([
			[1, 2],
			[2, 3],
			[3, 6],
			[4, 7],
		]);
	});

	it('gives the same rows wherever the chunks break (also inside a UTF-8 character and between CR and LF)', async () => {
		const expected = (await rowsOf([TRICKY])).map((r) => r.values);
		for (const chunks of splits(TRICKY)) {
			expect((await rowsOf(chunks)).map((r) => r.values)).toEqual(expected);
		}
		const bytes = Buffer.from(TRICKY, 'utf8');
		for (let i = 1; i < bytes.length; i += 1) {
			const got = await rowsOf([bytes.subarray(0, i), bytes.subarray(i)]);
			expect(got.map((r) => r.values)).toEqual(expected);
		}
	});

	it('agrees with papaparse on generated rows with awkward cells, in random chunk sizes', async () => {
		const cells = ['', 'a', 'a,b', 'x "y" z', '"', 'line\nbreak', 'cr\r\nlf', '  spaced  ', 'ü€😀', '=1+1', ','];
		let seed = 7;
		const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
		const header = ['id', 'c1', 'c2', 'media-url', 'error'];
		const data = Array.from({ length: 400 }, (_, i) => [String(i), ...Array.from({ length: 4 }, () => cells[Math.floor(random() * cells.length)])]);
		const csv = Papa.unparse({ fields: header, data }, { newline: '\r\n' });
		const bytes = Buffer.from(csv, 'utf8');
		const chunks: Buffer[] = [];
		for (let at = 0; at < bytes.length; ) {
			const size = 1 + Math.floor(random() * 40);
			chunks.push(bytes.subarray(at, at + size));
			at += size;
		}
		const ours = (await rowsOf(chunks)).map((r) => r.values);
		const theirs = Papa.parse<Record<string, string>>(csv, { header: true, skipEmptyLines: true }).data;
		expect(ours).toEqual(theirs);
	});

	it('refuses a row with a different number of fields than the header, naming row and line', async () => {
		const error = await failure(['a,b,error\n1,2,\n3,4\n']);
		expect(error.message).toBe('row 2 (line 3) has 2 fields, the header has 3');
		expect([error.row, error.line]).toEqual([2, 3]);
	});

	it('refuses a quote that is not doubled inside a quoted field, naming row and line', async () => {
		const error = await failure(['a,b\n1,2\n3,"bad"x\n']);
		expect(error.message).toMatch(/^row 2 \(line 3\): a quoted field is followed by "x"/);
		expect(error.row).toBe(2);
	});

	it('refuses a file that ends inside a quoted field, naming where the field started', async () => {
		const error = await failure(['a,b\n1,2\n3,"never\nclosed\n']);
		expect(error.message).toMatch(/^row 2 \(line 3\): a quoted field starting on line 3 is never closed/);
	});

	it('refuses an empty file and a header without a required column', async () => {
		expect((await failure([''])).message).toBe('the file is empty (no header row)');
		const missing = await failure(['phone,media-url\n1,x\n'], ['error']);
		expect(missing.message).toBe('the header has no "error" column (columns: phone, media-url)');
		expect(missing.row).toBe(0);
	});

	it('gives blank and repeated header names keys of their own', () => {
		expect(headerKeys(['a', '', 'a', 'a_1', 'a'])).toEqual(['a', 'column_2', 'a_2', 'a_1', 'a_3']);
	});

	it('holds only the current row between chunks: a completed row is handed out at once', () => {
		const reader = new CsvRecordReader();
		expect(reader.push('h1,h2\r\nv1,')).toEqual([{ fields: ['h1', 'h2'], line: 1 }]);
		expect(reader.push('"v')).toEqual([]);
		expect(reader.push('2"\r')).toEqual([{ fields: ['v1', 'v2'], line: 2 }]);
		expect(reader.push('\nv3,v4')).toEqual([]);
		expect(reader.end()).toEqual([{ fields: ['v3', 'v4'], line: 3 }]);
	});
});

const KIB = 1024;
const MIB = 1024 * KIB;

/**
 * One row whose `note` field is `fieldBytes` of "x", in 64 KiB chunks made as they are pulled (the
 * file never exists whole), counting what the parser pulled.
 */
function oneHugeField(fieldBytes: number, pulled: { bytes: number }): AsyncIterable<Buffer> {
	return (async function* () {
		const head = Buffer.from('phone,note,media-url,error\r\n+911,', 'utf8');
		pulled.bytes += head.length;
		yield head;
		const chunk = Buffer.alloc(64 * KIB, 'x');
		for (let left = fieldBytes; left > 0; left -= chunk.length) {
			const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
			pulled.bytes += part.length;
			yield part;
		}
		yield Buffer.from(',https://m/1.mp4,\r\n', 'utf8');
	})();
}

async function refusal(source: AsyncIterable<Buffer | string> | Readable, options: Parameters<typeof parseResultCsv>[1] = {}): Promise<ResultCsvError> {
	try {
		for await (const row of parseResultCsv(source, options)) void row;
	} catch (error) {
		if (error instanceof ResultCsvError) return error;
		throw error;
	}
	throw new Error('expected the CSV to be refused');
}

describe('output CSV reader: the event loop', () => {
	it('reads rows in turns when the download is ahead of the reader', async () => {
		// Chunks already at hand come without a turn of the event loop in between: 1M result rows as
		// items held the loop for 90–200 ms at a time. 20,000 rows here, in chunks of 100.
		const chunks = Array.from({ length: 200 }, (_, c) =>
			Array.from({ length: 100 }, (_, r) => `${c * 100 + r},https://media.example.test/${c * 100 + r}.mp4,\n`).join(''),
		);
		// A clock that moves 5 ms at every reading: the turns end after the same rows on any machine.
		let clock = 0;
		const now = jest.spyOn(performance, 'now').mockImplementation(() => (clock += 5));
		const turns = countTurns();
		let rows = 0;
		try {
			for await (const row of parseResultCsv(Readable.from(['id,media-url,error\n', ...chunks]))) rows += row.row > 0 ? 1 : 0;
		} finally {
			now.mockRestore();
		}
		const ticks = turns.stop();
		expect(rows).toBe(20_000);
		expect(ticks).toBeGreaterThanOrEqual(4);
	});
});

describe('output CSV reader: the size of one field', () => {
	it('refuses a 300 MiB field at the default limit (1 MiB) after pulling little more than 1 MiB, naming row, line and column', async () => {
		const pulled = { bytes: 0 };
		const error = await refusal(oneHugeField(300 * MIB, pulled));
		expect(error.message).toBe('row 1 (line 2), column "note": the field is larger than the limit of 1024 KB');
		expect([error.row, error.line]).toEqual([1, 2]);
		expect(error).toBeInstanceOf(FieldTooLargeError);
		expect((error as FieldTooLargeError).column).toBe('note');
		expect((error as FieldTooLargeError).limit).toBe(MIB);
		// Pulled from the source, not measured on the machine: the limit, plus at most the chunk that crossed it.
		expect(pulled.bytes).toBeLessThanOrEqual(MIB + 64 * KIB + 64);
	});

	it('takes another limit; a quoted field is counted as its text (quotes undone), also across lines and chunks', async () => {
		const big = `"${'a""b\r\n'.repeat(200)}"`; // 200 × 5 characters of text: 1000 bytes
		const csv = `id,note,error\r\n1,"short",\r\n2,${big},\r\n3,x,\r\n`;
		for (const chunks of [[csv], [...csv], [csv.slice(0, 40), csv.slice(40, 900), csv.slice(900)]]) {
			const rows: ResultRow[] = [];
			for await (const row of parseResultCsv(Readable.from(chunks), { maxFieldBytes: 1000 })) rows.push(row);
			expect(rows.map((r) => r.values.note.length)).toEqual([5, 1000, 1]);
			const error = await refusal(Readable.from(chunks), { maxFieldBytes: 999 });
			expect(error.message).toBe('row 2 (line 3), column "note": the field is larger than the limit of 999 bytes');
		}
	});

	it('counts UTF-8 bytes, not characters: two-byte letters and four-byte emoji, split anywhere (also inside a character)', async () => {
		for (const [letter, bytes] of [
			['é', 2],
			['😀', 4],
		] as const) {
			const fits = `h\n${letter.repeat(1000 / bytes)}\n`;
			const over = `h\n${letter.repeat(1000 / bytes + 1)}\n`;
			for (const chunks of splits(fits).filter((_, i) => i < 2 || i % 37 === 0)) {
				const rows: ResultRow[] = [];
				for await (const row of parseResultCsv(Readable.from(chunks), { maxFieldBytes: 1000 })) rows.push(row);
				expect(rows.map((r) => Buffer.byteLength(r.values.h))).toEqual([1000]);
			}
			const encoded = Buffer.from(over, 'utf8');
			for (let at = 1; at < encoded.length; at += 29) {
				const error = await refusal(Readable.from([encoded.subarray(0, at), encoded.subarray(at)]), { maxFieldBytes: 1000 });
				expect(error.message).toBe('row 1 (line 2), column "h": the field is larger than the limit of 1000 bytes');
			}
		}
	});

	it('refuses a field over the limit that arrives whole in one chunk, and a header name over it (named by position)', async () => {
		const inOneChunk = await refusal(Readable.from([`a,b\n1,${'z'.repeat(2000)}\n`]), { maxFieldBytes: 1000 });
		expect(inOneChunk.message).toBe('row 1 (line 2), column "b": the field is larger than the limit of 1000 bytes');
		const header = await refusal(Readable.from([`a,${'h'.repeat(1001)}\n1,2\n`]), { maxFieldBytes: 1000 });
		expect(header.message).toBe('header (line 1), column 2: the field is larger than the limit of 1000 bytes');
		expect(header.row).toBe(0);
	});

	it('the record reader alone: a field at the limit passes, one byte more throws while the field is still being read', () => {
		const reader = new CsvRecordReader({ maxFieldBytes: 8 });
		expect(reader.push('a,b\r\n12345678,"1234')).toEqual([{ fields: ['a', 'b'], line: 1 }]);
		expect(reader.push('5678"\r\n')).toEqual([{ fields: ['12345678', '12345678'], line: 2 }]);
		expect(reader.push('1234')).toEqual([]);
		expect(() => reader.push('56789')).toThrow('row 2 (line 3), column "a": the field is larger than the limit of 8 bytes');
	});
});
