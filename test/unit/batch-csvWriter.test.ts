import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import type { IDataObject } from 'n8n-workflow';
import Papa from 'papaparse';

import { createItemsCsvStream, escapeCsvField, formatCell } from '../../nodes/Whilter/batch/csvWriter';
import type { CellOptions } from '../../nodes/Whilter/batch/csvWriter';
import { InputError } from '../../nodes/shared/errors';
import { errorOf } from '../harness/errors';
import { countTurns } from '../harness/turns';

const strict: CellOptions = { nestedValues: 'error', neutraliseFormulas: false };
const at = { itemIndex: 3, field: 'address' };

async function readAll(stream: Readable): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks).toString('utf8');
}

function parse(csv: string): string[][] {
	const result = Papa.parse<string[]>(csv, { delimiter: ',', newline: '\r\n', skipEmptyLines: false });
	expect(result.errors).toEqual([]);
	// The last record ends with CRLF, which papaparse reports as one empty row.
	expect(result.data[result.data.length - 1]).toEqual(['']);
	return result.data.slice(0, -1);
}

describe('escapeCsvField (RFC 4180)', () => {
	it.each([
		['plain', 'plain'],
		['', ''],
		['a,b', '"a,b"'],
		['say "hi"', '"say ""hi"""'],
		['"', '""""'],
		['two\r\nlines', '"two\r\nlines"'],
		['lf\nonly', '"lf\nonly"'],
		['cr\ronly', '"cr\ronly"'],
		[' lead', '" lead"'],
		['trail ', '"trail "'],
		['\ttab', '"\ttab"'],
		['nbsp\u00a0', '"nbsp\u00a0"'],
		['\u3000ideographic', '"\u3000ideographic"'],
		['in side', 'in side'],
		['प्रिया शर्मा', 'प्रिया शर्मा'],
		['தமிழ்ச்செல்வி', 'தமிழ்ச்செல்வி'],
		['24" screen', '"24"" screen"'],
		["it's", "it's"],
	])('%p → %p', (text, escaped) => {
		expect(escapeCsvField(text)).toBe(escaped);
	});
});

