import { NodeOperationError } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import { asNodeError, InputError } from '../../shared/errors';
import { configuredPath } from '../../shared/paths';
import type { ItemOutput } from '../../shared/perItem';
import { readPollSchedule, secondsText } from '../../shared/poll';
import type { PollSchedule } from '../../shared/poll';
import { readTimeoutSeconds } from '../../shared/transport';
import { REALTIME_REQUEST_PATH, REALTIME_STATUS_PATH, REQUEST_ID_PLACEHOLDER, requestIdPath } from '../api/endpoints';
import { getMediaStatus } from '../api/mediaStatus';
import { whilterApiRequest } from '../api/transport';
import { findDuplicateIds, resolveClientRequestId } from './clientRequestId';
import { buildRealtimeBody, idField, listsFromFields, listsFromJson } from './requestBody';
import type { RealtimeBody } from './requestBody';
import { waitForMedia } from './waitForMedia';
import type { MediaOutcome } from './waitForMedia';

/** Create Media is first: a workflow saved before the operation existed keeps doing what it did. */
export const REALTIME_OPERATIONS = ['create', 'getStatus'] as const;
export type RealtimeOperation = (typeof REALTIME_OPERATIONS)[number];

export const DEFAULT_CONCURRENCY = 5;
export const POLL_DEFAULTS = { checkInterval: 2, maxCheckInterval: 15, waitTimeout: 300 };

const STATUS_PATH_LABEL = 'Real-Time Status Path';

/** One item's request, fully checked: what is sent, where, and how long to wait for the media. */
export interface RealtimePlan {
	body: RealtimeBody;
	requestPath: string;
	statusPath: string;
	/** Absent when the node does not wait for the media. */
	wait?: PollSchedule;
	/** The node's Request Timeout for each call; absent: the credential's. */
	timeoutMs?: number;
}

/** Reads one item's parameters and checks them; throws an InputError naming the field. */
export function planRealtimeItem(context: IExecuteFunctions, itemIndex: number): RealtimePlan {
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
	return {
		body,
		requestPath: configuredPath(options.requestPath ?? REALTIME_REQUEST_PATH, 'Request Path'),
		statusPath: configuredPath(options.realtimeStatusPath ?? REALTIME_STATUS_PATH, STATUS_PATH_LABEL, REQUEST_ID_PLACEHOLDER),
		...(param('waitForMedia', true) === true ? { wait: readPollSchedule(context, itemIndex, POLL_DEFAULTS) } : {}),
		timeoutMs: readTimeoutSeconds(options.requestTimeout, undefined, itemIndex),
	};
}

/** Two requests of one run with one ID could not be told apart in Whilter's records or in the output. */
export function duplicateRequestIds(plans: ReadonlyArray<RealtimePlan | undefined>): Map<number, Error> {
	const ids = plans.map((plan) => plan?.body['client-request-id']);
	const errors = new Map<number, Error>();
	for (const [itemIndex, earlier] of findDuplicateIds(ids)) {
		errors.set(
			itemIndex,
			new InputError(`Items ${earlier} and ${itemIndex} have the same client request ID "${ids[itemIndex]}"`, {
				itemIndex,
				description: 'Each request of a run needs its own ID: map a field that differs per item, or leave "Client Request ID" empty for a generated one',
			}),
		);
	}
	return errors;
}

function mediaError(context: IExecuteFunctions, itemIndex: number, plan: RealtimePlan, id: string, outcome: MediaOutcome): NodeOperationError {
	const clientRequestId = plan.body['client-request-id'];
	const statusCall = `GET ${plan.statusPath.replace(REQUEST_ID_PLACEHOLDER, id)}`;
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
				description: `The request is still with Whilter (client-request-id ${clientRequestId}): look it up later with this node's Get Status operation (${statusCall}), or raise "Timeout (Seconds)"`,
			},
		);
	}
	return new NodeOperationError(context.getNode(), `Item ${itemIndex}: stopped waiting for the media of whilter-request-id ${id}`, {
		itemIndex,
		description: `The execution was cancelled; the request is still with Whilter (client-request-id ${clientRequestId})`,
	});
}

