import { StringDecoder } from 'node:string_decoder';

import Papa from 'papaparse';

import { slices, STREAMING_TOKENIZER } from '../../nodes/Whilter/batch/csvRows';
import { CsvTokenizer, guessNewline } from '../../nodes/Whilter/batch/csvTokenizer';
import type { CsvNewline } from '../../nodes/Whilter/batch/csvTokenizer';

/** What Whilter reads from a CSV file: papaparse with a comma and blank lines skipped. */
const PAPA = { delimiter: ',', skipEmptyLines: true } as const;

interface Seen {
	records: Array<{ row: number; fieldCount: number; first: string | undefined; start: number; end: number }>;
	unterminated: boolean;
	newline: CsvNewline | undefined;
}

/** How the reader drives the tokenizer: pauses after some records, and reading in steps of a few bytes. */
interface Driving {
	pauseEvery?: number;
	stepBytes?: number;
}

/** The tokenizer's records for `bytes` fed in the pieces that `cuts` (byte offsets) make. */
function tokenize(bytes: Buffer, cuts: number[] = [], driving: Driving = {}): Seen {
	const records: Seen['records'] = [];
	const tokenizer: CsvTokenizer = new CsvTokenizer(
		(record) => {
			records.push({ row: record.row, fieldCount: record.fieldCount, first: record.firstField(), start: record.start, end: record.end });
			if (driving.pauseEvery && record.row % driving.pauseEvery === 0) tokenizer.pause();
		},
		{ stepBytes: driving.stepBytes },
	);
	const settle = () => {
		while (tokenizer.paused) tokenizer.resume();
	};
	let start = 0;
	for (const cut of [...cuts, bytes.length]) {
		tokenizer.write(bytes.subarray(start, cut));
		settle();
		start = cut;
	}
	tokenizer.end();
	settle();
	return { records, unterminated: tokenizer.unterminated, newline: tokenizer.newline };
}

/** papaparse's reading of the same bytes, in the tokenizer's terms. */
function papa(bytes: Buffer) {
	const parsed = Papa.parse<string[]>(bytes.toString('utf8'), PAPA);
	return {
		records: parsed.data.map((fields) => ({ fieldCount: fields.length, first: fields[0] })),
		missingQuotes: parsed.errors.some((error) => error.code === 'MissingQuotes'),
		newline: parsed.meta.linebreak,
	};
}

/** Fails with the input spelled out (and how to reproduce it) when the tokenizer and papaparse disagree. */
function expectAgreement(bytes: Buffer, cuts: number[], context: string, driving: Driving = {}): void {
	const seen = tokenize(bytes, cuts, driving);
	const expected = papa(bytes);
	const got = seen.records.map(({ fieldCount, first }) => ({ fieldCount, first }));
	// A first field past the tokenizer's limit (1,024 bytes as written; 1 MiB for the header) comes as undefined.
	const sameFirst = (got: string | undefined, want: string) => got === want || (got === undefined && Buffer.byteLength(want) > 512);
	const same =
		got.length === expected.records.length &&
		got.every((record, i) => record.fieldCount === expected.records[i].fieldCount && sameFirst(record.first, expected.records[i].first)) &&
		seen.unterminated === expected.missingQuotes;
	if (!same) {
		const shown = (value: unknown) => {
			const text = JSON.stringify(value);
			return text.length > 2000 ? `${text.slice(0, 1000)}…${text.slice(-1000)}` : text;
		};
		throw new Error(
			`${context}: tokenizer and papaparse disagree on ${shown(bytes.toString('utf8'))} (cuts ${shown(cuts)})\n` +
				`tokenizer: ${shown({ records: got, unterminated: seen.unterminated, newline: seen.newline })}\n` +
				`papaparse: ${shown(expected)}`,
		);
	}
	// Records are numbered in order (0: the header), and their byte ranges follow one another.
	const misplaced = seen.records.findIndex(
		(record, i) => record.row !== i || record.end <= record.start || (i > 0 && record.start < seen.records[i - 1].end) || record.end > bytes.length,
	);
	if (misplaced !== -1) throw new Error(`${context}: record ${misplaced} is out of place: ${JSON.stringify(seen.records.slice(Math.max(0, misplaced - 1), misplaced + 1))}`);
}

