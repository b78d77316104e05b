import { Readable } from 'node:stream';

import Papa from 'papaparse';

import { openCsvFile } from '../../nodes/Whilter/batch/csvFileInput';
import type { CsvFileOptions } from '../../nodes/Whilter/batch/csvFileInput';
import { InputError } from '../../nodes/shared/errors';
import { rejectionOf } from '../harness/errors';
import { countTurns } from '../harness/turns';

async function readAll(stream: Readable): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

/** The text's bytes in chunks of `size`: splits land inside quotes, between CR and LF, inside multi-byte letters. */
function chunked(text: string | Buffer, size: number): Readable {
	const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
	const chunks: Buffer[] = [];
	for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
	return Readable.from(chunks);
}

const tricky =
	'\ufeffphone,name,note\r\n' +
	'+911,"Asha, K","line1\r\nline2"\r\n' +
	'\r\n' +
	'+912,प्रिया शर्मा,"say ""hi""\n"\r\n' +
	'+913,தமிழ்ச்செல்வி,"""quoted"" start"\n' +
	'\n' +
	'+914,24" screen,"ends with CR\r"\r\n' +
	'+915,last,no-newline';

describe('openCsvFile', () => {
	it.each([1, 2, 3, 4, 5, 7, 13, 64, 4096])('reads the header, replays every byte (BOM removed) and counts rows, in chunks of %i bytes', async (size) => {
		const opened = await openCsvFile(chunked(tricky, size), { identifier: 'phone' });
		expect(opened.header).toEqual(['phone', 'name', 'note']);
		expect(opened.identifierIndex).toBe(0);
		const body = (await readAll(opened.body)).toString('utf8');
		expect(body).toBe(tricky.slice(1));
		// What Whilter reads: the file's first line break is CRLF, so papaparse reads CRLF; the quote
		// closing "quoted"" start" is followed by LF, not CRLF, so that field runs on to the next quote
		// that is, taking the +914 line with it.
		const parsed = Papa.parse<string[]>(body, { delimiter: ',', skipEmptyLines: true });
		expect(parsed.data.slice(1).map((row) => row[0])).toEqual(['+911', '+912', '+913', '+915']);
		expect(opened.rowCount()).toBe(4);
	});

	it('counts at every split of the file into two chunks', async () => {
		const bytes = Buffer.from(tricky, 'utf8');
		for (let cut = 0; cut <= bytes.length; cut++) {
			const opened = await openCsvFile(Readable.from([bytes.subarray(0, cut), bytes.subarray(cut)]), { identifier: 'phone' });
			expect((await readAll(opened.body)).equals(bytes.subarray(3))).toBe(true);
			expect(opened.rowCount()).toBe(4);
		}
	});

	it.each([
		['LF', 'phone,name\n1,a\n2,b\n', 2],
		['CRLF', 'phone,name\r\n1,a\r\n2,b\r\n', 2],
		['no final newline', 'phone,name\r\n1,a\r\n2,b', 2],
		['trailing blank lines', 'phone,name\n1,a\n2,b\n\n\n', 2],
		['trailing blank CRLF lines', 'phone,name\r\n1,a\r\n2,b\r\n\r\n\r\n', 2],
		['blank lines between', 'phone,name\n\n1,a\n\n\n2,b\n', 2],
		['CR-only line breaks', 'phone,name\r1,a\r2,b\r', 2],
		['CR-only line breaks, no final one', 'phone,name\r1,a\r\r2,b', 2],
		['one row', 'phone\n1', 1],
		['quoted header', '"phone"," full name "\r\n1,a\r\n', 1],
		['string chunks', 'phone,name\n1,a\n', 1],
	])('%s', async (_label, text, rows) => {
		const source = _label === 'string chunks' ? Readable.from([text.slice(0, 5), text.slice(5)], { objectMode: true }) : chunked(text, 3);
		const opened = await openCsvFile(source, { identifier: 'phone' });
		expect((await readAll(opened.body)).toString('utf8')).toBe(text);
		expect(opened.rowCount()).toBe(rows);
		if (_label === 'quoted header') expect(opened.header).toEqual(['phone', 'full name']);
	});

	it.each(['', '\ufeff', 'phone', 'phone,name', 'phone,name\r\n', 'phone,name\n\n\n', 'phone,name\r\n\r\n', 'phone,name\r\r', '\ufeffphone\r\n'])(
		'refuses a file with no data rows (%p), naming the file',
		async (text) => {
			const error = await rejectionOf(openCsvFile(chunked(text, 2), { identifier: 'phone', fileLabel: 'list.csv' }));
			expect(error.message).toMatch(/^list\.csv (has no data rows, only the header \(phone(, name)?\)|is empty \(no header row, no data rows\)): nothing to send$/);
		},
	);

	it('refuses a header without the identifier, naming the file, the column and the columns found', async () => {
		const error = await rejectionOf(openCsvFile(chunked('mobile,name\r\n1,a\r\n', 5), { identifier: 'phone', fileLabel: 'list.csv' }));
		expect(error.message).toBe('list.csv has no column "phone" (the identifier column) in its header row; the columns found are: mobile, name');
		expect(error.details.field).toBe('phone');
	});

	it('hints at a case mismatch and at a file not separated by commas', async () => {
		expect((await rejectionOf(openCsvFile(chunked('Phone,name\n1,a\n', 4), { identifier: 'phone' }))).message).toMatch(
			/column names are case-sensitive: the file has "Phone"/,
		);
		expect((await rejectionOf(openCsvFile(chunked('phone;name\n1;a\n', 4), { identifier: 'phone' }))).message).toMatch(
			/columns found are: phone;name \(the header looks separated by ";"; Whilter needs a comma-separated file\)/,
		);
	});

	it('refuses an empty identifier parameter, naming it', async () => {
		const error = await rejectionOf(openCsvFile(chunked('phone\n1\n', 4), { identifier: ' ' }));
		expect(error.message).toMatch(/"Identifier Column" parameter is empty/);
		expect(error.details.parameter).toBe('identifierColumn');
	});

	it('refuses an identifier that is not the first column', async () => {
		const error = await rejectionOf(openCsvFile(chunked('name,phone\r\na,1\r\n', 5), { identifier: 'phone', fileLabel: 'list.csv' }));
		expect(error.message).toMatch(/^list\.csv: the identifier column "phone" is column 2, but Whilter expects the identifier in the first column \(for now\)/);
	});

	it('reads only as far as it needs before returning, and stops reading the file when it refuses it', async () => {
		let pulled = 0;
		let closed = false;
		let bytes = 0;
		async function* source() {
			try {
				yield Buffer.from('phone,name\n');
				bytes = 11;
				for (let i = 0; i < 1000; i++) {
					pulled++;
					const chunk = Buffer.from(Array.from({ length: 100 }, (_, j) => `${i * 100 + j},x\n`).join(''));
					bytes += chunk.length;
					yield chunk;
				}
			} finally {
				closed = true;
			}
		}
		const opened = await openCsvFile(Readable.from(source()), { identifier: 'phone' });
		expect(pulled).toBeLessThanOrEqual(2);
		expect(await readAll(opened.body)).toHaveLength(bytes);
		expect(opened.rowCount()).toBe(100_000);
		expect(closed).toBe(true);

		pulled = 0;
		closed = false;
		const wrong = Readable.from(source());
		await rejectionOf(openCsvFile(wrong, { identifier: 'mobile' }));
		expect(pulled).toBeLessThanOrEqual(2);
		await new Promise<void>((resolve) => setImmediate(resolve));
		expect(wrong.destroyed).toBe(true);
		expect(closed).toBe(true);
	});

	it('refuses a header row that never ends (an unclosed quote) without reading the whole file', async () => {
		let pulled = 0;
		async function* source() {
			yield Buffer.from('phone,"name\n');
			for (let i = 0; i < 10_000; i++) {
				pulled++;
				yield Buffer.alloc(64 * 1024, 0x61);
			}
		}
		const error = await rejectionOf(openCsvFile(Readable.from(source()), { identifier: 'phone' }));
		expect(error.message).toMatch(/the header row is longer than 1 MiB; is a quote \(".*never closed/);
		expect(pulled).toBeLessThan(40);
	});

	it('fails the body when the file ends inside a quoted field, naming the row', async () => {
		const opened = await openCsvFile(chunked('phone,note\n1,ok\n2,"open\n3,x\n4,y\n', 4), { identifier: 'phone', fileLabel: 'list.csv' });
		const error = await rejectionOf(readAll(opened.body));
		expect(error.message).toMatch(/^list\.csv: data row 2 opens a quoted field \(".*never closed before the end of the file/);
		expect(error.details.row).toBe(2);
	});

	it('passes a source error to the body', async () => {
		async function* source() {
			yield Buffer.from('phone\n1\n');
			yield Buffer.from('2\n');
			throw new Error('disk gone');
		}
		const opened = await openCsvFile(Readable.from(source()), { identifier: 'phone' });
		await expect(readAll(opened.body)).rejects.toThrow('disk gone');
	});

	it('stops reading the file when the body is destroyed', async () => {
		let pulled = 0;
		let markClosed: () => void = () => undefined;
		// Resolved by the file's own clean-up: no guess at how long that takes (the test's timeout bounds it).
		const closed = new Promise<void>((resolve) => (markClosed = resolve));
		async function* source() {
			try {
				yield Buffer.from('phone\n');
				for (let i = 0; ; i++) {
					pulled++;
					yield Buffer.from(Array.from({ length: 1000 }, (_, j) => `${i * 1000 + j}\n`).join(''));
				}
			} finally {
				markClosed();
			}
		}
		const opened = await openCsvFile(Readable.from(source()), { identifier: 'phone' });
		for await (const chunk of opened.body) {
			expect((chunk as Buffer).length).toBeGreaterThan(0);
			break;
		}
		await closed;
		// Closed, and not read to its (endless) end first.
		const at = pulled;
		await new Promise<void>((resolve) => setImmediate(resolve));
		expect(pulled).toBe(at);
	}, 10_000);

	it('streams a big generated file (200k rows, quotes and line breaks in fields) with bounded memory, and counts it', async () => {
		const rowsPerChunk = 500;
		const chunks = 400;
		let made = 0;
		let madeBytes = 0;
		async function* generate() {
			const header = Buffer.from('\ufeffphone,name,note\r\n');
			madeBytes += header.length;
			yield header;
			for (let c = 0; c < chunks; c++) {
				let text = '';
				for (let j = 0; j < rowsPerChunk; j++) {
					const i = made++;
					text += `+91${i},${i % 2 ? 'प्रिया शर्मा' : '"தமிழ், செல்வி"'},"line ""${i}""\r\nnext"\r\n`;
				}
				const bytes = Buffer.from(text);
				madeBytes += bytes.length;
				yield bytes;
			}
		}
		const opened = await openCsvFile(Readable.from(generate()), { identifier: 'phone' });
		let read = 3;
		let mostAhead = 0;
		for await (const chunk of opened.body) {
			read += (chunk as Buffer).length;
			mostAhead = Math.max(mostAhead, madeBytes - read);
			// A slow reader: the generator must wait for it.
			if (read % 7 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
		}
		expect(read).toBe(madeBytes);
		expect(madeBytes).toBeGreaterThan(10_000_000);
		// Never more than a few MiB between what was made and what was read.
		expect(mostAhead).toBeLessThan(4 * 2 ** 20);
		expect(opened.rowCount()).toBe(rowsPerChunk * chunks);
	});
});

/** papaparse's data rows (header excluded), as Whilter reads the uploaded file. */
function papaRows(text: string): string[][] {
	return Papa.parse<string[]>(text, { delimiter: ',', skipEmptyLines: true }).data.slice(1);
}

type Outcome =
	| { error: InputError }
	| { error?: undefined; body: string; rows: number; leftOut: ReturnType<Awaited<ReturnType<typeof openCsvFile>>['leftOut']> };

/** Opens the file and reads its body to the end: a bad row refuses it at either step (rows are checked from the first chunk on). */
async function readCsv(text: string, options: Partial<CsvFileOptions> = {}, size = 3): Promise<Outcome> {
	try {
		const file = await openCsvFile(() => chunked(text, size), { identifier: 'phone', fileLabel: 'list.csv', ...options });
		const body = (await readAll(file.body)).toString('utf8');
		return { body, rows: file.rowCount(), leftOut: file.leftOut() };
	} catch (error) {
		if (error instanceof InputError) return { error };
		throw error;
	}
}

async function refusal(text: string, options: Partial<CsvFileOptions> = {}, size = 3): Promise<InputError> {
	const outcome = await readCsv(text, options, size);
	if (!outcome.error) throw new Error(`expected a refusal, the file was read: ${JSON.stringify(outcome).slice(0, 300)}`);
	return outcome.error;
}

const SIZES = [1, 2, 3, 5, 64, 4096];

describe('openCsvFile checks each row as the file streams', () => {
	it.each(SIZES)('refuses an empty identifier, naming the data row and the column (chunks of %i bytes)', async (size) => {
		for (const text of ['phone,name\n1,a\n ,b\n3,c\n', 'phone,name\r\n1,a\r\n"",b\r\n3,c\r\n', 'phone,name\r1,a\r" \u00a0",b\r']) {
			const error = await refusal(text, {}, size);
			expect(error.message).toBe('list.csv, data row 2, column "phone": the identifier is empty');
			expect(error.details).toMatchObject({ row: 2, field: 'phone' });
		}
	});

	it.each(SIZES)('refuses a duplicate identifier, naming both data rows (chunks of %i bytes)', async (size) => {
		// Compared as papaparse gives the value ("+911" quoted is +911), trimmed, as the items input compares them.
		const error = await refusal('phone,name\n+911,a\n+912,b\n" +911 ",c\n+914,d\n', {}, size);
		expect(error.message).toBe('list.csv: data rows 1 and 3 have the same identifier: column "phone" is "+911" in both (compared as trimmed text)');
		expect(error.details).toMatchObject({ row: 3, field: 'phone' });
	});

	it('names the earlier row of a duplicate far into the file', async () => {
		const lines = ['phone,name', ...Array.from({ length: 50_000 }, (_, i) => `+91${i},n${i}`), '+9112345,again'];
		const error = await refusal(lines.join('\n'), {}, 4096);
		expect(error.message).toMatch(/^list\.csv: data rows 12346 and 50001 have the same identifier: column "phone" is "\+9112345" in both/);
	});

	it('without a way to open the file again, still refuses a duplicate, naming the row', async () => {
		const file = await openCsvFile(chunked('phone\n1\n2\n1\n', 2), { identifier: 'phone', fileLabel: 'list.csv' });
		const error = await rejectionOf(readAll(file.body));
		expect(error.message).toBe('list.csv: data row 3 has the same identifier as an earlier data row: column "phone" is "1" (compared as trimmed text)');
	});

	it.each(SIZES)('refuses a row with fewer or more fields than the header, saying expected and found (chunks of %i bytes)', async (size) => {
		const fewer = await refusal('phone,name,city\n1,a,x\n2,b\n3,c,y\n', {}, size);
		expect(fewer.message).toMatch(/^list\.csv, data row 2: found 2 fields, expected 3 \(one per column of the header\); column "city" has no value/);
		expect(fewer.details).toMatchObject({ row: 2, field: 'city' });
		const more = await refusal('phone,name,city\n1,a,x\n2,b,y\n3,"c,d",y,z\n', {}, size);
		expect(more.message).toMatch(/^list\.csv, data row 3: found 4 fields, expected 3 \(one per column of the header\); field 4 has no column/);
		expect(more.details).toMatchObject({ row: 3 });
	});

	it('says the line breaks are mixed when a row of an LF file ends with a CR', async () => {
		// The first line break is LF, so papaparse reads LF: the CRLF line is a row holding one CR.
		const error = await refusal('phone,name\n1,a\n\r\n2,b\n');
		expect(error.message).toMatch(/^list\.csv, data row 2, column "phone": the identifier is empty/);
		expect(error.message).toMatch(/line breaks are mixed/);
		const fewer = await refusal('phone,name\n1,a\n2\r\n');
		expect(fewer.message).toMatch(/^list\.csv, data row 2: found 1 field, expected 2 .*line breaks are mixed/);
		expect(papaRows('phone,name\n1,a\n\r\n2,b\n')).toEqual([['1', 'a'], ['\r'], ['2', 'b']]);
	});

	it('refuses an identifier longer than 1,024 bytes', async () => {
		const error = await refusal(`phone\n1\n${'9'.repeat(1025)}\n`);
		expect(error.message).toBe('list.csv, data row 2, column "phone": the identifier is longer than 1024 bytes');
	});

	it.each([1, 3, 7, 4096])('Skip Invalid Rows and Keep First leave rows out of the uploaded bytes and report them (chunks of %i bytes)', async (size) => {
		const text = 'phone,name\n1,a\n,b\n1,c\n2\n3,"d\ne"\n 1 ,f\n4,g';
		const outcome = await readCsv(text, { skipInvalidRows: true, duplicateIdentifiers: 'keepFirst' }, size);
		if (outcome.error) throw outcome.error;
		expect(outcome.body).toBe('phone,name\n1,a\n3,"d\ne"\n4,g');
		expect(outcome.rows).toBe(3);
		expect(papaRows(outcome.body)).toHaveLength(3);
		expect(outcome.leftOut).toEqual({
			skipped: {
				count: 2,
				first: [
					{ row: 2, reason: 'the identifier is empty' },
					{ row: 4, reason: 'found 1 field, expected 2 (one per column of the header); column "name" has no value' },
				],
			},
			duplicatesDropped: { count: 2, first: [{ row: 3, identifier: '1' }, { row: 6, identifier: '1' }] },
		});
	});

	it('leaves out the last row, even without a line break after it', async () => {
		const outcome = await readCsv('phone,name\r\n1,a\r\n1,b', { duplicateIdentifiers: 'keepFirst' });
		if (outcome.error) throw outcome.error;
		expect(outcome.body).toBe('phone,name\r\n1,a\r\n');
		expect(outcome.rows).toBe(1);
		expect(papaRows(outcome.body)).toEqual([['1', 'a']]);
	});

	it('Keep First alone still refuses an invalid row; Skip Invalid Rows alone still refuses a duplicate', async () => {
		expect((await refusal('phone,x\n1,a\n"",b\n', { duplicateIdentifiers: 'keepFirst' })).message).toMatch(/data row 2, column "phone": the identifier is empty/);
		expect((await refusal('phone\n1\n1\n', { skipInvalidRows: true })).message).toMatch(/data rows 1 and 2 have the same identifier/);
	});

	it('refuses a file whose rows are all left out', async () => {
		const error = await refusal('phone,name\n,a\n"",b\n', { skipInvalidRows: true });
		expect(error.message).toBe('list.csv: no rows to send: all 2 data rows were left out (2 skipped, e.g. data row 1: the identifier is empty)');
	});

	it('refuses an unclosed quote even with Skip Invalid Rows: the rest of the file would be one field', async () => {
		const error = await refusal('phone,note\n1,ok\n2,"open\n3,x\n', { skipInvalidRows: true });
		expect(error.message).toMatch(/^list\.csv: data row 2 opens a quoted field \(".*never closed before the end of the file/);
	});

	it('refuses to leave out rows when that would change how the line breaks are read', async () => {
		// CR first: CRLF because 3 of 5 CRs are followed by LF. Without the last row, 2 of 4: CR, and
		// papaparse would read the uploaded file's rows differently.
		const text = 'phone,x,y\r\n1,a\rb\r2,c\r\n,d,e\r\n';
		expect(Papa.parse(text, { delimiter: ',' }).meta.linebreak).toBe('\r\n');
		expect(Papa.parse('phone,x,y\r\n1,a\rb\r2,c\r\n', { delimiter: ',' }).meta.linebreak).toBe('\r');
		const error = await refusal(text, { skipInvalidRows: true });
		expect(error.message).toBe("list.csv: leaving out rows would change how the file's line breaks are read (CRLF with them, CR without), and with them every row");
	});

	it('refuses a file that starts with two BOMs (papaparse would drop the second from the uploaded file)', async () => {
		const error = await refusal('\ufeff\ufeffphone\n1\n');
		expect(error.message).toMatch(/^list\.csv starts with two byte order marks/);
	});

	it('counts what papaparse reads when a quote closes in the middle of a field', async () => {
		// The quote after "1" is followed by x: papaparse keeps looking and closes the field at the quote after 2.
		const text = 'phone\n"1"x\n2"\n3\n';
		const outcome = await readCsv(text);
		if (outcome.error) throw outcome.error;
		expect(papaRows(text)).toEqual([['1"x\n2'], ['3']]);
		expect(outcome.rows).toBe(2);
	});

	it('refuses a quote that closes mid-field and never again (papaparse reads the rest of the file as one field)', async () => {
		const error = await refusal('phone,x\n"ab"cd,e\n1,2\n');
		expect(error.message).toMatch(/^list\.csv: data row 1 opens a quoted field \(".*never closed before the end of the file/);
	});

	it('reads a CR-only file as papaparse does', async () => {
		const text = 'phone,name\r+911,a\r+912,"b\rc"\r+913,d';
		const outcome = await readCsv(text);
		if (outcome.error) throw outcome.error;
		expect(outcome.body).toBe(text);
		expect(outcome.rows).toBe(3);
		expect(papaRows(text).map((row) => row[0])).toEqual(['+911', '+912', '+913']);
	});

	it('stops reading the file when a row fails', async () => {
		let closed = false;
		let pulled = 0;
		async function* source() {
			try {
				yield Buffer.from('phone\n1\n2\n');
				for (let i = 3; i < 100_000; i++) {
					pulled++;
					// A line of one space: a row (not blank) whose identifier is empty once trimmed.
					yield Buffer.from(i === 50 ? ' \n' : `${i}\n`);
				}
			} finally {
				closed = true;
			}
		}
		const file = await openCsvFile(Readable.from(source()), { identifier: 'phone' });
		await rejectionOf(readAll(file.body));
		await new Promise<void>((resolve) => setImmediate(resolve));
		expect(closed).toBe(true);
		expect(pulled).toBeLessThan(100);
	});

	it('gives the event loop turns while it reads one large chunk', async () => {
		const rows = Array.from({ length: 400_000 }, (_, i) => `+91${i},n`).join('\n');
		const text = `phone,name\n${rows}\n`;
		const counter = countTurns();
		let turns = 0;
		try {
			const file = await openCsvFile(() => Readable.from([Buffer.from(text)]), { identifier: 'phone' });
			const body = await readAll(file.body);
			expect(body.length).toBe(text.length);
			expect(file.rowCount()).toBe(400_000);
		} finally {
			turns = counter.stop();
		}
		// One turn per slice of at most 1 MiB at least: the ~5 MB chunk is read in several.
		expect(turns).toBeGreaterThanOrEqual(3);
	});

	it('confirms a repeated identifier against a file held in memory in turns of the event loop', async () => {
		// The confirmation reads the file again up to the repeated row (its identifier), then up to the
		// earlier row. A file held in memory is one chunk, which each reading once took in one go.
		const rows = Array.from({ length: 400_000 }, (_, i) => `+91${i},n`);
		rows.push('+910,n');
		const text = `phone,name\n${rows.join('\n')}\n`;
		let opens = 0;
		let counter: ReturnType<typeof countTurns> | undefined;
		const source = () => {
			// The first opening reads the file as it is sent; the later ones are the confirmation's.
			if (++opens === 2) counter = countTurns();
			return Readable.from([Buffer.from(text)]);
		};
		const file = await openCsvFile(source, { identifier: 'phone', repeatLogs: { memoryEntries: 1 << 20 } });
		const error = await rejectionOf(readAll(file.body));
		const turns = counter?.stop() ?? 0;
		expect(error.message).toMatch(/data rows 1 and 400001 have the same identifier: column "phone" is "\+910"/);
		expect(opens).toBe(3);
		// The identifier's reading goes through the ~5 MB, 64 KiB at a time; the earlier row is found
		// in the first slice of the second reading. Before, both readings took no turn at all.
		expect(turns).toBeGreaterThan(text.length / (64 << 10) / 2);
	});

	it('passes a file held in memory on in pieces, not as one copy of the whole file', async () => {
		const rows = Array.from({ length: 400_000 }, (_, i) => `+91${i},n`).join('\r\n');
		const text = `phone,name\r\n${rows}\r\n`;
		const file = await openCsvFile(() => Readable.from([Buffer.from(text)]), { identifier: 'phone' });
		const sizes: number[] = [];
		for await (const chunk of file.body) sizes.push((chunk as Buffer).length);
		expect(sizes.reduce((a, b) => a + b, 0)).toBe(text.length);
		// The first megabyte is held while its line breaks (CRLF here) are guessed, then passed on at
		// once; the rest comes in slices of 64 KiB. Before, the whole file came out in one piece.
		expect(Math.max(...sizes)).toBeLessThan(1.25 * (1 << 20));
		expect(sizes.length).toBeGreaterThan((text.length - (1 << 20)) / (64 << 10));
	});


});