/** Sends one item's request and, when asked, waits for its media; `opened` is called once Whilter has answered the request. */
export async function sendRealtimeItem(
	context: IExecuteFunctions,
	plan: RealtimePlan,
	itemIndex: number,
	stopSignal: AbortSignal,
	opened: () => void = () => undefined,
): Promise<ItemOutput> {
	const cancelSignal = context.getExecutionCancelSignal?.();
	const clientRequestId = plan.body['client-request-id'];
	if (cancelSignal?.aborted || stopSignal.aborted) {
		throw new NodeOperationError(context.getNode(), `Item ${itemIndex}: not sent, the execution was stopped`, { itemIndex });
	}
	// A POST: sent once, never retried by the transport (a retry could make two videos).
	let response: IDataObject;
	try {
		response = await whilterApiRequest.call(context, { method: 'POST', path: plan.requestPath, clientScoped: false, body: plan.body, itemIndex, timeoutMs: plan.timeoutMs });
	} catch (error) {
		// After a dropped connection Whilter may still have made the media: the client-request-id is
		// what the user can look it up by (and what a rerun with the same ID would carry).
		const nodeError = asNodeError(context.getNode(), error, itemIndex);
		nodeError.description = [nodeError.description, `client-request-id: ${clientRequestId}`].filter(Boolean).join(' ');
		throw nodeError;
	}
	// The token is in place now: the other items need not wait for this one's media.
	opened();
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
	if (!plan.wait) return { json: { ...output, response } };

	// The id came from Whilter; it is still checked before it goes into a path.
	const statusPath = requestIdPath(plan.statusPath, STATUS_PATH_LABEL, id);
	const signal = cancelSignal ? AbortSignal.any([cancelSignal, stopSignal]) : stopSignal;
	const outcome = await waitForMedia({
		check: async () => await whilterApiRequest.call(context, { method: 'GET', path: statusPath, clientScoped: false, itemIndex, timeoutMs: plan.timeoutMs }),
		schedule: plan.wait,
		signal,
	});
	if (outcome.state !== 'success') throw mediaError(context, itemIndex, plan, id, outcome);
	const { media } = outcome;
	return { json: { ...output, status: media.status, message: media.message, 'video-url': media.videoUrl, 'image-url': media.imageUrl, response } };
}

/** Get Status: one item's lookup of a request made earlier (by this node, or by Whilter's callback flow). */
export interface RealtimeStatusPlan {
	whilterRequestId: string;
	statusPath: string;
	timeoutMs?: number;
}

export function planRealtimeStatusItem(context: IExecuteFunctions, itemIndex: number): RealtimeStatusPlan {
	const options = context.getNodeParameter('options', itemIndex, {}) as IDataObject;
	const whilterRequestId = idField(context.getNodeParameter('whilterRequestId', itemIndex, ''), 'Whilter Request ID');
	const statusPath = configuredPath(options.realtimeStatusPath ?? REALTIME_STATUS_PATH, STATUS_PATH_LABEL, REQUEST_ID_PLACEHOLDER);
	// The id is checked now (not "..", not empty), so a bad item never costs a request.
	requestIdPath(statusPath, STATUS_PATH_LABEL, whilterRequestId);
	return { whilterRequestId, statusPath, timeoutMs: readTimeoutSeconds(options.requestTimeout, undefined, itemIndex) };
}

/** `GET /status/<whilter-request-id>` once, output as the wait of Create Media outputs it. */
export async function getRealtimeStatusItem(context: IExecuteFunctions, plan: RealtimeStatusPlan, itemIndex: number): Promise<ItemOutput> {
	const { media, response } = await getMediaStatus.call(context, { ...plan, statusPathLabel: STATUS_PATH_LABEL, itemIndex });
	return {
		json: {
			'whilter-request-id': plan.whilterRequestId,
			status: media.status,
			message: media.message,
			'video-url': media.videoUrl,
			'image-url': media.imageUrl,
			response,
		},
	};
}

export function concurrencyOf(context: IExecuteFunctions): number {
	const value = context.getNodeParameter('options.concurrency', 0, DEFAULT_CONCURRENCY) as unknown;
	if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
		throw new NodeOperationError(context.getNode(), `"Concurrency" must be a whole number of at least 1, got ${JSON.stringify(value)}`);
	}
	return value;
}
