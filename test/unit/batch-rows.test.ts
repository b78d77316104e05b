import type { IDataObject } from 'n8n-workflow';
import Papa from 'papaparse';

import { createItemsCsvStream } from '../../nodes/Whilter/batch/csvWriter';
import { InputError } from '../../nodes/shared/errors';
import { itemsWritten, planItemRows, planItemRowsAsync } from '../../nodes/Whilter/batch/rows';
import type { RowPlanOptions } from '../../nodes/Whilter/batch/rows';
import { errorOf } from '../harness/errors';
import { countTurns } from '../harness/turns';

const base: RowPlanOptions = { identifier: 'phone', skipInvalidRows: false, duplicateIdentifiers: 'error', nestedValues: 'error' };

describe('planItemRows: columns', () => {
	it('puts the identifier first, then every key in first-seen order across rows', () => {
		const plan = planItemRows([{ name: 'a', phone: '1' }, { city: 'x', phone: '2', name: 'b' }, { phone: '3', zip: 4 }], base);
		expect(plan.columns).toEqual(['phone', 'name', 'city', 'zip']);
		expect(itemsWritten(plan)).toEqual([0, 1, 2]);
	});

	it('adds the identifier first to a picked column list that lacks it, once', () => {
		const rows = [{ name: 'a', phone: '1', city: 'c' }];
		expect(planItemRows(rows, { ...base, columns: ['city', 'name'] }).columns).toEqual(['phone', 'city', 'name']);
		expect(planItemRows(rows, { ...base, columns: ['city', 'phone', 'name', 'city'] }).columns).toEqual(['phone', 'city', 'name']);
		expect(planItemRows(rows, { ...base, columns: [' city ', ''] }).columns).toEqual(['phone', 'city']);
		// An empty pick means "all columns".
		expect(planItemRows(rows, { ...base, columns: [] }).columns).toEqual(['phone', 'name', 'city']);
	});

	it('takes columns only from the rows that are written', () => {
		const plan = planItemRows([{ phone: '1', a: 1 }, { b: 2 }, { phone: '1', c: 3 }], {
			...base,
			skipInvalidRows: true,
			duplicateIdentifiers: 'keepFirst',
		});
		expect(plan.columns).toEqual(['phone', 'a']);
	});

	it('trims the identifier parameter and refuses an empty one, naming the parameter', () => {
		expect(planItemRows([{ phone: '1' }], { ...base, identifier: ' phone ' }).columns).toEqual(['phone']);
		const error = errorOf(() => planItemRows([{ phone: '1' }], { ...base, identifier: '  ' }));
		expect(error.message).toMatch(/"Identifier Column" parameter is empty/);
		expect(error.details.parameter).toBe('identifierColumn');
	});
});