/** A small fast PRNG (mulberry32): the same seed gives the same files. */
function prng(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
	};
}

/** Every way to cut `bytes` into two and three pieces. */
function everySplit(bytes: Buffer, check: (cuts: number[]) => void): void {
	for (let a = 0; a <= bytes.length; a++) {
		check([a]);
		for (let b = a; b <= bytes.length; b++) check([a, b]);
	}
}

describe('CsvTokenizer reads exactly what papaparse reads', () => {
	const cases: Array<[string, string]> = [
		['a quote that closes in the middle of a field', 'id,x\n"ab"cd,e\nz,1\n'],
		['a quote that closes mid-field and never again', 'id,x\n"ab"cd,e\n'],
		['spaces between a closing quote and the comma', 'id,x\n"a"  ,b\n'],
		['spaces between a closing quote and the line break', 'id,x\n"a"  \nb,c\n'],
		['a tab and a no-break space after a closing quote', 'id,x\n"a"\t\u00a0,b\n'],
		['a line separator (U+2028) after a closing quote', 'id,x\n"a"\u2028,b\n'],
		['a zero-width space (not white space) after a closing quote', 'id,x\n"a"\u200b,b\n"c",d\n'],
		['a CR before LF after a closing quote in an LF file', 'id\n"a"\r\nb\n'],
		['CR-only line breaks', 'id,name\r1,a\r2,b\r'],
		['CR-only line breaks, a quoted CR inside', 'id,name\r1,"a\rb"\r2,c'],
		['CRLF line breaks', 'id,name\r\n1,a\r\n2,b\r\n'],
		['LF first, then CRLF lines (read as LF: the CR stays in the last field)', 'id\n1\r\n2\r\n'],
		['CR first, mostly CRLF', 'id\r\n1\r\n2\r3\r\n'],
		['CR first, mostly lone CR', 'id\r1\r2\r\n3\r'],
		['a line break only inside quotes before the first real one', '"a\nb",c\r\nd,e\r\n'],
		['a BOM', '\ufeffid,name\n1,a\n'],
		['a BOM that is the whole file', '\ufeff'],
		['two BOMs', '\ufeff\ufeffid\n1\n'],
		['blank lines everywhere', '\n\nid\n\n\n1\n\n2\n\n'],
		['blank CRLF lines', '\r\n\r\nid\r\n\r\n1\r\n\r\n'],
		['a final line without a line break', 'id,x\n1,a\n2,b'],
		['a final line of just a comma', 'id,x\n1,a\n,'],
		['an empty quoted field alone on a line (a blank row to papaparse)', 'id\n""\n1\n'],
		['an escaped quote alone on a line', 'id\n""""\n1\n'],
		['a quoted field closed at the very end', 'id\n"1"'],
		['an escaped quote at the very end (unclosed)', 'id\n"1"""'],
		['a closing quote followed by a space at the very end (unclosed)', 'id\n"1" '],
		['an unclosed quote', 'id,x\n1,"open\n2,b\n'],
		['an unclosed quote in the first field', 'id,x\n"open,b\n2,c\n'],
		['a lone quote at the very end', 'id\n1\n"'],
		['a quote inside an unquoted field', 'id,x\n24" screen,b\n"a",c\n'],
		['a quote after a leading space (not a quoted field)', 'id,x\n "a,b",c\n'],
		['commas and line breaks inside quotes', 'id,x\n"a,b","c\nd\r\ne"\n'],
		['multi-byte letters', 'id,x\nप्रिया,தமிழ்\n😀,é\n'],
		['an empty file', ''],
		['only line breaks', '\n\r\n\r'],
		['a quote pair that hides a CR from the line break guess', 'a"\r"b\nc\n'],
		['an unpaired quote that leaves the text after it to the guess', 'a\n"b\rc\rd'],
	];

	it.each(cases)('%s', (_name, text) => {
		const bytes = Buffer.from(text, 'utf8');
		expectAgreement(bytes, [], _name);
		everySplit(bytes, (cuts) => expectAgreement(bytes, cuts, _name));
	});

	it('gives the values papaparse gives for fields with quotes', () => {
		const seen = tokenize(Buffer.from('id,x\n"ab"cd,e\n"say ""hi""",1\n" padded " ,2\n', 'utf8'));
		expect(seen.records.map((r) => [r.first, r.fieldCount])).toEqual([
			['id', 2],
			// The quote after "ab" is not followed by a comma or a line break: papaparse keeps looking,
			// and the field runs on to the next quote that is (after "hi"), taking the next line with it.
			['ab"cd,e\n"say "hi"', 2],
			[' padded ', 2],
		]);
		expect(Papa.parse<string[]>('id,x\n"ab"cd,e\n"say ""hi""",1\n" padded " ,2\n', PAPA).data.map((r) => [r[0], r.length])).toEqual(
			seen.records.map((r) => [r.first, r.fieldCount]),
		);
	});

	it('reads CR-only files as papaparse does (three rows, not one)', () => {
		const seen = tokenize(Buffer.from('phone,name\r+911,a\r+912,b\r+913,c', 'utf8'));
		expect(seen.newline).toBe('\r');
		expect(seen.records.map((r) => r.first)).toEqual(['phone', '+911', '+912', '+913']);
	});

	it('decodes bytes that are not UTF-8 as papaparse sees them after Buffer#toString', () => {
		const bytes = Buffer.concat([
			Buffer.from('id,x\n', 'utf8'),
			Buffer.from([0xe2, 0x80, 0x2c, 0x61, 0x0a]),
			Buffer.from([0x22, 0x61, 0x22, 0xc2, 0x2c, 0x62, 0x0a]),
			Buffer.from([0xff, 0xfe, 0x22, 0x0a, 0x22, 0x0a]),
		]);
		expectAgreement(bytes, [], 'invalid UTF-8');
		everySplit(bytes, (cuts) => expectAgreement(bytes, cuts, 'invalid UTF-8'));
	});

	describe('the line break guess looks at the first 1024 × 1024 characters, as papaparse does', () => {
		const WINDOW = 1024 * 1024;

		it('matches guessNewline to papaparse on texts decided past the window', () => {
			// CR first; inside the window most CRs are lone, past it every one is CRLF (and there are more of them).
			const inside = 'h\r' + 'x\r'.repeat(WINDOW / 4) + 'y'.repeat(WINDOW / 2);
			const text = inside + 'z\r\n'.repeat(WINDOW / 2);
			expect(guessNewline(text)).toBe(Papa.parse(text, { ...PAPA, preview: 1 }).meta.linebreak);
			expect(guessNewline(text)).toBe('\r');
			expectAgreement(Buffer.from(text, 'utf8'), [], 'window');
		});

		it('counts the window in characters, not bytes: multi-byte letters take one (or two) of its characters each', () => {
			// 1,001 lone CRs, then letters, then CRLF lines. Counted in characters the window reaches
			// ~170,000 CRLFs (CRLF wins); counted in bytes it would end inside the letters (CR would).
			const text = `h\r${'x\r'.repeat(1000)}${'प'.repeat(WINDOW / 2)}${'a\r\n'.repeat(WINDOW / 4)}`;
			expect(guessNewline(text)).toBe('\r\n');
			const bytes = Buffer.from(text, 'utf8');
			expectAgreement(bytes, [], 'multi-byte window');
			expectAgreement(bytes, [3, 1000, 65536, bytes.length - 7], 'multi-byte window, cut');
			// Letters outside the BMP are two characters each: 1,000 CRLF lines stay inside the window.
			const astral = `h\r${'x\r'.repeat(100)}${'😀'.repeat((WINDOW - 3202) / 2)}${'a\r\n'.repeat(2000)}`;
			expect(guessNewline(astral)).toBe('\r\n');
			expect(guessNewline(astral.replace(/(a\r\n){1000}$/, ''))).toBe('\r\n');
			expect(guessNewline(`h\r${'x\r'.repeat(100)}${'😀'.repeat((WINDOW - 202) / 2)}${'a\r\n'.repeat(2000)}`)).toBe('\r');
			expectAgreement(Buffer.from(astral, 'utf8'), [7, 65536], 'astral window');
		});

		it('keeps a quote that closes only past the window, and counts what follows it, fed in any pieces', () => {
			// Lone CRs, then a quoted part of CRLFs. Closed inside the window, the quoted CRLFs are left
			// out (CR); closed past it, the quote is unpaired in the window and they count (CRLF).
			const start = 'h\r' + 'x\r'.repeat(20_000) + '"';
			const quoted = 'y\r\n'.repeat(400_000);
			for (const [closeAt, expected] of [[WINDOW - 100_000, '\r'], [WINDOW + 10, '\r\n']] as const) {
				const text = start + quoted.slice(0, closeAt - start.length) + '"' + 'z\r'.repeat(1000);
				expect(Papa.parse(text, { ...PAPA, preview: 1 }).meta.linebreak).toBe(expected);
				expect(guessNewline(text)).toBe(expected);
				const bytes = Buffer.from(text, 'utf8');
				for (const cuts of [[], [start.length, WINDOW - 1, WINDOW + 1], [65_536, 131_072, 777_777]]) {
					const tokenizer = new CsvTokenizer(() => undefined, { newlineOnly: true });
					let from = 0;
					for (const cut of [...cuts, bytes.length]) {
						tokenizer.write(bytes.subarray(from, cut));
						from = cut;
					}
					tokenizer.end();
					expect(tokenizer.newline).toBe(expected);
				}
			}
		});

		it('decides LF at once, without holding the file, when an LF comes before any CR', () => {
			const records: number[] = [];
			const tokenizer = new CsvTokenizer((record) => void records.push(record.row));
			tokenizer.write(Buffer.from('phone,name\n1,a\n2,b\n'));
			expect(tokenizer.newline).toBe('\n');
			expect(records).toEqual([0, 1, 2]);
		});

		it('holds at most the window when the first line break is a CR', () => {
			const records: number[] = [];
			const tokenizer = new CsvTokenizer((record) => void records.push(record.row));
			const line = Buffer.from('+911,a\r\n'.repeat(8192));
			let written = 0;
			tokenizer.write(Buffer.from('phone,name\r\n'));
			while (tokenizer.newline === undefined) {
				tokenizer.write(line);
				written += line.length;
				expect(written).toBeLessThan(WINDOW + 2 * line.length);
			}
			expect(tokenizer.newline).toBe('\r\n');
			expect(records.length).toBeGreaterThan(WINDOW / 8);
		});
	});

	it('stops after a record when asked, and goes on from there on resume', () => {
		const rows: number[] = [];
		const tokenizer: CsvTokenizer = new CsvTokenizer((record) => {
			rows.push(record.row);
			if (record.row === 2) tokenizer.pause();
		});
		tokenizer.write(Buffer.from('id\n1\n2\n3\n4'));
		expect(rows).toEqual([0, 1, 2]);
		expect(tokenizer.paused).toBe(true);
		tokenizer.resume();
		tokenizer.end();
		expect(rows).toEqual([0, 1, 2, 3, 4]);
	});

	it('reports a first field longer than its limit as undefined, and still reads the record right', () => {
		const firsts: Array<string | undefined> = [];
		const tokenizer = new CsvTokenizer((record) => void firsts.push(record.firstField()), { firstFieldLimit: 8 });
		// The limit counts bytes as written: `"1234""56"` keeps 8 between its quotes.
		tokenizer.write(Buffer.from('id,x\n12345678,a\n123456789,b\n"1234""56",c\n"1234""567",d\n'));
		tokenizer.end();
		expect(firsts).toEqual(['id', '12345678', undefined, '1234"56', undefined]);
	});

	it('gives the header fields, and the byte range of each record', () => {
		const fields: string[][] = [];
		const ranges: Array<[number, number]> = [];
		const tokenizer = new CsvTokenizer((record) => {
			if (record.row === 0) fields.push(record.fields() ?? []);
			ranges.push([record.start, record.end]);
		});
		tokenizer.write(Buffer.from('\ufeff"phone", full name ,"a ""b"""\r\n\r\n1,2,3\r\n4,5,6', 'utf8'));
		tokenizer.end();
		expect(fields).toEqual([['phone', ' full name ', 'a "b"']]);
		// The BOM (3 bytes) comes before the header; the blank line between records belongs to none.
		expect(ranges).toEqual([
			[3, 34],
			[36, 43],
			[43, 48],
		]);
	});
});

