import { NodeOperationError } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { asNodeError } from '../../shared/errors';
import type { PollSchedule } from '../../shared/poll';
import { whilterApiRequest } from '../transport';
import { findDuplicateIds, resolveClientRequestId } from './clientRequestId';
import { mapItemsConcurrently } from './concurrency';
import { buildRealtimeBody, listsFromFields, listsFromJson, RealtimeInputError } from './requestBody';
import type { RealtimeBody } from './requestBody';
import { secondsText, waitForMedia } from './waitForMedia';
import type { MediaOutcome } from './waitForMedia';

export const DEFAULT_CONCURRENCY = 5;
export const DEFAULT_REQUEST_PATH = '/video/request';
export const STATUS_ID_PLACEHOLDER = '{whilterRequestId}';
export const DEFAULT_STATUS_PATH = `/status/${STATUS_ID_PLACEHOLDER}`;

/** One item's request, fully checked: what is sent, where, and how long to wait for the media. */
interface ItemPlan {
	body: RealtimeBody;
	requestPath: string;
	statusPath: string;
	/** Absent when the node does not wait for the media. */
	wait?: PollSchedule;
}

function path(value: unknown, label: string, placeholder?: string): string {
	const text = typeof value === 'string' ? value.trim() : '';
	if (!text.startsWith('/') || text.includes('://')) {
		throw new RealtimeInputError(`"${label}" must be a path starting with "/", got "${String(value)}"`);
	}
	if (placeholder && !text.includes(placeholder)) {
		throw new RealtimeInputError(`"${label}" must hold ${placeholder}, where the whilter-request-id goes`);
	}
	return text;
}

function positiveSeconds(value: unknown, label: string): number {
	const seconds = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
	if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) {
		throw new RealtimeInputError(`"${label}" must be a number of seconds above 0, got ${JSON.stringify(value)}`);
	}
	return seconds * 1000;
}

/** Reads one item's parameters and checks them; throws RealtimeInputError naming the field. */
function planItem(context: IExecuteFunctions, itemIndex: number): ItemPlan {
	const param = (name: string, fallback?: unknown) => context.getNodeParameter(name, itemIndex, fallback) as unknown;
	const options = param('options', {}) as IDataObject;
	const lists =
		param('listsInput', 'fields') === 'json' ? listsFromJson(param('listsJson', '')) : listsFromFields(param('lists', {}) as IDataObject);
	const body = buildRealtimeBody(
		{
			clientRequestId: resolveClientRequestId(param('clientRequestId', '')),
			customerId: param('customerId', ''),
			useCaseId: param('useCaseId', ''),
			userId: param('userId', ''),
			referenceRecordId: options.referenceRecordId,
		},
		lists,
	);
	const plan: ItemPlan = {
		body,
		requestPath: path(options.requestPath ?? DEFAULT_REQUEST_PATH, 'Request Path'),
		statusPath: path(options.statusPath ?? DEFAULT_STATUS_PATH, 'Status Path', STATUS_ID_PLACEHOLDER),
	};
	if (param('waitForMedia', true) === true) {
		const firstIntervalMs = positiveSeconds(param('pollInterval', 2), 'Check Interval (Seconds)');
		plan.wait = {
			firstIntervalMs,
			maxIntervalMs: Math.max(firstIntervalMs, positiveSeconds(param('maxPollInterval', 15), 'Longest Check Interval (Seconds)')),
			timeoutMs: positiveSeconds(param('waitTimeout', 300), 'Timeout (Seconds)'),
		};
	}
	return plan;
}

function itemError(context: IExecuteFunctions, itemIndex: number, error: unknown): Error {
	if (error instanceof RealtimeInputError) {
		return new NodeOperationError(context.getNode(), `Item ${itemIndex}: ${error.message}`, { itemIndex, description: error.description });
	}
	return asNodeError(context.getNode(), error, itemIndex);
}

/**
 * Every item's request is built and checked before the first one is sent: a bad item stops the node
 * with no request made, or, with continue-on-fail, becomes that item's error output.
 */
function planAll(context: IExecuteFunctions): Array<ItemPlan | Error> {
	const continueOnFail = context.continueOnFail();
	const plans: Array<ItemPlan | Error> = [];
	const count = context.getInputData().length;
	for (let itemIndex = 0; itemIndex < count; itemIndex++) {
		try {
			plans.push(planItem(context, itemIndex));
		} catch (error) {
			const nodeError = itemError(context, itemIndex, error);
			if (!continueOnFail) throw nodeError;
			plans.push(nodeError);
		}
	}
	const ids = plans.map((plan) => (plan instanceof Error ? undefined : plan.body['client-request-id']));
	for (const [itemIndex, earlier] of findDuplicateIds(ids)) {
		const nodeError = new NodeOperationError(
			context.getNode(),
			`Items ${earlier} and ${itemIndex} have the same client request ID "${ids[itemIndex]}"`,
			{ itemIndex, description: 'Each request of a run needs its own ID: map a field that differs per item, or leave "Client Request ID" empty for a generated one' },
		);
		if (!continueOnFail) throw nodeError;
		plans[itemIndex] = nodeError;
	}
	return plans;
}

