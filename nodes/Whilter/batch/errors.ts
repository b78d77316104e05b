/** Bad input found by the batch pipeline; the node turns it into a NodeOperationError on the item. */
export class BatchInputError extends Error {
	constructor(
		message: string,
		readonly details: { itemIndex?: number; row?: number; field?: string; parameter?: string; description?: string } = {},
	) {
		super(message);
		this.name = 'BatchInputError';
	}
}