describe('CsvTokenizer against papaparse on random files', () => {
	const seed = Number(process.env.CSV_PROPERTY_SEED ?? Math.floor(Math.random() * 2 ** 32));
	const FILES = Number(process.env.CSV_PROPERTY_FILES ?? 12_000);

	// Weighted toward what decides records: quotes, commas, CR and LF, spaces after quotes, BOMs,
	// letters of 2, 3 and 4 bytes, and Unicode white space papaparse trims after a closing quote.
	const alphabet: Array<[string, number]> = [
		['"', 14],
		[',', 10],
		['\r', 7],
		['\n', 7],
		['\r\n', 6],
		[' ', 6],
		['""', 4],
		['a', 8],
		['b', 4],
		['\ufeff', 2],
		['\t', 1],
		['\u00a0', 1],
		['\u2028', 1],
		['é', 2],
		['प', 2],
		['😀', 2],
	];
	const total = alphabet.reduce((sum, [, weight]) => sum + weight, 0);

	function randomText(random: () => number): string {
		const pick = () => {
			let at = random() * total;
			for (const [piece, weight] of alphabet) if ((at -= weight) < 0) return piece;
			return 'a';
		};
		if (random() < 0.3) {
			// A file as a writer would make it (quoted where needed), then damaged a little.
			const newline = ['\n', '\r\n', '\r'][Math.floor(random() * 3)];
			const lines: string[] = [];
			for (let r = Math.floor(random() * 8); r >= 0; r--) {
				const cells: string[] = [];
				for (let c = 1 + Math.floor(random() * 4); c > 0; c--) {
					let cell = '';
					for (let k = Math.floor(random() * 5); k > 0; k--) cell += pick();
					cells.push(/[",\r\n]|^\s|\s$/.test(cell) || random() < 0.2 ? `"${cell.replace(/"/g, '""')}"` : cell);
				}
				lines.push(cells.join(','));
			}
			let text = lines.join(newline) + (random() < 0.5 ? newline : '');
			if (random() < 0.3) {
				const at = Math.floor(random() * (text.length + 1));
				text = text.slice(0, at) + pick() + text.slice(at);
			}
			return (random() < 0.1 ? '\ufeff' : '') + text;
		}
		let text = random() < 0.1 ? '\ufeff' : '';
		for (let n = Math.floor(random() * 40); n > 0; n--) text += pick();
		return text;
	}

	/** Random cut points, with extra weight on the awkward ones: after a CR, after a quote, inside a letter. */
	function randomCuts(bytes: Buffer, random: () => number): number[] {
		const cuts: number[] = [];
		for (let at = 0; at < bytes.length; at++) {
			const awkward = bytes[at] === 0x0d || bytes[at] === 0x22 || (bytes[at + 1] !== undefined && (bytes[at + 1] & 0xc0) === 0x80);
			if (random() < (awkward ? 0.35 : 0.08)) cuts.push(at + 1);
		}
		return cuts;
	}

	it(`agrees on ${FILES} files, however their bytes are split`, () => {
		process.stdout.write(`CsvTokenizer property test: seed ${seed} (set CSV_PROPERTY_SEED to repeat it)\n`);
		const random = prng(seed);
		let records = 0;
		for (let file = 0; file < FILES; file++) {
			const bytes = Buffer.from(randomText(random), 'utf8');
			const context = `seed ${seed}, file ${file}`;
			expectAgreement(bytes, [], context);
			expectAgreement(bytes, randomCuts(bytes, random), context);
			// Paused after some records, and reading in steps of a few bytes, as the node drives it.
			const driving = { pauseEvery: 1 + Math.floor(random() * 3), stepBytes: 1 + Math.floor(random() * 16) };
			expectAgreement(bytes, randomCuts(bytes, random), `${context}, ${JSON.stringify(driving)}`, driving);
			records += papa(bytes).records.length;
		}
		// The files are not all trivial.
		expect(records).toBeGreaterThan(FILES);
	});
});

describe('the file reading\'s steps', () => {
	it('reads at most 64 KiB of rows between pauses, so the event loop gets a turn every few milliseconds', () => {
		// A file's first rows are read by code not yet optimised: a quarter of a megabyte of rows took
		// 16–20 ms then on a slow machine, most of the longest block while a 10M-row file was sent.
		const rows = Array.from({ length: 100_000 }, (_, i) => `+91${i},Customer ${i}`).join('\r\n');
		const bytes = Buffer.from(`phone,name\r\n${rows}\r\n`);
		let records = 0;
		const tokenizer = new CsvTokenizer(() => records++, STREAMING_TOKENIZER);
		// As the file's reader does: a chunk in slices, each written on a turn of its own, then resumed a step per turn.
		const steps: number[] = [];
		let from = 0;
		const step = () => {
			steps.push(tokenizer.scanned - from);
			from = tokenizer.scanned;
		};
		for (const slice of slices(bytes)) {
			tokenizer.write(slice);
			step();
			while (tokenizer.paused) {
				tokenizer.resume();
				step();
			}
		}
		tokenizer.end();
		expect(records).toBe(100_001);
		expect(steps.length).toBeGreaterThan(bytes.length / (64 << 10));
		// A step ends after the row that crosses 64 KiB.
		expect(Math.max(...steps)).toBeLessThanOrEqual((64 << 10) + 64);
	});
});

describe('the line break guess, a slice at a time', () => {
	it('decodes the start of a CRLF file as its slices come, never more than one slice in one go', () => {
		// papaparse guesses from the first 1024 × 1024 characters: decoding and scanning them in one go
		// held the event loop for 40–60 ms on a 2-core machine (a MiB copied, decoded and walked in one turn).
		const row = '+919000000001,Customer 1,"offer 1, limited",12.5\r\n';
		const text = `phone,name,offer,amount\r\n${row.repeat(Math.ceil((1.5 * 1024 * 1024) / row.length))}`;
		const bytes = Buffer.from(text);
		// Every way the tokenizer may decode bytes: Buffer#toString and a StringDecoder.
		const decoded: number[] = [];
		const toString = Buffer.prototype.toString;
		const write = StringDecoder.prototype.write;
		const spies = [
			jest.spyOn(Buffer.prototype, 'toString').mockImplementation(function (this: Buffer, ...args: unknown[]) {
				decoded.push(this.length);
				return toString.apply(this, args as Parameters<Buffer['toString']>);
			}),
			jest.spyOn(StringDecoder.prototype, 'write').mockImplementation(function (this: StringDecoder, buffer: string | NodeJS.ArrayBufferView) {
				decoded.push(typeof buffer === 'string' ? buffer.length : buffer.byteLength);
				return write.call(this, buffer);
			}),
		];
		try {
			for (const newlineOnly of [false, true]) {
				const tokenizer = new CsvTokenizer(() => undefined, { ...STREAMING_TOKENIZER, newlineOnly });
				for (const slice of slices(bytes)) {
					tokenizer.write(slice);
					while (tokenizer.paused) tokenizer.resume();
					if (tokenizer.newline) break;
				}
				expect(tokenizer.newline).toBe('\r\n');
			}
		} finally {
			for (const spy of spies) spy.mockRestore();
		}
		expect(decoded.length).toBeGreaterThan(0);
		expect(Math.max(...decoded)).toBeLessThanOrEqual(64 << 10);
	});
});

describe('a tokenizer that only guesses the line break', () => {
	it('finds the line break papaparse takes without reading a record, and lets the held input go', () => {
		// CRLF: the guess needs the first MiB of text; a tokenizer that only guesses keeps none of it.
		const row = '+919000000001,Customer 1,"offer 1, limited",12.5\r\n';
		const text = `phone,name,offer,amount\r\n${row.repeat(Math.ceil((1.5 * 1024 * 1024) / row.length))}`;
		let records = 0;
		const guess = new CsvTokenizer(() => records++, { newlineOnly: true });
		for (const slice of slices(Buffer.from(text))) guess.write(slice);
		guess.end();

		expect(guess.newline).toBe(Papa.parse(text.slice(0, 4096)).meta.linebreak);
		expect(guess.newline).toBe('\r\n');
		expect(records).toBe(0);
		expect(guess.scanned).toBe(0);
	});

	it('decides at the end what a short input holds, as the reading tokenizer does', () => {
		for (const text of ['a,b\rc,d\r', 'a,b\nc,d\n', 'a,b\r\nc,d']) {
			const only = new CsvTokenizer(() => undefined, { newlineOnly: true });
			const reading = new CsvTokenizer(() => undefined);
			only.write(Buffer.from(text));
			reading.write(Buffer.from(text));
			only.end();
			reading.end();
			expect(only.newline).toBe(reading.newline);
		}
	});
});
