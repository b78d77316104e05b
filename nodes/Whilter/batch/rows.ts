import type { IDataObject } from 'n8n-workflow';

import { cellProblem } from './csvWriter';
import { ItemIdentifiers } from './itemIdentifiers';
import { InputError } from '../../shared/errors';
import { turnClock } from '../../shared/turns';

/** Skipped rows and dropped duplicates are all counted, but only this many are listed in the output. */
const REPORT_LIMIT = 100;

export interface RowPlanOptions {
	/** The field holding each customer's unique identifier; written as the first column. */
	identifier: string;
	/** Columns picked by the user; otherwise every key of the written rows, in first-seen order. */
	columns?: string[];
	/** Leave out rows without a usable identifier (counted and listed) instead of stopping. */
	skipInvalidRows: boolean;
	duplicateIdentifiers: 'error' | 'keepFirst';
	nestedValues: 'error' | 'json';
}

export interface RowPlan {
	/** Identifier first, each column once. */
	columns: string[];
	/** Rows written. */
	rowCount: number;
	/**
	 * Item indexes written, in order; absent when every item is written, in order (the usual case:
	 * the 4 bytes an item are then never allocated). Made once, at the first item left out: a
	 * growing array leaves copies behind.
	 */
	indexes?: Uint32Array;
	skipped: { count: number; first: Array<{ itemIndex: number; reason: string }> };
	duplicatesDropped: { count: number; first: Array<{ itemIndex: number; identifier: string }> };
}

/** The item index of each row written, in order. */
export function itemsWritten(plan: RowPlan): number[] {
	return plan.indexes ? [...plan.indexes] : Array.from({ length: plan.rowCount }, (_, i) => i);
}

/** Why a value cannot identify a customer, or its text (trimmed) when it can. */
function identifierText(value: unknown): { id: string } | { reason: string } {
	if (value === undefined || value === null) return { reason: 'the identifier is missing' };
	let id: string;
	if (typeof value === 'string') id = value.trim();
	else if (typeof value === 'number') {
		if (!Number.isFinite(value)) return { reason: `the identifier must be a finite number, not ${value}` };
		id = String(value);
	} else {
		const kind = Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
		return { reason: `the identifier must be text or a number, not ${kind}` };
	}
	return id ? { id } : { reason: 'the identifier is empty' };
}

/** Only objects, functions and symbols can fail as cells: the typeof test keeps the common case cheap. */
function mayFailAsCell(value: unknown): boolean {
	const type = typeof value;
	return (type === 'object' && value !== null) || type === 'function' || type === 'symbol';
}

/** planItemRowsAsync checks rows in slices of this many, and gives a turn once TURN_MS have passed: the first rows run in code not yet optimised, several microseconds each, so a slice stays near a millisecond. */
const SLICE_ROWS = 250;

/**
 * The planning pass, resumable: `run(end)` checks the rows up to `end`, `finish()` returns the plan.
 * planItemRows runs it in one go; planItemRowsAsync in turns, so a million items never hold the
 * event loop for the whole pass (the identifier set alone costs about half a microsecond per row).
 */
