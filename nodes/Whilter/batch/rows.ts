import type { IDataObject } from 'n8n-workflow';

import { nestedValueError } from './csvWriter';
import { BatchInputError } from './errors';

const REPORT_LIMIT = 100;

export interface RowPlan {
	/** Identifier first, each column once. */
	columns: string[];
	/** Item indexes written, in order. */
	indexes: number[];
	skipped: { count: number; first: Array<{ itemIndex: number; reason: string }> };
	duplicatesDropped: { count: number; first: Array<{ itemIndex: number; identifier: string }> };
}

function isNested(value: unknown): boolean {
	return typeof value === 'object' && value !== null && !(value instanceof Date);
}

/**
 * Decides which items become rows and in which columns, checking every rule before a byte is
 * uploaded. The rows are not copied: the writer reads them from the items.
 */
export function planItemRows(
	rows: IDataObject[],
	options: {
		identifier: string;
		columns?: string[];
		skipInvalidRows: boolean;
		duplicateIdentifiers: 'error' | 'keepFirst';
		nestedValues: 'error' | 'json';
	},
): RowPlan {
	const identifier = options.identifier.trim();
	if (!identifier) {
		throw new BatchInputError('"Identifier Column" is empty: name the field that identifies each customer (e.g. phone)', {
			parameter: 'identifierColumn',
		});
	}
	let columns: string[];
	if (options.columns?.length) {
		columns = [identifier, ...options.columns.filter((c) => c !== identifier)];
	} else {
		const seen = new Set<string>([identifier]);
		for (const row of rows) for (const key of Object.keys(row)) seen.add(key);
		columns = [...seen];
	}
	columns = [...new Set(columns)];

	const plan: RowPlan = { columns, indexes: [], skipped: { count: 0, first: [] }, duplicatesDropped: { count: 0, first: [] } };
	// A Set, not a Map: a million identifiers cost half the memory, and the earlier item of a
	// duplicate is looked up only when there is one to report.
	const seenIds = new Set<string>();
	const skip = (itemIndex: number, reason: string) => {
		if (!options.skipInvalidRows) {
			throw new BatchInputError(`Item ${itemIndex}, field "${identifier}": ${reason}`, {
				itemIndex,
				field: identifier,
				description: 'Every row needs its identifier. Fix the data, or turn on "Skip Invalid Rows" to leave such rows out.',
			});
		}
		plan.skipped.count++;
		if (plan.skipped.first.length < REPORT_LIMIT) plan.skipped.first.push({ itemIndex, reason });
	};

	for (let itemIndex = 0; itemIndex < rows.length; itemIndex++) {
		const row = rows[itemIndex];
		const value = row[identifier];
		if (value === undefined || value === null) {
			skip(itemIndex, 'the identifier is missing');
			continue;
		}
		if (typeof value !== 'string' && typeof value !== 'number') {
			skip(itemIndex, `the identifier must be text or a number, not ${Array.isArray(value) ? 'an array' : typeof value}`);
			continue;
		}
		const id = String(value).trim();
		if (!id) {
			skip(itemIndex, 'the identifier is empty');
			continue;
		}
		if (seenIds.has(id)) {
			if (options.duplicateIdentifiers === 'error') {
				const earlier = plan.indexes.find((i) => String(rows[i][identifier]).trim() === id);
				throw new BatchInputError(`Items ${earlier} and ${itemIndex} have the same ${identifier} "${id}": duplicate identifiers`, {
					itemIndex,
					field: identifier,
					description: 'Whilter needs one row per customer. Remove the duplicates, or set "Duplicate Identifiers" to "Keep First".',
				});
			}
			plan.duplicatesDropped.count++;
			if (plan.duplicatesDropped.first.length < REPORT_LIMIT) plan.duplicatesDropped.first.push({ itemIndex, identifier: id });
			continue;
		}
		if (options.nestedValues === 'error') {
			for (const column of columns) {
				if (isNested(row[column])) throw nestedValueError(row[column], { itemIndex, field: column });
			}
		}
		seenIds.add(id);
		plan.indexes.push(itemIndex);
	}
	if (!plan.indexes.length) {
		throw new BatchInputError(
			`No rows to send: ${rows.length} item(s) came in and ${plan.skipped.count} had no usable "${identifier}"`,
			{ field: identifier },
		);
	}
	return plan;
}