function mediaError(context: IExecuteFunctions, itemIndex: number, plan: ItemPlan, id: string, outcome: MediaOutcome): NodeOperationError {
	const clientRequestId = plan.body['client-request-id'];
	const statusCall = `GET ${plan.statusPath.replace(STATUS_ID_PLACEHOLDER, id)}`;
	if (outcome.state === 'failure') {
		return new NodeOperationError(
			context.getNode(),
			`Item ${itemIndex}: Whilter could not make the media for whilter-request-id ${id}: ${outcome.media.message || 'no reason given'}`,
			{ itemIndex, description: `Whilter answered FAILURE to ${statusCall} (client-request-id ${clientRequestId})` },
		);
	}
	if (outcome.state === 'timeout') {
		const last = outcome.last.message ? `${outcome.last.status}, "${outcome.last.message}"` : outcome.last.status;
		return new NodeOperationError(
			context.getNode(),
			`Item ${itemIndex}: the media for whilter-request-id ${id} was not ready after ${secondsText(plan.wait!.timeoutMs)} (last status: ${last})`,
			{
				itemIndex,
				description: `The request is still with Whilter (client-request-id ${clientRequestId}): look it up later with ${statusCall}, or raise "Timeout (Seconds)"`,
			},
		);
	}
	return new NodeOperationError(context.getNode(), `Item ${itemIndex}: stopped waiting for the media of whilter-request-id ${id}`, {
		itemIndex,
		description: `The execution was cancelled; the request is still with Whilter (client-request-id ${clientRequestId})`,
	});
}

/** Sends one item's request and, when asked, waits for its media. */
async function sendItem(context: IExecuteFunctions, itemIndex: number, plan: ItemPlan, stopSignal: AbortSignal): Promise<IDataObject> {
	const cancelSignal = context.getExecutionCancelSignal?.();
	const clientRequestId = plan.body['client-request-id'];
	if (cancelSignal?.aborted || stopSignal.aborted) {
		throw new NodeOperationError(context.getNode(), `Item ${itemIndex}: not sent, the execution was stopped`, { itemIndex });
	}
	// A POST: sent once, never retried by the request helper (a retry could make two videos).
	let response: IDataObject;
	try {
		response = await whilterApiRequest.call(context, { method: 'POST', path: plan.requestPath, clientScoped: false, body: plan.body, itemIndex });
	} catch (error) {
		// After a dropped connection Whilter may still have made the media: the client-request-id is
		// what the user can look it up by (and what a rerun with the same ID would carry).
		const nodeError = asNodeError(context.getNode(), error, itemIndex);
		nodeError.description = [nodeError.description, `client-request-id: ${clientRequestId}`].filter(Boolean).join('. ');
		throw nodeError;
	}
	const id = response['whilter-request-id'];
	const refused = typeof response.status === 'string' && response.status.toUpperCase() === 'FAILURE';
	if (typeof id !== 'string' || id === '' || refused) {
		const said = typeof response.message === 'string' && response.message ? `: ${response.message}` : '';
		throw new NodeOperationError(context.getNode(), `Item ${itemIndex}: Whilter did not accept the request with client-request-id ${clientRequestId}${said}`, {
			itemIndex,
			description: refused ? 'Whilter answered FAILURE' : 'Whilter\'s answer held no whilter-request-id',
		});
	}
	const output: IDataObject = { 'client-request-id': clientRequestId, 'whilter-request-id': id, 'user-id': plan.body['user-id'] };
	if (!plan.wait) return { ...output, response };

	const signal = cancelSignal ? AbortSignal.any([cancelSignal, stopSignal]) : stopSignal;
	const statusPath = plan.statusPath.replace(STATUS_ID_PLACEHOLDER, encodeURIComponent(id));
	const outcome = await waitForMedia({
		check: async () => await whilterApiRequest.call(context, { method: 'GET', path: statusPath, clientScoped: false, itemIndex }),
		schedule: plan.wait,
		signal,
	});
	if (outcome.state !== 'success') throw mediaError(context, itemIndex, plan, id, outcome);
	const { media } = outcome;
	return { ...output, status: media.status, message: media.message, 'video-url': media.videoUrl, 'image-url': media.imageUrl, response };
}

function concurrencyOf(context: IExecuteFunctions): number {
	const value = context.getNodeParameter('options.concurrency', 0, DEFAULT_CONCURRENCY) as unknown;
	if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
		throw new NodeOperationError(context.getNode(), `"Concurrency" must be a whole number of at least 1, got ${JSON.stringify(value)}`);
	}
	return value;
}

/** The node's work: check every item, then send them a few at a time, output in input order. */
export async function runRealtime(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
	const limit = concurrencyOf(this);
	const plans = planAll(this);
	return await mapItemsConcurrently(
		this,
		async (itemIndex, stopSignal) => {
			const plan = plans[itemIndex];
			if (plan instanceof Error) throw plan;
			return await sendItem(this, itemIndex, plan, stopSignal);
		},
		// The first item alone: a credential without a token yet fetches one, not one per concurrent request.
		{ limit, firstAlone: true },
	);
}
