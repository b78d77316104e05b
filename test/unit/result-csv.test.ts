import { Readable } from 'node:stream';

import Papa from 'papaparse';

import { CsvRecordReader, headerKeys, parseResultCsv, ResultCsvError } from '../../nodes/Whilter/api/resultCsv';
import type { ResultRow } from '../../nodes/Whilter/api/resultCsv';

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
