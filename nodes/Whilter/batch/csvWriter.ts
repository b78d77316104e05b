import { Readable } from 'node:stream';

import type { IDataObject } from 'n8n-workflow';

import { BatchInputError } from './errors';

export interface CellOptions {
	nestedValues: 'error' | 'json';
	neutraliseFormulas: boolean;
}

const NEEDS_QUOTES = /[",\r\n]/;
const FORMULA_START = new Set(['=', '+', '-', '@', '\t', '\r']);

/** RFC 4180: quote a field holding a comma, quote or line break, or with spaces at either end. */
export function escapeCsvField(text: string): string {
	if (text === '') return text;
	const padded = text.charCodeAt(0) <= 32 || text.charCodeAt(text.length - 1) <= 32;
	if (!padded && !NEEDS_QUOTES.test(text)) return text;
	return `"${text.replace(/"/g, '""')}"`;
}

export function formatCell(value: unknown, options: CellOptions, where: { itemIndex: number; field: string }): string {
	let text: string;
	if (value === null || value === undefined) return '';
	if (typeof value === 'string') text = value;
	else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') text = String(value);
	else if (value instanceof Date) text = value.toISOString();
	else if (options.nestedValues === 'json') text = JSON.stringify(value);
	else throw nestedValueError(value, where);
	// OWASP's advice against CSV injection: a leading apostrophe makes spreadsheets show, not run, it.
	if (options.neutraliseFormulas && text !== '' && FORMULA_START.has(text[0])) text = `'${text}`;
	return text;
}

export function nestedValueError(value: unknown, where: { itemIndex: number; field: string }): BatchInputError {
	const kind = Array.isArray(value) ? 'an array' : 'a nested object';
	return new BatchInputError(
		`Item ${where.itemIndex}, field "${where.field}": ${kind} cannot be a CSV cell; turn on "Nested Values: Write as JSON" or flatten it first`,
		{ itemIndex: where.itemIndex, field: where.field },
	);
}

export function csvLine(cells: string[]): string {
	return cells.map(escapeCsvField).join(',') + '\r\n';
}

/**
 * The CSV of the chosen rows, made a batch at a time as the reader asks for it: the whole text is
 * never built, and no batch holds the event loop for long.
 */
export function createItemsCsvStream(input: {
	rows: IDataObject[];
	indexes: number[];
	columns: string[];
	cellOptions: CellOptions;
	batchRows?: number;
}): Readable {
	const { rows, indexes, columns, cellOptions } = input;
	const batchRows = input.batchRows ?? 2000;
	let next = -1;
	return new Readable({
		highWaterMark: 256 * 1024,
		read() {
			try {
				if (next === -1) {
					next = 0;
					this.push(Buffer.from(csvLine(columns), 'utf8'));
					return;
				}
				if (next >= indexes.length) {
					this.push(null);
					return;
				}
				const end = Math.min(indexes.length, next + batchRows);
				let text = '';
				for (let i = next; i < end; i++) {
					const itemIndex = indexes[i];
					const row = rows[itemIndex];
					for (let c = 0; c < columns.length; c++) {
						if (c > 0) text += ',';
						text += escapeCsvField(formatCell(row[columns[c]], cellOptions, { itemIndex, field: columns[c] }));
					}
					text += '\r\n';
				}
				next = end;
				this.push(Buffer.from(text, 'utf8'));
			} catch (error) {
				this.destroy(error as Error);
			}
		},
	});
}
