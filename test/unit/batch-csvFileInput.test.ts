import { Readable } from 'node:stream';

import Papa from 'papaparse';

import { CsvRecordCounter, openCsvFile } from '../../nodes/Whilter/batch/csvFileInput';
import { escapeCsvField } from '../../nodes/Whilter/batch/csvWriter';
import { rejectionOf } from '../harness/errors';

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

function countAll(text: string | Buffer, cuts: number[]): number {
	const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
	const counter = new CsvRecordCounter();
	let start = 0;
	for (const cut of [...cuts, bytes.length]) {
		counter.scan(bytes.subarray(start, cut));
		start = cut;
	}
	return counter.total;
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

describe('CsvRecordCounter', () => {
	it.each([
		['', 0],
		['\n', 0],
		['\r\n\r\n', 0],
		['a', 1],
		['a\n', 1],
		['a\r\n', 1],
		['a\nb', 2],
		['a\n\nb\n\n', 2],
		['a\r\n\r\nb\r\n\r\n', 2],
		['"a\nb"\n', 1],
		['"a\r\n\r\nb"\r\nc', 2],
		['"a""\n""b"\nc', 2],
		['x,"\n",y\n', 1],
		['x,"""",y\nz', 2],
		['"",""\n', 1],
		['""\n""', 2],
		['a\n""\r\n\r\n', 2],
		['24" screen,x\n2,y\n', 2],
		['a,b "c\nd",e\n', 2],
		[' \n', 1],
		['\r\r\n', 1],
		['"', 1],
	])('%p has %p records', (text, records) => {
		expect(countAll(text, [])).toBe(records);
		// The same at every split into two and three chunks.
		const length = Buffer.byteLength(text);
		for (let a = 0; a <= length; a++) {
			expect(countAll(text, [a])).toBe(records);
			for (let b = a; b <= length; b++) expect(countAll(text, [a, b])).toBe(records);
		}
	});

	it('counts random CSV like papaparse does, however the bytes are split', () => {
		const pieces = ['a', ' ', ',', '"', '\r', '\n', '\r\n', 'प्रिया', 'தமிழ்', '""', 'x'];
		let seed = 5;
		const random = () => {
			seed = (seed * 1103515245 + 12345) % 2 ** 31;
			return seed / 2 ** 31;
		};
		for (let file = 0; file < 200; file++) {
			const newline = random() < 0.5 ? '\n' : '\r\n';
			const records: string[][] = [];
			let text = '';
			const rowCount = Math.floor(random() * 30);
			for (let r = 0; r < rowCount; r++) {
				const cells: string[] = [];
				const cellCount = 1 + Math.floor(random() * 4);
				for (let c = 0; c < cellCount; c++) {
					let cell = '';
					const length = Math.floor(random() * 5);
					for (let k = 0; k < length; k++) cell += pieces[Math.floor(random() * pieces.length)];
					cells.push(cell);
				}
				// papaparse drops a one-cell empty record even when quoted (""), so none is made here; the
				// table above covers that case.
				if (cells.length === 1 && cells[0] === '') cells[0] = 'e';
				text += cells.map(escapeCsvField).join(',');
				records.push(cells);
				if (r < rowCount - 1 || random() < 0.5) text += newline;
				if (random() < 0.1) text += newline;
			}
			const parsed = Papa.parse<string[]>(text, { delimiter: ',', newline, skipEmptyLines: true });
			expect(parsed.data).toEqual(records);
			const bytes = Buffer.from(text, 'utf8');
			const cuts: number[] = [];
			for (let at = 0; at < bytes.length; at += 1 + Math.floor(random() * 7)) cuts.push(at);
			expect(countAll(bytes, cuts)).toBe(records.length);
			expect(countAll(bytes, [])).toBe(records.length);
		}
	});
});

describe('openCsvFile', () => {
	it.each([1, 2, 3, 4, 5, 7, 13, 64, 4096])('reads the header, replays every byte (BOM removed) and counts rows, in chunks of %i bytes', async (size) => {
		const opened = await openCsvFile(chunked(tricky, size), { identifier: 'phone' });
		expect(opened.header).toEqual(['phone', 'name', 'note']);
		expect(opened.identifierIndex).toBe(0);
		const body = (await readAll(opened.body)).toString('utf8');
		expect(body).toBe(tricky.slice(1));
		expect(opened.rowCount()).toBe(5);
		// papaparse agrees on the rows once the line ends are made alike (it takes one kind per file).
		const parsed = Papa.parse<string[]>(body.replace(/\r?\n/g, '\r\n'), { delimiter: ',', newline: '\r\n', skipEmptyLines: true });
		expect(parsed.data.slice(1).map((row) => row[0])).toEqual(['+911', '+912', '+913', '+914', '+915']);
	});

	it('counts at every split of the file into two chunks', async () => {
		const bytes = Buffer.from(tricky, 'utf8');
		for (let cut = 0; cut <= bytes.length; cut++) {
			const opened = await openCsvFile(Readable.from([bytes.subarray(0, cut), bytes.subarray(cut)]), { identifier: 'phone' });
			expect((await readAll(opened.body)).equals(bytes.subarray(3))).toBe(true);
			expect(opened.rowCount()).toBe(5);
		}
	});

	it.each([
		['LF', 'phone,name\n1,a\n2,b\n', 2],
		['CRLF', 'phone,name\r\n1,a\r\n2,b\r\n', 2],
		['no final newline', 'phone,name\r\n1,a\r\n2,b', 2],
		['trailing blank lines', 'phone,name\n1,a\n2,b\n\n\n\r\n', 2],
		['blank lines between', 'phone,name\n\n1,a\n\r\n\n2,b\n', 2],
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

	it.each(['', '\ufeff', 'phone', 'phone,name', 'phone,name\r\n', 'phone,name\n\n\r\n\n', '\ufeffphone\r\n'])(
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
					const chunk = Buffer.from(`${i},x\n`.repeat(100));
					bytes += chunk.length;
					yield chunk;
				}
			} finally {
				closed = true;
			}
		}
		const opened = await openCsvFile(Readable.from(source()), { identifier: 'phone' });
		expect(pulled).toBeLessThanOrEqual(2);
		expect(opened.rowCount()).toBe(0);
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
					yield Buffer.from(`${i}\n`.repeat(1000));
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
