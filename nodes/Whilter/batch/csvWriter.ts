import { Readable } from 'node:stream';

import type { IDataObject } from 'n8n-workflow';

import { InputError } from '../../shared/errors';

export interface CellOptions {
	/** What to do with an object or array in a cell: stop with an error, or write it as JSON text. */
	nestedValues: 'error' | 'json';
	/** Prefix `'` to text a spreadsheet would run as a formula (OWASP's CSV-injection advice). */
	neutraliseFormulas: boolean;
}

export interface CellPosition {
	itemIndex: number;
	field: string;
}

const CR = 0x0d;
const TAB = 0x09;

/**
 * Batches also end at this many characters, so a few huge cells cannot make one slow batch, and so
 * that a batch's text stays below V8's large-object size (128 KiB; 64 Ki characters of two-byte text):
 * a larger string is allocated straight in the old generation and stays there until a full
 * mark-compact, which with a million items in the heap came seconds later, so every batch's text
 * piled up in the process's memory.
 */
const BATCH_CHARS = 48 * 1024;

/** Space at either end of a field: ASCII space and controls, and the Unicode spaces JavaScript's `\s` knows. */
function isSpaceAt(text: string, index: number): boolean {
	const code = text.charCodeAt(index);
	if (code <= 0x20) return true;
	if (code < 0x85) return false;
	// Compared by code, not by regex: the ends of every Hindi or Tamil cell are checked.
	return (
		code === 0x85 ||
		code === 0xa0 ||
		code === 0x1680 ||
		(code >= 0x2000 && code <= 0x200a) ||
		code === 0x2028 ||
		code === 0x2029 ||
		code === 0x202f ||
		code === 0x205f ||
		code === 0x3000 ||
		code === 0xfeff
	);
}

// Measured faster than a char-code loop: V8 compiles this to native code, and most cells are short.
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * RFC 4180: a field holding a comma, a quote or a line break is quoted, inner quotes doubled. A field
 * with space at either end is quoted too, so that readers which trim unquoted fields keep the spaces.
 */
export function escapeCsvField(text: string): string {
	if (text === '') return text;
	if (!isSpaceAt(text, 0) && !isSpaceAt(text, text.length - 1) && !NEEDS_QUOTES.test(text)) return text;
	return `"${text.replace(/"/g, '""')}"`;
}

/** The characters that make a spreadsheet treat a cell as a formula (OWASP, "CSV Injection"). */
function startsLikeFormula(text: string): boolean {
	const code = text.charCodeAt(0);
	// = + - @ tab CR
	return code === 0x3d || code === 0x2b || code === 0x2d || code === 0x40 || code === TAB || code === CR;
}

export function nestedValueError(value: unknown, where: CellPosition): InputError {
	const kind = Array.isArray(value) ? 'an array' : 'a nested object';
	return new InputError(
		`Item ${where.itemIndex}, field "${where.field}": ${kind} cannot be a CSV cell; set the "Nested Values" option to "Write as JSON", or flatten it first (e.g. with a Set or Code node)`,
		{ itemIndex: where.itemIndex, field: where.field },
	);
}

/**
 * Why a value cannot be written, or undefined when it can. Shared with the row planner, so that
 * everything the writer would refuse is found before the upload starts (and cheaply: no formatting).
 */
export function cellProblem(value: unknown, nestedValues: CellOptions['nestedValues'], where: CellPosition): InputError | undefined {
	if (typeof value === 'function' || typeof value === 'symbol') {
		return new InputError(`Item ${where.itemIndex}, field "${where.field}": a ${typeof value} cannot be a CSV cell`, {
			itemIndex: where.itemIndex,
			field: where.field,
		});
	}
	if (typeof value !== 'object' || value === null) return undefined;
	if (value instanceof Date) {
		if (Number.isNaN(value.getTime())) {
			return new InputError(`Item ${where.itemIndex}, field "${where.field}": an invalid date cannot be a CSV cell`, {
				itemIndex: where.itemIndex,
				field: where.field,
			});
		}
		return undefined;
	}
	return nestedValues === 'json' ? undefined : nestedValueError(value, where);
}

/** Text of anything but a string, number, boolean or nullish value (the rare cases, kept off the hot path). */
function formatUncommon(value: unknown, options: CellOptions, where: CellPosition): string {
	const problem = cellProblem(value, options.nestedValues, where);
	if (problem) throw problem;
	if (typeof value === 'bigint') return String(value);
	if (value instanceof Date) return value.toISOString();
	let reason: string;
	try {
		return JSON.stringify(value) ?? '';
	} catch (error) {
		reason = error instanceof Error ? error.message : String(error);
	}
	// A cycle or a bigint inside the object: say where, not just what JSON.stringify said.
	throw new InputError(`Item ${where.itemIndex}, field "${where.field}": the value cannot be written as JSON (${reason})`, {
		itemIndex: where.itemIndex,
		field: where.field,
	});
}

