import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { asNodeError } from './errors';

/**
 * The loop of every one-result-per-item node: each item's work on its own, its output paired with
 * it, and a failure either stopping the node (as a NodeApiError/NodeOperationError on that item) or,
 * with "continue on fail", becoming that item's output.
 */
export async function mapItems(
	context: IExecuteFunctions,
	work: (itemIndex: number) => Promise<IDataObject>,
): Promise<INodeExecutionData[]> {
	const out: INodeExecutionData[] = [];
	const count = context.getInputData().length;
	for (let itemIndex = 0; itemIndex < count; itemIndex++) {
		try {
			out.push({ json: await work(itemIndex), pairedItem: { item: itemIndex } });
		} catch (error) {
			const nodeError = asNodeError(context.getNode(), error, itemIndex);
			if (!context.continueOnFail()) throw nodeError;
			out.push({ json: { error: nodeError.message }, pairedItem: { item: itemIndex } });
		}
	}
	return out;
}
