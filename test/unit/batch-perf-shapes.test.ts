import type { IDataObject } from 'n8n-workflow';

import { createItemsCsvStream } from '../../nodes/Whilter/batch/csvWriter';
import { ItemIdentifiers } from '../../nodes/Whilter/batch/itemIdentifiers';
import { itemsWritten, planItemRows } from '../../nodes/Whilter/batch/rows';

describe('ItemIdentifiers', () => {
	it('returns -1 for a new identifier and the earlier item for a repeated one, over many identifiers', () => {
		const ids = Array.from({ length: 200_000 }, (_, i) => `+91${9_000_000_000 + i}`);
		const set = new ItemIdentifiers(ids.length + 1, (index) => ids[index]);
		for (let i = 0; i < ids.length; i++) expect(set.addOrFind(ids[i], i)).toBe(-1);
		ids.push(ids[123_456]);
		expect(set.addOrFind(ids[ids.length - 1], ids.length - 1)).toBe(123_456);
	});

	it('is sized once for the item count: 6 bytes a slot, 70% full when every item is in', () => {
		const set = new ItemIdentifiers(1_000_000, () => '');
		expect(set.bytes).toBe(Math.ceil(1_000_000 / 0.7) * 6);
		expect(set.bytes).toBeLessThan(9 * 1024 * 1024);
	});

	it('fills to its capacity and still finds every identifier, the slot search wrapping past the end', () => {
		const ids = Array.from({ length: 5000 }, (_, i) => `id-${i}`);
		const set = new ItemIdentifiers(ids.length, (index) => ids[index]);
		for (let i = 0; i < ids.length; i++) expect(set.addOrFind(ids[i], i)).toBe(-1);
		for (let i = 0; i < ids.length; i++) expect(set.addOrFind(ids[i], ids.length + i)).toBe(i);
	});

	it('tells different identifiers apart even when the earlier one must be read back', () => {
		const ids = ['a', 'b', 'a ', ' a', 'A'];
		const set = new ItemIdentifiers(ids.length, (index) => ids[index]);
		expect(ids.map((id, i) => set.addOrFind(id, i))).toEqual([-1, -1, -1, -1, -1]);
	});
});

describe('planItemRows duplicates', () => {
	it('names the earlier item of a duplicate identifier, numbers and text compared as trimmed text', () => {
		const rows: IDataObject[] = [{ phone: 1 }, { phone: '2' }, { phone: ' 1 ' }];
		expect(() => planItemRows(rows, { identifier: 'phone', skipInvalidRows: false, duplicateIdentifiers: 'error', nestedValues: 'error' })).toThrow(
			'Items 0 and 2 have the same identifier',
		);
		const kept = planItemRows(rows, { identifier: 'phone', skipInvalidRows: false, duplicateIdentifiers: 'keepFirst', nestedValues: 'error' });
		expect(itemsWritten(kept)).toEqual([0, 1]);
		expect(kept.duplicatesDropped).toEqual({ count: 1, first: [{ itemIndex: 2, identifier: '1' }] });
	});
});

describe('createItemsCsvStream batches', () => {
	it('keeps each batch of text below V8’s large-object size (64 Ki characters), whatever the rows per batch', async () => {
		const rows: IDataObject[] = Array.from({ length: 5000 }, (_, i) => ({ id: `id-${i}`, note: 'x'.repeat(100) }));
		const stream = createItemsCsvStream({
			rows,
			indexes: rows.map((_, i) => i),
			columns: ['id', 'note'],
			cellOptions: { nestedValues: 'error', neutraliseFormulas: false },
			batchRows: 2000,
		});
		const sizes: number[] = [];
		let total = '';
		for await (const chunk of stream) {
			sizes.push((chunk as Buffer).length);
			total += (chunk as Buffer).toString('utf8');
		}
		expect(Math.max(...sizes)).toBeLessThan(64 * 1024);
		expect(total.split('\r\n').filter(Boolean)).toHaveLength(5001);
	});
});