function createPlanner(rows: IDataObject[], options: RowPlanOptions) {
	const identifier = options.identifier.trim();
	if (!identifier) {
		throw new InputError(
			'The "Identifier Column" parameter is empty: enter the name of the field that identifies each customer (e.g. phone)',
			{ parameter: 'identifierColumn' },
		);
	}
	const picked = options.columns?.map((column) => column.trim()).filter(Boolean);
	const pickedColumns = picked?.length ? [...new Set([identifier, ...picked])] : undefined;
	// Without a pick, the columns are found while the rows are checked: one pass over the items.
	const columns = pickedColumns ?? [identifier];
	const seenColumns = pickedColumns ? undefined : new Set<string>(columns);

	let written: Uint32Array | undefined;
	let writtenCount = 0;
	/** The first item left out: from here on the items written are listed. */
	const listWritten = () => {
		if (written) return;
		written = new Uint32Array(rows.length);
		for (let i = 0; i < writtenCount; i++) written[i] = i;
	};
	const plan: RowPlan = { columns, rowCount: 0, skipped: { count: 0, first: [] }, duplicatesDropped: { count: 0, first: [] } };
	// Hashes and item indexes, not the identifier strings: a million identifiers in 8.6 MB.
	const seenIds = new ItemIdentifiers(rows.length, (index) => {
		const earlier = identifierText(rows[index][identifier]);
		return 'id' in earlier ? earlier.id : '';
	});
	const skip = (itemIndex: number, reason: string) => {
		if (!options.skipInvalidRows) {
			throw new InputError(`Item ${itemIndex}, field "${identifier}": ${reason}`, {
				itemIndex,
				field: identifier,
				description: 'Every row needs its identifier (text or a number). Fix the data, or turn on "Skip Invalid Rows" to leave such rows out.',
			});
		}
		listWritten();
		plan.skipped.count++;
		if (plan.skipped.first.length < REPORT_LIMIT) plan.skipped.first.push({ itemIndex, reason });
	};
	const check = (row: IDataObject, column: string, itemIndex: number) => {
		const value = row[column];
		if (!mayFailAsCell(value)) return;
		const problem = cellProblem(value, options.nestedValues, { itemIndex, field: column });
		if (problem) throw problem;
	};
	const duplicate = (itemIndex: number, id: string, earlier: number) => {
		if (options.duplicateIdentifiers === 'error') {
			throw new InputError(
				`Items ${earlier} and ${itemIndex} have the same identifier: field "${identifier}" is "${id}" in both (compared as trimmed text)`,
				{
					itemIndex,
					field: identifier,
					description: 'Whilter needs one row per customer. Remove the duplicates, or set the "Duplicate Identifiers" option to "Keep First".',
				},
			);
		}
		listWritten();
		plan.duplicatesDropped.count++;
		if (plan.duplicatesDropped.first.length < REPORT_LIMIT) plan.duplicatesDropped.first.push({ itemIndex, identifier: id });
	};

	let itemIndex = 0;
	return {
		done: () => itemIndex >= rows.length,
		run(end: number): void {
			for (end = Math.min(end, rows.length); itemIndex < end; itemIndex++) {
				const row = rows[itemIndex];
				if (typeof row !== 'object' || row === null || Array.isArray(row)) {
					skip(itemIndex, 'the item has no JSON object');
					continue;
				}
				const checked = identifierText(row[identifier]);
				if ('reason' in checked) {
					skip(itemIndex, checked.reason);
					continue;
				}
				// Added before the row's cells are checked: a bad cell stops the whole plan anyway.
				const earlier = seenIds.addOrFind(checked.id, itemIndex);
				if (earlier !== -1) {
					duplicate(itemIndex, checked.id, earlier);
					continue;
				}
				if (seenColumns) {
					for (const key of Object.keys(row)) {
						if (!seenColumns.has(key)) {
							seenColumns.add(key);
							columns.push(key);
						}
						check(row, key, itemIndex);
					}
				} else {
					for (const column of columns) check(row, column, itemIndex);
				}
				if (written) written[writtenCount] = itemIndex;
				writtenCount++;
			}
		},
		position: () => itemIndex,
		finish(): RowPlan {
			if (!writtenCount) throw noRowsError(rows.length, identifier, plan);
			plan.rowCount = writtenCount;
			if (written) plan.indexes = written.subarray(0, writtenCount);
			return plan;
		},
	};
}

/**
 * Decides which items become rows and in which columns, checking every rule before a byte is
 * uploaded, so that the CSV writer does not fail half-way through an upload. The rows are not
 * copied: the writer reads them from the items by index. Synchronous: for very many items prefer
 * planItemRowsAsync, which gives the event loop a turn every few milliseconds.
 */
export function planItemRows(rows: IDataObject[], options: RowPlanOptions): RowPlan {
	const planner = createPlanner(rows, options);
	planner.run(rows.length);
	return planner.finish();
}

/** planItemRows in turns of a few milliseconds (shared/turns.ts), yielding to the event loop between them. */
export async function planItemRowsAsync(rows: IDataObject[], options: RowPlanOptions): Promise<RowPlan> {
	const planner = createPlanner(rows, options);
	const clock = turnClock();
	while (!planner.done()) {
		planner.run(planner.position() + SLICE_ROWS);
		if (!planner.done() && clock.due()) await clock.next();
	}
	return planner.finish();
}

function noRowsError(itemCount: number, identifier: string, plan: RowPlan): InputError {
	if (itemCount === 0) {
		return new InputError('No rows to send: the node received no items', {
			description: 'Whilter Batch makes one file of all its input items; check the nodes before it.',
		});
	}
	const example = plan.skipped.first[0];
	return new InputError(
		`No rows to send: none of the ${itemCount} item(s) has a usable identifier in field "${identifier}"` +
			(example ? ` (${plan.skipped.count} skipped; e.g. item ${example.itemIndex}: ${example.reason})` : ''),
		{ field: identifier, description: 'Check that "Identifier Column" names the field as it appears in the items.' },
	);
}
