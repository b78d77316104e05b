import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import { openCsvFile } from '../../nodes/Whilter/batch/csvFileInput';
import { findRepeatedRows } from '../../nodes/Whilter/batch/repeatedRows';

/** `rows` data rows `<id>,x` in chunks of 10,000 rows, made as they are read; `idOf(row)` gives each row's identifier. */
function generated(rows: number, idOf: (row: number) => string, header = 'phone,name\n'): Readable {
	async function* chunks() {
		yield Buffer.from(header);
		for (let from = 1; from <= rows; from += 10_000) {
			let text = '';
			for (let row = from; row < Math.min(rows + 1, from + 10_000); row++) text += `${idOf(row)},x\n`;
			yield Buffer.from(text);
		}
	}
	return Readable.from(chunks());
}

/** A folder of the test's own for the logs' temporary files (other test files run at the same time and use the system's). */
let folder: string;
beforeEach(() => (folder = mkdtempSync(join(tmpdir(), 'whilter-repeated-rows-test-'))));
afterEach(() => rmSync(folder, { recursive: true, force: true }));
/** What the logs left in the test's folder. */
const leftoverLogs = () => readdirSync(folder);

describe('a CSV file that can be opened again is scanned for repeated identifiers first', () => {
	/** Opens the file and reads its body; the duplicate check's peak memory, in MiB, once the body has ended (or failed). */
	async function readMeasured(open: () => ReturnType<typeof openCsvFile>): Promise<{ file: Awaited<ReturnType<typeof openCsvFile>>; peakMiB: number; error?: Error }> {
		const file = await open();
		let error: Error | undefined;
		try {
			for await (const chunk of file.body) expect((chunk as Buffer).length).toBeGreaterThan(0);
		} catch (caught) {
			error = caught as Error;
		}
		return { file, peakMiB: file.repeatCheckPeakBytes() / 2 ** 20, error };
	}

	// Holding every identifier seen (54-bit hashes in tables at most 70% full) takes 48 MiB for these
	// 3 million rows (a process's live memory grew by 48.6 MiB with it); the logs hold at most a quarter
	// of a million rows' entries (3 MiB) and the chunks being filled, then the check one sixty-fourth of
	// the hashes at a time.
	const ROWS = 3_000_000;

	it('Keep First: holds memory that does not grow with the rows (3 million rows)', async () => {
		// Every 250,000th row repeats the identifier of the row 200,000 before it.
		const idOf = (row: number) => String(row % 250_000 === 0 ? row - 200_000 : row);
		const { file, peakMiB, error } = await readMeasured(
			async () => await openCsvFile(() => generated(ROWS, idOf), { identifier: 'phone', duplicateIdentifiers: 'keepFirst', repeatLogs: { folder } }),
		);
		expect(error).toBeUndefined();
		expect(file.rowCount()).toBe(ROWS - 12);
		expect(file.leftOut().duplicatesDropped.count).toBe(12);
		expect(file.leftOut().duplicatesDropped.first[0]).toEqual({ row: 250_000, identifier: '50000' });
		expect(peakMiB).toBeLessThan(8);
		expect(leftoverLogs()).toEqual([]);
	}, 120_000);

	it('Error: refuses a repeat in the last row, naming both rows, in memory that does not grow with the rows', async () => {
		const { peakMiB, error } = await readMeasured(
			async () => await openCsvFile(() => generated(ROWS, (row) => String(row === ROWS ? 1_234_567 : row)), { identifier: 'phone', fileLabel: 'list.csv', repeatLogs: { folder } }),
		);
		expect(error?.message).toBe(`list.csv: data rows 1234567 and ${ROWS} have the same identifier: column "phone" is "1234567" in both (compared as trimmed text)`);
		expect(peakMiB).toBeLessThan(8);
		expect(leftoverLogs()).toEqual([]);
	}, 120_000);

	it('finds the same repeated rows with its logs in temporary files as in memory, and removes the files', async () => {
		const rows = 200_000;
		let seed = 7;
		const random = () => ((seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32);
		const ids = Array.from({ length: rows + 1 }, () => String(Math.floor(random() * 130_000)));
		const expected: number[] = [];
		const seen = new Set<string>();
		for (let row = 1; row <= rows; row++) {
			if (seen.has(ids[row])) expected.push(row);
			seen.add(ids[row]);
		}
		for (const memoryEntries of [0, 5_000, 1 << 20]) {
			const found = await findRepeatedRows(generated(rows, (row) => ids[row]), { memoryEntries, folder });
			const marked = Array.from({ length: rows }, (_, k) => k + 1).filter((row) => found.isRepeat(row));
			expect(found.count).toBe(expected.length);
			expect(marked).toEqual(expected);
			expect(leftoverLogs()).toEqual([]);
		}
	});

	it('leaves out of the check the rows the stream refuses or skips, as the check of a file read once does', async () => {
		// Row 2 has a field too many, row 4 no identifier, row 5 an unclosed quote that takes the rest.
		const text = 'phone,name\n1,a\n2,b,extra\n2,c\n,d\n1,"e\n1,f\n';
		const options = { identifier: 'phone', duplicateIdentifiers: 'keepFirst', skipInvalidRows: true } as const;
		const readOnce = await openCsvFile(Readable.from([Buffer.from(text)]), options);
		const readTwice = await openCsvFile(() => Readable.from([Buffer.from(text)]), options);
		const bodies = await Promise.all([readOnce, readTwice].map(async (file) => await readAll(file.body).catch((error: Error) => error.message)));
		expect(bodies[1]).toEqual(bodies[0]);
		expect(readTwice.leftOut()).toEqual(readOnce.leftOut());

		const quoteClosed = 'phone,name\n1,a\n2,b,extra\n2,c\n,d\n 1 ,e\n2,f\n';
		const file = await openCsvFile(() => Readable.from([Buffer.from(quoteClosed)]), options);
		expect((await readAll(file.body)).toString()).toBe('phone,name\n1,a\n2,c\n');
		expect(file.leftOut().duplicatesDropped).toEqual({ count: 2, first: [{ row: 5, identifier: '1' }, { row: 6, identifier: '2' }] });
		expect(file.leftOut().skipped.count).toBe(2);
	});
});

async function readAll(stream: Readable): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks).toString();
}

describe('the duplicate check without a usable temporary folder', () => {
	it('fails naming the folder it could not use', async () => {
		const error = await findRepeatedRows(generated(100_000, String), { memoryEntries: 0, folder: '/nonexistent/whilter-test' }).catch((caught: Error) => caught);
		expect((error as Error).message).toMatch(/^The duplicate check could not make its temporary folder in \/nonexistent\/whilter-test: ENOENT/);
	});
});