/**
 * The text of one cell, before CSV quoting. Numbers, booleans and bigints as `String` gives them, a
 * Date as ISO 8601, nullish as empty. Formula neutralisation leaves numbers alone: a number's text
 * (say `-5`) is never a formula, and prefixing it would turn it into text in a spreadsheet.
 */
export function formatCell(value: unknown, options: CellOptions, where: CellPosition): string {
	let text: string;
	if (typeof value === 'string') text = value;
	else if (typeof value === 'number') return String(value);
	else if (typeof value === 'boolean') return value ? 'true' : 'false';
	else if (value === null || value === undefined) return '';
	else if (typeof value === 'bigint') return String(value);
	else text = formatUncommon(value, options, where);
	// OWASP's advice against CSV injection: a leading apostrophe makes spreadsheets show, not run, it.
	if (options.neutraliseFormulas && text !== '' && startsLikeFormula(text)) text = `'${text}`;
	return text;
}

/** One CSV record (escaped cells, CRLF). */
export function csvLine(cells: string[]): string {
	return cells.map(escapeCsvField).join(',') + '\r\n';
}

export interface ItemsCsvInput {
	rows: IDataObject[];
	/** Which rows to write, in order (indexes into `rows`, reported as item indexes in errors); every row when absent. */
	indexes?: ArrayLike<number>;
	columns: string[];
	cellOptions: CellOptions;
	/** Rows per batch (default 2000); a batch also ends after about a million characters. */
	batchRows?: number;
}

/**
 * The CSV of the chosen rows (UTF-8, CRLF, header first), made one batch at a time as the reader asks
 * for it: the whole text is never built. Each batch is made in its own event-loop turn
 * (setImmediate), so a fast synchronous reader cannot keep the loop busy for the whole file, and a
 * batch is small (a couple of milliseconds) so no turn is long either.
 */
export function createItemsCsvStream(input: ItemsCsvInput): Readable {
	const { rows, indexes, columns, cellOptions } = input;
	const count = indexes ? indexes.length : rows.length;
	const batchRows = Math.max(1, Math.floor(input.batchRows ?? 2000));
	const columnCount = columns.length;
	const neutralise = cellOptions.neutraliseFormulas;
	let next = 0;
	let headerSent = false;
	let scheduled: ReturnType<typeof setImmediate> | undefined;

	// The batch's pieces, joined once: `text +=` per cell made a rope of a dozen string objects a row,
	// a million rows' worth of garbage for the collector.
	const parts: string[] = [];

	/** Rows [next, …) as CSV text, up to batchRows rows or BATCH_CHARS characters. */
	function makeBatch(): string {
		const end = Math.min(count, next + batchRows);
		parts.length = 0;
		let chars = 0;
		let i = next;
		while (i < end && chars < BATCH_CHARS) {
			const itemIndex = indexes ? indexes[i] : i;
			i++;
			const row = rows[itemIndex];
			for (let c = 0; c < columnCount; c++) {
				const value = row[columns[c]];
				let cell: string;
				// The common types inline, with no per-cell allocation; numbers and booleans never need quotes.
				if (typeof value === 'string') {
					cell = neutralise && value !== '' && startsLikeFormula(value) ? `'${value}` : value;
					cell = escapeCsvField(cell);
				} else if (typeof value === 'number') {
					cell = String(value);
				} else if (typeof value === 'boolean') {
					cell = value ? 'true' : 'false';
				} else if (value === null || value === undefined) {
					cell = '';
				} else {
					cell = escapeCsvField(formatCell(value, cellOptions, { itemIndex, field: columns[c] }));
				}
				// A one-column row that is empty would be a blank line, which readers skip.
				if (columnCount === 1 && cell === '') cell = '""';
				if (c !== 0) parts.push(',');
				parts.push(cell);
				chars += cell.length + 1;
			}
			parts.push('\r\n');
			chars += 1;
		}
		next = i;
		const text = parts.join('');
		parts.length = 0;
		return text;
	}

	return new Readable({
		highWaterMark: 256 * 1024,
		read() {
			if (!headerSent) {
				headerSent = true;
				this.push(Buffer.from(csvLine(columns), 'utf8'));
				return;
			}
			if (scheduled) return;
			scheduled = setImmediate(() => {
				scheduled = undefined;
				if (this.destroyed) return;
				if (next >= count) {
					this.push(null);
					return;
				}
				let text: string;
				try {
					text = makeBatch();
				} catch (error) {
					this.destroy(error instanceof Error ? error : new Error(String(error)));
					return;
				}
				this.push(Buffer.from(text, 'utf8'));
			});
		},
		destroy(error, callback) {
			if (scheduled) clearImmediate(scheduled);
			scheduled = undefined;
			callback(error);
		},
	});
}