describe('planItemRows: identifiers', () => {
	it.each([
		[{}, 'the identifier is missing'],
		[{ phone: null }, 'the identifier is missing'],
		[{ phone: '' }, 'the identifier is empty'],
		[{ phone: '   ' }, 'the identifier is empty'],
		[{ phone: { n: 1 } }, 'the identifier must be text or a number, not an object'],
		[{ phone: ['1'] }, 'the identifier must be text or a number, not an array'],
		[{ phone: true }, 'the identifier must be text or a number, not a boolean'],
		[{ phone: Number.NaN }, 'the identifier must be a finite number, not NaN'],
	] as Array<[IDataObject, string]>)('%p: an error naming the item and field, or a skip with the reason', (bad, reason) => {
		const rows: IDataObject[] = [{ phone: '1' }, { phone: '2' }, bad];
		const error = errorOf(() => planItemRows(rows, base));
		expect(error.message).toBe(`Item 2, field "phone": ${reason}`);
		expect(error.details).toMatchObject({ itemIndex: 2, field: 'phone' });
		expect(error.details.description).toMatch(/Skip Invalid Rows/);
		const plan = planItemRows(rows, { ...base, skipInvalidRows: true });
		expect(itemsWritten(plan)).toEqual([0, 1]);
		expect(plan.skipped).toEqual({ count: 1, first: [{ itemIndex: 2, reason }] });
	});

	it('accepts text and numbers, and counts but lists at most 100 skipped rows', () => {
		const rows: IDataObject[] = [{ phone: 919800000001 }, { phone: ' +91 98 ' }, ...Array.from({ length: 250 }, () => ({ name: 'x' }))];
		const plan = planItemRows(rows, { ...base, skipInvalidRows: true });
		expect(itemsWritten(plan)).toEqual([0, 1]);
		expect(plan.skipped.count).toBe(250);
		expect(plan.skipped.first).toHaveLength(100);
		expect(plan.skipped.first[99]).toEqual({ itemIndex: 101, reason: 'the identifier is missing' });
	});

	it('refuses a duplicate identifier (compared as trimmed text), naming both items', () => {
		const error = errorOf(() => planItemRows([{ phone: '7' }, { phone: 8 }, { phone: ' 7 ' }], base));
		expect(error.message).toBe('Items 0 and 2 have the same identifier: field "phone" is "7" in both (compared as trimmed text)');
		expect(error.details).toMatchObject({ itemIndex: 2, field: 'phone' });
		expect(errorOf(() => planItemRows([{ phone: 5 }, { phone: '5' }], base)).message).toMatch(/^Items 0 and 1 /);
	});

	it('keeps the first of each identifier when asked, reporting the rest (at most 100 listed)', () => {
		const plan = planItemRows([{ phone: '7', n: 1 }, { phone: 7, n: 2 }, { phone: '8' }, { phone: '7 ' }], { ...base, duplicateIdentifiers: 'keepFirst' });
		expect(itemsWritten(plan)).toEqual([0, 2]);
		expect(plan.duplicatesDropped).toEqual({ count: 2, first: [{ itemIndex: 1, identifier: '7' }, { itemIndex: 3, identifier: '7' }] });
		const many = planItemRows(
			Array.from({ length: 300 }, () => ({ phone: 'same' })),
			{ ...base, duplicateIdentifiers: 'keepFirst' },
		);
		expect(itemsWritten(many)).toEqual([0]);
		expect(many.duplicatesDropped.count).toBe(299);
		expect(many.duplicatesDropped.first).toHaveLength(100);
	});

	it('refuses to send nothing', () => {
		expect(errorOf(() => planItemRows([], base)).message).toBe('No rows to send: the node received no items');
		const error = errorOf(() => planItemRows([{}, { phone: ' ' }], { ...base, skipInvalidRows: true }));
		expect(error.message).toBe(
			'No rows to send: none of the 2 item(s) has a usable identifier in field "phone" (2 skipped; e.g. item 0: the identifier is missing)',
		);
		expect(error.details.field).toBe('phone');
	});
});

describe('planItemRows: cells', () => {
	it('refuses a nested object or array in a written column, naming item and field', () => {
		const rows: IDataObject[] = [{ phone: '1', address: 'Pune' }, { phone: '2', address: { city: 'Pune' } }];
		const error = errorOf(() => planItemRows(rows, base));
		expect(error.message).toMatch(/^Item 1, field "address": a nested object cannot be a CSV cell; set the "Nested Values" option to "Write as JSON"/);
		expect(error.details).toEqual({ itemIndex: 1, field: 'address' });
		expect(errorOf(() => planItemRows([{ phone: '1', tags: ['a'] }], base)).message).toMatch(/^Item 0, field "tags": an array/);
		expect(errorOf(() => planItemRows([{ phone: '1', tags: ['a'] }], { ...base, columns: ['tags'] })).message).toMatch(/field "tags"/);
	});

	it('allows nested values in JSON mode, in columns not written, and in rows not written', () => {
		expect(planItemRows([{ phone: '1', address: { city: 'Pune' } }], { ...base, nestedValues: 'json' }).columns).toEqual(['phone', 'address']);
		expect(itemsWritten(planItemRows([{ phone: '1', name: 'a', address: { city: 'Pune' } }], { ...base, columns: ['name'] }))).toEqual([0]);
		const plan = planItemRows([{ phone: '1' }, { phone: '1', x: [1] }, { x: { a: 1 } }], {
			...base,
			columns: ['x'],
			duplicateIdentifiers: 'keepFirst',
			skipInvalidRows: true,
		});
		expect(itemsWritten(plan)).toEqual([0]);
	});

	it('accepts dates and refuses invalid ones', () => {
		expect(itemsWritten(planItemRows([{ phone: '1', at: new Date(0) }], base))).toEqual([0]);
		expect(errorOf(() => planItemRows([{ phone: '1', at: new Date(Number.NaN) }], { ...base, nestedValues: 'json' })).message).toBe(
			'Item 0, field "at": an invalid date cannot be a CSV cell',
		);
	});

	it('does not copy or change the rows', () => {
		const rows = [Object.freeze({ phone: ' 1 ', a: Object.freeze({ b: 1 }) }), Object.freeze({ phone: 2 })] as IDataObject[];
		const plan = planItemRows(rows, { ...base, nestedValues: 'json' });
		expect(itemsWritten(plan)).toEqual([0, 1]);
		expect(rows[0].phone).toBe(' 1 ');
	});

	it('plans rows the writer then writes without failing, and they parse back', async () => {
		let seed = 3;
		const random = () => {
			seed = (seed * 1103515245 + 12345) % 2 ** 31;
			return seed / 2 ** 31;
		};
		const values: unknown[] = ['', ' x ', 'a,b', 'प्रिया', 1, 0, -2.5, true, null, undefined, new Date(0), { a: 1 }, [1, 'b'], '=1'];
		const rows: IDataObject[] = Array.from({ length: 2000 }, (_, i) => {
			const row: IDataObject = {};
			if (random() > 0.05) row.phone = random() > 0.5 ? `+91${i % 1500}` : i % 1500;
			for (const key of ['a', 'b', 'c']) if (random() > 0.2) row[key] = values[Math.floor(random() * values.length)] as IDataObject[string];
			return row;
		});
		const options: RowPlanOptions = { ...base, skipInvalidRows: true, duplicateIdentifiers: 'keepFirst', nestedValues: 'json' };
		const plan = planItemRows(rows, options);
		expect(plan.rowCount + plan.skipped.count + plan.duplicatesDropped.count).toBe(2000);
		const chunks: Buffer[] = [];
		for await (const chunk of createItemsCsvStream({
			rows,
			indexes: plan.indexes,
			columns: plan.columns,
			cellOptions: { nestedValues: 'json', neutraliseFormulas: false },
		})) {
			chunks.push(chunk as Buffer);
		}
		const parsed = Papa.parse<string[]>(Buffer.concat(chunks).toString('utf8'), { delimiter: ',', newline: '\r\n', skipEmptyLines: true });
		expect(parsed.errors).toEqual([]);
		expect(parsed.data).toHaveLength(plan.rowCount + 1);
		expect(parsed.data.slice(1).map((cells) => cells[0])).toEqual(itemsWritten(plan).map((i) => String(rows[i].phone).trim()));
	});
});

