import { Readable } from 'node:stream';

import Papa from 'papaparse';

import { openCsvFile } from '../../nodes/Whilter/batch/csvFileInput';
import { createItemsCsvStream, escapeCsvField, formatCell } from '../../nodes/Whilter/batch/csvWriter';
import { InputError } from '../../nodes/shared/errors';
import { buildBatchFileName, CAMPAIGN_NAME_RULE, parseBatchFileName } from '../../nodes/Whilter/batch/fileName';
import { itemsWritten, planItemRows } from '../../nodes/Whilter/batch/rows';

async function readAll(stream: Readable): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

describe('file name (Whilter convention)', () => {
	it('builds both priorities and parses them back', () => {
		const normal = buildBatchFileName({ templateId: 'T-1', campaignName: 'Diwali 2026', highPriority: false });
		expect(normal).toMatchObject({ zipName: 'T-1_Diwali-2026.zip', csvName: 'T-1_Diwali-2026.csv', campaignNameChanged: true });
		const high = buildBatchFileName({ templateId: 'T-1', campaignName: 'vip', highPriority: true });
		expect(high.zipName).toBe('T-1_Priority_vip.zip');
		expect(parseBatchFileName(high.zipName)).toEqual({ templateId: 'T-1', highPriority: true, campaignName: 'vip' });
		expect(parseBatchFileName(normal.zipName)).toEqual({ templateId: 'T-1', highPriority: false, campaignName: 'Diwali-2026' });
	});

	it('replaces underscores and S3-unsafe characters in the campaign name by the documented rule', () => {
		expect(buildBatchFileName({ templateId: 'T', campaignName: ' a_b/c?d..é ', highPriority: false }).zipName).toBe('T_a-b-c-d.zip');
		expect(CAMPAIGN_NAME_RULE).toMatch(/"-"/);
	});

	it.each(['T_1', 'T 1', 'T/1', '', 'तेम्प'])('rejects template id %p, naming the parameter', (templateId) => {
		expect(() => buildBatchFileName({ templateId, campaignName: 'c', highPriority: false })).toThrow(/Template ID/);
	});

	it('rejects a campaign name with nothing usable', () => {
		expect(() => buildBatchFileName({ templateId: 'T', campaignName: '__ ..', highPriority: false })).toThrow(InputError);
	});
});

describe('CSV writing', () => {
	const options = { nestedValues: 'error' as const, neutraliseFormulas: false };
	const at = { itemIndex: 3, field: 'address' };

	it('quotes by RFC 4180', () => {
		expect(escapeCsvField('plain')).toBe('plain');
		expect(escapeCsvField('a,b')).toBe('"a,b"');
		expect(escapeCsvField('say "hi"')).toBe('"say ""hi"""');
		expect(escapeCsvField('two\r\nlines')).toBe('"two\r\nlines"');
		expect(escapeCsvField('lf\nonly')).toBe('"lf\nonly"');
		expect(escapeCsvField(' padded ')).toBe('" padded "');
		expect(escapeCsvField('')).toBe('');
	});

	it('writes scalars as text and names the item and field of a nested value', () => {
		expect([null, undefined, 0, 1.5, true, false, 12n].map((v) => formatCell(v, options, at))).toEqual(['', '', '0', '1.5', 'true', 'false', '12']);
		expect(formatCell(new Date('2026-01-02T03:04:05Z'), options, at)).toBe('2026-01-02T03:04:05.000Z');
		expect(() => formatCell({ city: 'Pune' }, options, at)).toThrow(/Item 3, field "address": a nested object/);
		expect(() => formatCell([1], options, at)).toThrow(/an array/);
		expect(formatCell({ city: 'Pune' }, { ...options, nestedValues: 'json' }, at)).toBe('{"city":"Pune"}');
	});

	it('neutralises formulas only when asked', () => {
		const neutral = { ...options, neutraliseFormulas: true };
		expect(['=SUM(A1)', '+1', '-2', '@x', 'ok'].map((v) => formatCell(v, neutral, at))).toEqual(["'=SUM(A1)", "'+1", "'-2", "'@x", 'ok']);
		expect(formatCell('=SUM(A1)', options, at)).toBe('=SUM(A1)');
	});

	it('streams rows that parse back exactly, Hindi and Tamil included', async () => {
		const rows = [
			{ phone: '+91 1', name: 'प्रिया शर्मा', note: 'a,"b"\r\nc' },
			{ phone: '+91 2', name: 'தமிழ்ச்செல்வி', note: '  spaced  ' },
			{ phone: 3, name: null, note: false },
		];
		const csv = (await readAll(createItemsCsvStream({ rows, indexes: [0, 1, 2], columns: ['phone', 'name', 'note'], cellOptions: options }))).toString('utf8');
		expect(Papa.parse(csv, { skipEmptyLines: true }).data).toEqual([
			['phone', 'name', 'note'],
			['+91 1', 'प्रिया शर्मा', 'a,"b"\r\nc'],
			['+91 2', 'தமிழ்ச்செல்வி', '  spaced  '],
			['3', '', 'false'],
		]);
		expect(csv.endsWith('\r\n')).toBe(true);
	});

	it('makes batches only as the reader asks (backpressure)', async () => {
		const rows = Array.from({ length: 100_000 }, (_, i) => ({ id: String(i), v: 'x'.repeat(50) }));
		let reads = 0;
		const proxy = new Proxy(rows, {
			get(target, key) {
				if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
				return Reflect.get(target, key);
			},
		});
		const stream = createItemsCsvStream({ rows: proxy, indexes: rows.map((_, i) => i), columns: ['id', 'v'], cellOptions: options, batchRows: 1000 });
		stream.read(0);
		await new Promise((r) => setImmediate(r));
		// Only the stream's buffer (256 KiB ≈ a few batches) is made ahead; the rest waits for the reader.
		expect(reads).toBeLessThan(10_000);
		expect((await readAll(stream)).toString().split('\r\n').length).toBe(100_002);
	});

	it('fails the stream with the cell error when a nested value turns up late', async () => {
		const rows = [{ id: '1', x: 'a' }, { id: '2', x: { deep: true } }];
		await expect(readAll(createItemsCsvStream({ rows, indexes: [0, 1], columns: ['id', 'x'], cellOptions: options }))).rejects.toThrow(/Item 1, field "x"/);
	});
});

