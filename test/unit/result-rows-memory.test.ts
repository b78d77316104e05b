/**
 * A task's result rows, read as items, can stay in memory by the million: what one row costs is
 * measured here on the live heap (a full collection before and after), with one-character cells,
 * which V8 does not allocate, so the figure is the row's own objects.
 */
import { Readable } from 'node:stream';

import { parseResultCsv } from '../../nodes/Whilter/api/resultCsv';
import { liveHeap, oneCharacterCsvLine } from '../harness/heap';

async function* csvOf(rows: number, columns: string[]): AsyncGenerator<string> {
	yield `${columns.join(',')}\r\n`;
	const line = oneCharacterCsvLine(columns);
	for (let i = 0; i < rows; i += 1000) yield line.repeat(Math.min(1000, rows - i));
}

describe('result rows in memory', () => {
	it('keeps a column named __proto__ as a column, and the row a plain object', async () => {
		const rows: Array<Record<string, string>> = [];
		for await (const row of parseResultCsv(Readable.from(['phone,__proto__,error\r\n+911,{"x":1},\r\n']))) rows.push(row.values);
		expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype);
		expect(Object.keys(rows[0])).toEqual(['phone', '__proto__', 'error']);
		expect(Object.getOwnPropertyDescriptor(rows[0], '__proto__')?.value).toBe('{"x":1}');
		expect(JSON.parse(JSON.stringify(rows[0]))).toEqual(JSON.parse('{"phone":"+911","__proto__":"{\\"x\\":1}","error":""}'));
	});

	it('makes one object of each row of six columns, every column in it: 24 bytes and one slot a column', async () => {
		const count = 200_000;
		const columns = ['phone', 'name', 'city', 'note', 'media-url', 'error'];
		const kept = new Array<Record<string, string>>(count);
		let n = 0;
		// Warm-up: the parser's code and the row's shape exist before the baseline.
		for await (const row of parseResultCsv(Readable.from(csvOf(10, columns)))) void row;
		const before = liveHeap();
		for await (const row of parseResultCsv(Readable.from(csvOf(count, columns)))) kept[n++] = row.values;
		const perRow = (liveHeap() - before) / count;
		expect(n).toBe(count);
		expect(kept[count - 1]).toEqual({ phone: 'a', name: 'b', city: 'c', note: 'd', 'media-url': 'e', error: 'f' });
		// A row built up from {} holds four columns in place and the rest in a second allocation:
		// 24 + 4×8 + 16 + 3×8 = 96 bytes on 64-bit V8. In one object: 24 + 6×8 = 72.
		expect(perRow).toBeLessThan(80);
	});
});
