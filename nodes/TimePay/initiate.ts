import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { asNodeError } from '../shared/errors';
import { mapItems } from '../shared/perItem';
import { initiationOutput, isPartialSuccess, partialSuccessError } from './outcome';
import { initiatePath, readInitiateRequest } from './requestBody';
import type { InitiateRequest } from './requestBody';
import { timePayApiRequest } from './transport';

/**
 * One initiation per input item. Every item is read and checked first: without "continue on fail"
 * one bad item stops the node before any customer is messaged; with it, bad items become error
 * items and the good ones are sent, in order, each exactly once.
 */
export async function runInitiations(context: IExecuteFunctions): Promise<INodeExecutionData[]> {
	const checked: Array<InitiateRequest | Error> = [];
	const count = context.getInputData().length;
	for (let itemIndex = 0; itemIndex < count; itemIndex++) {
		try {
			checked.push(readInitiateRequest(context, itemIndex));
		} catch (error) {
			const nodeError = asNodeError(context.getNode(), error, itemIndex);
			if (!context.continueOnFail()) throw nodeError;
			checked.push(nodeError);
		}
	}
	return await mapItems(context, async (itemIndex) => {
		const request = checked[itemIndex];
		if (request instanceof Error) throw request;
		const response = await timePayApiRequest.call(context, {
			method: 'POST',
			path: initiatePath(request),
			body: request.body,
			itemIndex,
		});
		if (request.treatPartialSuccessAsError && isPartialSuccess(response)) throw partialSuccessError(context.getNode(), request, response);
		return initiationOutput(request, response);
	});
}