describe('planItemRowsAsync', () => {
	it('gives the same plan as planItemRows, yielding to the event loop between turns', async () => {
		const rows: IDataObject[] = Array.from({ length: 45_000 }, (_, i) => (i % 1000 === 999 ? { name: 'x' } : { phone: String(i % 40_000), k: i }));
		const options: RowPlanOptions = { ...base, skipInvalidRows: true, duplicateIdentifiers: 'keepFirst' };
		// A clock that moves 5 ms at every reading: the turns end after the same rows on any machine.
		let clock = 0;
		const now = jest.spyOn(performance, 'now').mockImplementation(() => (clock += 5));
		const turns = countTurns();
		const plan = await planItemRowsAsync(rows, options).finally(() => now.mockRestore());
		const ticks = turns.stop();
		expect(plan).toEqual(planItemRows(rows, options));
		expect(ticks).toBeGreaterThanOrEqual(4);
	});

	it('checks at most 250 rows between two readings of the clock', async () => {
		// Rows run in code not yet optimised at the start, several microseconds each: a slice of 1,000
		// rows was up to 10 ms past the turn's budget, in the turn where V8's first young-generation
		// collection of n8n's input items lands.
		const rows: IDataObject[] = Array.from({ length: 10_000 }, (_, i) => ({ phone: String(i) }));
		// Every reading is past the budget, so each reading after a slice gives a turn.
		let clock = 0;
		const now = jest.spyOn(performance, 'now').mockImplementation(() => (clock += 100));
		const turns = countTurns();
		await planItemRowsAsync(rows, base).finally(() => now.mockRestore());
		expect(turns.stop()).toBeGreaterThanOrEqual(10_000 / 250 - 1);
	});

	it('rejects with the same errors', async () => {
		await expect(planItemRowsAsync([{ phone: '1' }, { phone: 1 }], base)).rejects.toThrow(/^Items 0 and 1/);
		await expect(planItemRowsAsync([], base)).rejects.toThrow(InputError);
		await expect(planItemRowsAsync([{ phone: '1' }], { ...base, identifier: '' })).rejects.toThrow(/Identifier Column/);
	});
});

describe('the list of items written', () => {
	const base: RowPlanOptions = { identifier: 'phone', skipInvalidRows: true, duplicateIdentifiers: 'keepFirst', nestedValues: 'error' };

	it('is not made when every item is written, in order (4 bytes an item saved: 4 MB for a million)', () => {
		const plan = planItemRows([{ phone: '1' }, { phone: '2' }, { phone: '3' }], base);
		expect(plan.indexes).toBeUndefined();
		expect(plan.rowCount).toBe(3);
		expect(itemsWritten(plan)).toEqual([0, 1, 2]);
	});

	it('is made at the first item left out, with the items before it', () => {
		const plan = planItemRows([{ phone: '1' }, { phone: '2' }, { phone: '1' }, {}, { phone: '5' }], base);
		expect([...(plan.indexes ?? [])]).toEqual([0, 1, 4]);
		expect(plan.rowCount).toBe(3);
	});
});