describe('row planning', () => {
	const base = { identifier: 'phone', skipInvalidRows: false, duplicateIdentifiers: 'error' as const, nestedValues: 'error' as const };

	it('puts the identifier first and keeps first-seen column order', () => {
		const plan = planItemRows([{ name: 'a', phone: '1' }, { city: 'x', phone: '2' }], base);
		expect(plan.columns).toEqual(['phone', 'name', 'city']);
		expect(planItemRows([{ name: 'a', phone: '1', city: 'c' }], { ...base, columns: ['city', 'name'] }).columns).toEqual(['phone', 'city', 'name']);
	});

	it('names the item and field of a missing identifier, or skips and reports it', () => {
		expect(() => planItemRows([{ phone: '1' }, { phone: '' }], base)).toThrow(/Item 1, field "phone"/);
		const plan = planItemRows([{ phone: '1' }, {}, { phone: { x: 1 } }], { ...base, skipInvalidRows: true });
		expect(itemsWritten(plan)).toEqual([0]);
		expect(plan.skipped.count).toBe(2);
		expect(plan.skipped.first.map((s) => s.itemIndex)).toEqual([1, 2]);
	});

	it('reports at most 100 skipped rows but counts them all', () => {
		const rows = [{ phone: '1' }, ...Array.from({ length: 250 }, () => ({}))];
		const plan = planItemRows(rows, { ...base, skipInvalidRows: true });
		expect(plan.skipped.count).toBe(250);
		expect(plan.skipped.first).toHaveLength(100);
	});

	it('duplicates: an error naming both items, or keep-first', () => {
		expect(() => planItemRows([{ phone: '7' }, { phone: 8 }, { phone: ' 7 ' }], base)).toThrow(/Items 0 and 2/);
		const plan = planItemRows([{ phone: '7' }, { phone: 7 }], { ...base, duplicateIdentifiers: 'keepFirst' });
		expect(itemsWritten(plan)).toEqual([0]);
		expect(plan.duplicatesDropped).toEqual({ count: 1, first: [{ itemIndex: 1, identifier: '7' }] });
	});

	it('refuses zero rows and an empty identifier parameter', () => {
		expect(() => planItemRows([{}], { ...base, skipInvalidRows: true })).toThrow(/No rows to send/);
		expect(() => planItemRows([{ phone: '1' }], { ...base, identifier: ' ' })).toThrow(/Identifier Column/);
	});
});

describe('CSV file input', () => {
	/** Splits a text into chunks at every awkward place: inside quotes, between CR and LF, inside a multi-byte letter. */
	function chunked(text: string, size: number): Readable {
		const bytes = Buffer.from(text, 'utf8');
		const chunks: Buffer[] = [];
		for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
		return Readable.from(chunks);
	}

	const file = '\ufeffphone,name,note\r\n+911,"Asha, K","line1\r\nline2"\r\n\r\n+912,प्रिया,"say ""hi"""\r\n+913,last,no-newline';

	it.each([1, 2, 3, 7, 64, 4096])('counts rows and replays the bytes, in chunks of %i bytes', async (size) => {
		const opened = await openCsvFile(chunked(file, size), { identifier: 'phone' });
		expect(opened.header).toEqual(['phone', 'name', 'note']);
		const body = (await readAll(opened.body)).toString('utf8');
		expect(body).toBe(file.slice(1));
		expect(opened.rowCount()).toBe(3);
	});

	it('a header without the identifier names the file, the column and what it found', async () => {
		await expect(openCsvFile(chunked('mobile,name\r\n1,a\r\n', 5), { identifier: 'phone', fileLabel: 'list.csv' })).rejects.toThrow(
			/list\.csv has no column "phone".*mobile, name/,
		);
	});

	it('the identifier must come first', async () => {
		await expect(openCsvFile(chunked('name,phone\r\na,1\r\n', 5), { identifier: 'phone' })).rejects.toThrow(/first/);
	});

	it.each(['', 'phone,name', 'phone,name\r\n', 'phone,name\n\n\n'])('a file with no data rows (%p) is refused', async (text) => {
		await expect(openCsvFile(chunked(text, 4), { identifier: 'phone' })).rejects.toThrow(/no data rows/);
	});

	it('counts 300k generated rows while streaming them', async () => {
		async function* generate() {
			yield Buffer.from('phone,name\n');
			for (let i = 0; i < 300; i++) {
				let text = '';
				for (let j = 0; j < 1000; j++) text += `${i * 1000 + j},"n\n${j}"\n`;
				yield Buffer.from(text);
			}
		}
		const opened = await openCsvFile(Readable.from(generate()), { identifier: 'phone' });
		let bytes = 0;
		for await (const chunk of opened.body) bytes += (chunk as Buffer).length;
		expect(bytes).toBeGreaterThan(3_000_000);
		expect(opened.rowCount()).toBe(300_000);
	});
});
