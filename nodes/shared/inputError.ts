/**
 * Bad input the package found itself, in words a user can act on: which item, row, field or
 * parameter, and what was expected. Modules throw it without knowing the node; the per-item toolkit
 * (nodes/shared/perItem.ts) turns it into a NodeOperationError on the right item.
 */
export interface InputErrorDetails {
	itemIndex?: number;
	/** 1-based data row of a CSV file or of the input items. */
	row?: number;
	field?: string;
	/** The node parameter's display name, when a parameter is at fault. */
	parameter?: string;
	description?: string;
}

export class InputError extends Error {
	constructor(
		message: string,
		readonly details: InputErrorDetails = {},
	) {
		super(message);
		this.name = 'InputError';
	}
}
