import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { runPerItem } from '../shared/perItem';
import { readTimeoutSeconds } from '../shared/transport';
import { initiationOutput, isPartialSuccess, partialSuccessError } from './outcome';
import { initiatePath, readInitiateRequest } from './requestBody';
import { timePayApiRequest } from './transport';

/**
 * An initiation messages a whole audience, so by default the node sends one per execution, from the
 * first input item: placed after a node that outputs one item per customer, it must not initiate
 * the campaign once per customer. Per item, every item is read and checked first: without
 * "continue on fail" one bad item stops the node before any customer is messaged; with it, bad
 * items become error items and the good ones are sent, in order, each exactly once. Every output
 * item says how many initiations this execution sent.
 */
export async function runInitiations(context: IExecuteFunctions): Promise<INodeExecutionData[]> {
	const perItem = context.getNodeParameter('initiate', 0, 'once') === 'perItem';
	let sent = 0;
	const out = await runPerItem(context, {
		check: (itemIndex) => ({
			...readInitiateRequest(context, itemIndex),
			timeoutMs: readTimeoutSeconds(context.getNodeParameter('options.requestTimeout', itemIndex, ''), undefined, itemIndex),
		}),
		run: async (request, itemIndex) => {
			sent++;
			const response = await timePayApiRequest.call(context, {
				method: 'POST',
				path: initiatePath(request),
				body: request.body,
				itemIndex,
				timeoutMs: request.timeoutMs,
			});
			if (request.treatPartialSuccessAsError && isPartialSuccess(response)) throw partialSuccessError(context.getNode(), request, response);
			return { json: initiationOutput(request, response) };
		},
		firstItemOnly: !perItem,
	});
	// Placed before `response`, so the package's fields read first and TimePay's answer last.
	return out.map((item) => {
		const { response, ...fields } = item.json;
		return { ...item, json: { ...fields, 'initiations-sent': sent, ...(response === undefined ? {} : { response }) } };
	});
}