describe('formatCell', () => {
	it('writes null and undefined as empty, strings as they are', () => {
		expect(formatCell(null, strict, at)).toBe('');
		expect(formatCell(undefined, strict, at)).toBe('');
		expect(formatCell('', strict, at)).toBe('');
		expect(formatCell(' a,"b" ', strict, at)).toBe(' a,"b" ');
	});

	it('writes numbers, booleans and bigints as String does, dates as ISO 8601', () => {
		expect([0, -0, 1.5, -2, 1e21, 12345678901234, Number.MAX_SAFE_INTEGER].map((v) => formatCell(v, strict, at))).toEqual(
			[0, -0, 1.5, -2, 1e21, 12345678901234, Number.MAX_SAFE_INTEGER].map(String),
		);
		expect(formatCell(true, strict, at)).toBe('true');
		expect(formatCell(false, strict, at)).toBe('false');
		expect(formatCell(12n ** 30n, strict, at)).toBe(String(12n ** 30n));
		expect(formatCell(new Date('2026-01-02T03:04:05Z'), strict, at)).toBe('2026-01-02T03:04:05.000Z');
	});

	it('names the item and field of a nested object or array', () => {
		const object = errorOf(() => formatCell({ city: 'Pune' }, strict, at));
		expect(object.message).toBe(
			'Item 3, field "address": a nested object cannot be a CSV cell; set the "Nested Values" option to "Write as JSON", or flatten it first (e.g. with a Set or Code node)',
		);
		expect(object.details).toEqual({ itemIndex: 3, field: 'address' });
		expect(errorOf(() => formatCell(['a'], strict, { itemIndex: 0, field: 'tags' })).message).toMatch(/^Item 0, field "tags": an array cannot/);
	});

	it('writes nested values as JSON when asked', () => {
		const json: CellOptions = { nestedValues: 'json', neutraliseFormulas: false };
		expect(formatCell({ city: 'Pune', pin: 411001 }, json, at)).toBe('{"city":"Pune","pin":411001}');
		expect(formatCell(['प्रिया', 1, null], json, at)).toBe('["प्रिया",1,null]');
		expect(formatCell({}, json, at)).toBe('{}');
	});

	it('names the item and field of a value JSON cannot write, an invalid date or a function', () => {
		const json: CellOptions = { nestedValues: 'json', neutraliseFormulas: false };
		const circular: IDataObject = { a: 1 };
		circular.self = circular;
		expect(errorOf(() => formatCell(circular, json, at)).message).toMatch(/^Item 3, field "address": the value cannot be written as JSON/);
		// n8n-workflow (always loaded in n8n) teaches JSON.stringify to write a bigint as its digits.
		expect(formatCell({ big: 1n }, json, at)).toBe('{"big":"1"}');
		expect(errorOf(() => formatCell(new Date('nonsense'), json, at)).message).toBe('Item 3, field "address": an invalid date cannot be a CSV cell');
		expect(errorOf(() => formatCell(() => 1, json, at)).message).toBe('Item 3, field "address": a function cannot be a CSV cell');
	});

	describe('formula neutralisation (OWASP CSV injection)', () => {
		const neutral: CellOptions = { nestedValues: 'error', neutraliseFormulas: true };

		it.each(['=SUM(A1:A9)', '+91 98765', '-2+3', '@cmd', '\tx', '\rx', '=HYPERLINK("http://x","y")'])('prefixes %p', (text) => {
			expect(formatCell(text, neutral, at)).toBe(`'${text}`);
			expect(formatCell(text, strict, at)).toBe(text);
		});

		it.each(['ok', '', ' =x', "'=already", 'a=b', 'प्रिया'])('leaves %p alone', (text) => {
			expect(formatCell(text, neutral, at)).toBe(text);
		});

		it('leaves numbers alone (a number is never a formula) and still quotes what needs it', () => {
			expect(formatCell(-5, neutral, at)).toBe('-5');
			expect(escapeCsvField(formatCell('=A1,B1', neutral, at))).toBe(`"'=A1,B1"`);
			expect(formatCell({ a: 1 }, { nestedValues: 'json', neutraliseFormulas: true }, at)).toBe('{"a":1}');
		});
	});
});

