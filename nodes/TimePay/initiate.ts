import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { runPerItem } from '../shared/perItem';
import { initiationOutput, isPartialSuccess, partialSuccessError } from './outcome';
import { initiatePath, readInitiateRequest } from './requestBody';
import { timePayApiRequest } from './transport';

/**
 * One initiation per input item. Every item is read and checked first: without "continue on fail"
 * one bad item stops the node before any customer is messaged; with it, bad items become error
 * items and the good ones are sent, in order, each exactly once.
 */
export async function runInitiations(context: IExecuteFunctions): Promise<INodeExecutionData[]> {
	return await runPerItem(context, {
		check: (itemIndex) => readInitiateRequest(context, itemIndex),
		run: async (request, itemIndex) => {
			const response = await timePayApiRequest.call(context, { method: 'POST', path: initiatePath(request), body: request.body, itemIndex });
			if (request.treatPartialSuccessAsError && isPartialSuccess(response)) throw partialSuccessError(context.getNode(), request, response);
			return { json: initiationOutput(request, response) };
		},
	});
}