describe('createItemsCsvStream', () => {
	const tricky: IDataObject[] = [
		{ phone: '+919800000001', name: 'प्रिया शर्मा', note: 'a,"b"\r\nc', amount: 1200.5, vip: true },
		{ phone: '+919800000002', name: 'தமிழ்ச்செல்வி', note: '  spaced  ', amount: 0, vip: false },
		{ phone: 919800000003, name: null, note: 'lf\nonly', amount: -7 },
		{ phone: '+919800000004', name: 'Ravi "RK" Kumar', note: 'cr\ronly', amount: 10n as unknown as IDataObject[string], vip: null },
		{ phone: '+919800000005', name: '', note: ',', when: new Date('2026-02-03T04:05:06Z') },
	];
	const columns = ['phone', 'name', 'note', 'amount', 'vip', 'when'];

	it('writes a header, then the chosen rows with CRLF, and parses back to exactly the input', async () => {
		const csv = await readAll(createItemsCsvStream({ rows: tricky, indexes: [0, 1, 2, 3, 4], columns, cellOptions: strict }));
		expect(csv.startsWith('phone,name,note,amount,vip,when\r\n')).toBe(true);
		expect(csv.endsWith('\r\n')).toBe(true);
		expect(parse(csv)).toEqual([
			columns,
			['+919800000001', 'प्रिया शर्मा', 'a,"b"\r\nc', '1200.5', 'true', ''],
			['+919800000002', 'தமிழ்ச்செல்வி', '  spaced  ', '0', 'false', ''],
			['919800000003', '', 'lf\nonly', '-7', '', ''],
			['+919800000004', 'Ravi "RK" Kumar', 'cr\ronly', '10', '', ''],
			['+919800000005', '', ',', '', '', '2026-02-03T04:05:06.000Z'],
		]);
		// UTF-8, no BOM: the Hindi name is in the bytes as UTF-8.
		const bytes = Buffer.from(csv, 'utf8');
		expect(bytes.includes(Buffer.from('प्रिया शर्मा', 'utf8'))).toBe(true);
		expect(bytes[0]).toBe(0x70);
	});

	it('writes exactly these bytes for a simple case', async () => {
		const csv = await readAll(
			createItemsCsvStream({ rows: [{ id: 'a', v: 1 }, { id: 'b', v: 'x y' }], indexes: [0, 1], columns: ['id', 'v'], cellOptions: strict }),
		);
		expect(csv).toBe('id,v\r\na,1\r\nb,x y\r\n');
	});

	it('writes only the rows in indexes, in their order', async () => {
		const csv = await readAll(createItemsCsvStream({ rows: tricky, indexes: [4, 0], columns: ['phone'], cellOptions: strict }));
		expect(csv).toBe('phone\r\n+919800000005\r\n+919800000001\r\n');
	});

	it('writes only the header when there are no rows, and quotes headers that need it', async () => {
		expect(await readAll(createItemsCsvStream({ rows: [], indexes: [], columns: ['phone', 'full name', 'a,b'], cellOptions: strict }))).toBe(
			'phone,full name,"a,b"\r\n',
		);
	});

	it('writes an empty one-column row as "" so it is not a blank line', async () => {
		const csv = await readAll(createItemsCsvStream({ rows: [{ x: '' }, { x: null }, { x: 'a' }], indexes: [0, 1, 2], columns: ['x'], cellOptions: strict }));
		expect(csv).toBe('x\r\n""\r\n""\r\na\r\n');
		expect(parse(csv)).toEqual([['x'], [''], [''], ['a']]);
	});

	it('writes nested values as JSON and neutralises formulas when asked', async () => {
		const rows: IDataObject[] = [{ id: '1', address: { city: 'Pune', lines: ['a', 'b'] }, f: '=1+1', n: -1 }];
		const csv = await readAll(
			createItemsCsvStream({ rows, indexes: [0], columns: ['id', 'address', 'f', 'n'], cellOptions: { nestedValues: 'json', neutraliseFormulas: true } }),
		);
		expect(parse(csv)[1]).toEqual(['1', '{"city":"Pune","lines":["a","b"]}', "'=1+1", '-1']);
	});

	it('round-trips random rows of awkward text exactly, in batches of many sizes', async () => {
		const pieces = ['a', ' ', ',', '"', '\r', '\n', '\r\n', 'प्रिया', 'தமிழ்', '=', '😀', 'x y', '\t', '""', "'"];
		let seed = 11;
		const random = () => {
			seed = (seed * 1103515245 + 12345) % 2 ** 31;
			return seed / 2 ** 31;
		};
		const rows: IDataObject[] = [];
		for (let i = 0; i < 3000; i++) {
			const row: IDataObject = { id: `id-${i}` };
			for (const column of ['a', 'b', 'c']) {
				let text = '';
				const length = Math.floor(random() * 8);
				for (let k = 0; k < length; k++) text += pieces[Math.floor(random() * pieces.length)];
				row[column] = text;
			}
			rows.push(row);
		}
		for (const batchRows of [1, 7, 500, 5000]) {
			const csv = await readAll(
				createItemsCsvStream({ rows, indexes: rows.map((_, i) => i), columns: ['id', 'a', 'b', 'c'], cellOptions: strict, batchRows }),
			);
			expect(parse(csv)).toEqual([['id', 'a', 'b', 'c'], ...rows.map((row) => [row.id, row.a, row.b, row.c])]);
		}
	});

	it('fails the stream with the InputError of a bad cell found while writing', async () => {
		const rows: IDataObject[] = [{ id: '1', x: 'a' }, { id: '2', x: { deep: true } }];
		const stream = createItemsCsvStream({ rows, indexes: [0, 1], columns: ['id', 'x'], cellOptions: strict });
		const error = await readAll(stream).then(
			() => undefined,
			(failure: unknown) => failure,
		);
		expect(error).toBeInstanceOf(InputError);
		expect((error as InputError).message).toMatch(/^Item 1, field "x": a nested object/);
		expect((error as InputError).details).toEqual({ itemIndex: 1, field: 'x' });
	});

	it('fails a pipeline too (the error reaches whoever consumes the CSV)', async () => {
		const rows: IDataObject[] = Array.from({ length: 10_000 }, (_, i) => ({ id: String(i), x: i === 9_000 ? [1] : 'v' }));
		const sink = new Writable({
			write(_chunk, _encoding, callback) {
				callback();
			},
		});
		await expect(
			pipeline(createItemsCsvStream({ rows, indexes: rows.map((_, i) => i), columns: ['id', 'x'], cellOptions: strict, batchRows: 100 }), sink),
		).rejects.toThrow(/Item 9000, field "x": an array/);
	});

	/** Rows that count how many were read by the writer. */
	function countedRows(count: number): { rows: IDataObject[]; indexes: number[]; reads: () => number } {
		const rows: IDataObject[] = Array.from({ length: count }, (_, i) => ({ id: String(i), v: 'x'.repeat(50) }));
		let reads = 0;
		const counted = new Proxy(rows, {
			get(target, key, receiver) {
				if (typeof key === 'string' && key.charCodeAt(0) >= 48 && key.charCodeAt(0) <= 57) reads++;
				return Reflect.get(target, key, receiver) as unknown;
			},
		});
		return { rows: counted, indexes: Array.from({ length: count }, (_, i) => i), reads: () => reads };
	}

	const turns = async (count: number) => {
		for (let i = 0; i < count; i++) await new Promise<void>((resolve) => setImmediate(resolve));
	};

	it('makes rows only as the reader asks (backpressure): a reader that stops stops the writer', async () => {
		const { rows, indexes, reads } = countedRows(200_000);
		const stream = createItemsCsvStream({ rows, indexes, columns: ['id', 'v'], cellOptions: strict, batchRows: 1000 });
		expect(reads()).toBe(0);
		const first = await new Promise<Buffer>((resolve) => stream.once('data', (chunk: Buffer) => resolve(chunk)));
		stream.pause();
		expect(first.toString()).toBe('id,v\r\n');
		await turns(50);
		// The stream buffers up to 256 KiB (about 4 batches of 1000 rows of 58 bytes) and then waits.
		const held = reads();
		expect(held).toBeGreaterThan(0);
		expect(held).toBeLessThanOrEqual(6_000);
		await turns(50);
		expect(reads()).toBe(held);
		const rest = await readAll(stream);
		expect(rest.split('\r\n').length - 1).toBe(200_000);
		expect(reads()).toBe(200_000);
	});

	it('stops making rows when destroyed', async () => {
		const { rows, indexes, reads } = countedRows(100_000);
		const stream = createItemsCsvStream({ rows, indexes, columns: ['id', 'v'], cellOptions: strict, batchRows: 1000 });
		stream.resume();
		await turns(3);
		stream.destroy();
		const at = reads();
		await turns(20);
		expect(reads()).toBe(at);
		expect(at).toBeLessThan(100_000);
	});

	it('gives the event loop a turn between batches even to a reader that never waits', async () => {
		const { rows, indexes } = countedRows(50_000);
		const turns = countTurns();
		const csv = await readAll(createItemsCsvStream({ rows, indexes, columns: ['id', 'v'], cellOptions: strict, batchRows: 1000 }));
		const ticks = turns.stop();
		expect(csv.length).toBeGreaterThan(50_000 * 50);
		// 50 batches: the other task ran between them.
		expect(ticks).toBeGreaterThanOrEqual(40);
	});

	it('ends a batch early when its text is large, so no turn is long', async () => {
		const rows: IDataObject[] = Array.from({ length: 40 }, (_, i) => ({ id: String(i), big: 'y'.repeat(100_000) }));
		const stream = createItemsCsvStream({ rows, indexes: rows.map((_, i) => i), columns: ['id', 'big'], cellOptions: strict, batchRows: 2000 });
		const sizes: number[] = [];
		for await (const chunk of stream) sizes.push((chunk as Buffer).length);
		expect(sizes.length).toBeGreaterThan(3);
		expect(Math.max(...sizes)).toBeLessThan(1.2 * 2 ** 20);
		expect(sizes.reduce((a, b) => a + b, 0)).toBe(Buffer.byteLength('id,big\r\n') + 40 * (100_000 + 4) + 30 * 1);
	});
});
