import { NodeOperationError } from 'n8n-workflow';
import type { IDataObject, INodeExecutionData, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { parseBatchCallback, parseRealtimeCallback, refuseCallback } from '../api/callbackPayload';
import type { BatchCallback, RealtimeCallback, RealtimeStatusWord, Refusal } from '../api/callbackPayload';
import { realtimeCallbackKey, startOnce, taskCallbackKey } from '../api/handledCallbacks';
import type { MediaStatus } from '../api/mediaStatus';
import { readTaskResultRows } from '../api/resultFile';
import { largeTaskRowsIn, webhookResultLimits } from '../api/resultLimits';
import type { ResultRowFilter } from '../api/rowFilter';
import { statusForOutput } from '../api/taskStatus';
import type { TaskState, TaskStatus } from '../api/taskStatus';
import { checkAuthentication } from './authentication';
import type { ExpectedAuth, TriggerAuthentication } from './authentication';
import { bodySize, checkBodySize, DEFAULT_MAX_BODY_BYTES } from './bodySize';
import { confirmBatchCallback, confirmRealtimeCallback } from './confirm';

export type TriggerEvent = 'batchTask' | 'realtimeMedia';
export type RealtimeConfirmation = 'whenIdPresent' | 'requireId' | 'off';

interface TriggerOptions {
	maxBodySize?: number;
	statusPath?: string;
	realtimeStatusPath?: string;
	startOnce?: boolean;
}

/** The small JSON answer to a callback that starts the workflow. */
export function accepted(extra: IDataObject): Pick<IWebhookResponseData, 'webhookResponse'> {
	return { webhookResponse: { message: 'Workflow started', ...extra } };
}

/** 200 and nothing started: a real callback this trigger is not set to act on (Whilter should not retry it). */
function ignore(message: string, extra: IDataObject): IWebhookResponseData {
	return { webhookResponse: { message, ignored: true, ...extra } };
}

/** 200 and nothing started: this callback already started the workflow (Whilter should not retry it). */
function alreadyHandled(what: string, extra: IDataObject): (startedAt: Date) => IWebhookResponseData {
	return (startedAt) => ({ webhookResponse: { message: `Already handled: ${what} started this workflow at ${startedAt.toISOString()}`, duplicate: true, ...extra } });
}

function batchRepeat(taskId: string, status: string): (startedAt: Date) => IWebhookResponseData {
	return alreadyHandled(`task ${taskId} ("${status}")`, { 'task-id': taskId, status });
}

/**
 * The status a batch callback starts on, when it is known before the status API is asked: a status
 * the package knows must be the one the API confirms (else 409); without confirmation the claim
 * decides. A callback without a status, or in a word the API has to settle, is known only after.
 */
function statusBeforeConfirming(claim: BatchCallback, confirming: boolean): string | undefined {
	if (claim.status !== undefined && claim.status !== 'unknown') return claim.status;
	if (!confirming && claim.status === 'unknown') return statusForOutput(claim.status, claim.statusWord);
	return undefined;
}

/**
 * Whether a batch callback is looked up with the status API first. Result Rows always are: the rows
 * are read with the Whilter credential from the file path the API gives, never from one a caller names.
 */
function confirmsBatch(context: IWebhookFunctions): boolean {
	return context.getNodeParameter('output', 'callback') === 'rows' || context.getNodeParameter('confirmWithApi', true) === true;
}

async function expectedAuth(context: IWebhookFunctions, kind: TriggerAuthentication): Promise<ExpectedAuth | Refusal> {
	if (kind === 'none') return { kind: 'none' };
	try {
		if (kind === 'headerAuth') {
			const credential = await context.getCredentials<{ headerName?: string; secret?: string }>('whilterCallbackHeaderAuthApi');
			return { kind, name: String(credential.headerName ?? ''), value: String(credential.secret ?? '') };
		}
		const credential = await context.getCredentials<{ user?: string; password?: string }>('whilterCallbackBasicAuthApi');
		return { kind, user: String(credential.user ?? ''), password: String(credential.password ?? '') };
	} catch {
		return { status: 500, message: 'The Whilter Trigger has no credential for its authentication set' };
	}
}

function batchItem(claim: BatchCallback, confirmed: TaskStatus | undefined, status: TaskState): IDataObject {
	const filePath = confirmed ? confirmed['file-path'] : claim.filePath;
	const count = confirmed?.count ?? claim.payload.count;
	const message = confirmed?.message ?? claim.payload.message;
	return {
		'task-id': claim.taskId,
		status,
		confirmed: confirmed !== undefined,
		...(filePath ? { 'file-path': filePath } : {}),
		...(count !== undefined ? { count } : {}),
		...(confirmed?.processed !== undefined ? { processed: confirmed.processed } : {}),
		...(message !== undefined ? { message } : {}),
		callback: claim.payload,
		...(confirmed ? { response: confirmed.response } : {}),
	};
}

async function onBatchCallback(context: IWebhookFunctions, body: unknown, options: TriggerOptions): Promise<IWebhookResponseData> {
	const parsed = parseBatchCallback(body);
	if ('refusal' in parsed) return refuseCallback(context, parsed.refusal);
	const claim = parsed.value;
	const chosen = context.getNodeParameter('statuses', ['completed']) as Array<TaskState | 'other'>;
	// "Other": any status word the package does not know, passed through as Whilter wrote it.
	const statuses: TaskState[] = chosen.map((status) => (status === 'other' ? 'unknown' : status));
	const startsOn = chosen.length ? chosen.join(', ') : 'nothing (no status selected)';
	const ignored = (state: TaskState, word: unknown) => {
		const status = statusForOutput(state, word);
		return ignore(`Ignored: task ${claim.taskId} is "${status}"; this trigger starts on ${startsOn}`, { 'task-id': claim.taskId, status });
	};

	// A known status the trigger does not start on costs no API call, whoever sent it: nothing starts
	// either way. A word the package does not know is never ignored unasked: it may be a completion.
	if (claim.status !== undefined && claim.status !== 'unknown' && !statuses.includes(claim.status)) return ignored(claim.status, claim.statusWord);

	const once = options.startOnce !== false;
	const known = statusBeforeConfirming(claim, confirmsBatch(context));
	// Known before asking Whilter: a repeat is answered without an API call.
	if (once && known !== undefined) {
		const key = taskCallbackKey(claim.taskId, known);
		return await startOnce(context, key, async () => await confirmBatch(context, claim, statuses, ignored, options, false), batchRepeat(claim.taskId, known));
	}
	return await confirmBatch(context, claim, statuses, ignored, options, once);
}

/** From the status API to the start; `keyAfterConfirming`: start once per the status the API confirmed. */
async function confirmBatch(
	context: IWebhookFunctions,
	claim: BatchCallback,
	statuses: TaskState[],
	ignored: (state: TaskState, word: unknown) => IWebhookResponseData,
	options: TriggerOptions,
	keyAfterConfirming: boolean,
): Promise<IWebhookResponseData> {
	let confirmed: TaskStatus | undefined;
	if (confirmsBatch(context)) {
		const outcome = await confirmBatchCallback.call(context, claim, options.statusPath);
		if ('refusal' in outcome) return refuseCallback(context, outcome.refusal);
		confirmed = outcome.value;
	} else if (claim.status === undefined) {
		return refuseCallback(context, { status: 400, message: 'The callback names no status (with "Confirm With Whilter API" off, the trigger goes by the callback\'s status)' });
	} else if (claim.status === 'unknown' && !statuses.includes('unknown')) {
		// Answered with an error so that Whilter tries again and the refusal shows in n8n's log.
		return refuseCallback(context, {
			status: 422,
			message: `The callback's status "${claim.statusWord}" is not one this trigger knows; turn on "Confirm With Whilter API" to have Whilter's status API decide`,
		});
	}
	const status = confirmed?.status ?? (claim.status as TaskState);
	if (!statuses.includes(status)) return ignored(status, confirmed ? confirmed.response.status : claim.statusWord);

	const item = batchItem(claim, confirmed, status);
	item.status = statusForOutput(status, confirmed ? confirmed.response.status : claim.statusWord);
	if (keyAfterConfirming) {
		const started = item.status as string;
		return await startOnce(context, taskCallbackKey(claim.taskId, started), async () => await startBatch(context, claim, confirmed, status, item), batchRepeat(claim.taskId, started));
	}
	return await startBatch(context, claim, confirmed, status, item);
}

async function startBatch(context: IWebhookFunctions, claim: BatchCallback, confirmed: TaskStatus | undefined, status: TaskState, item: IDataObject): Promise<IWebhookResponseData> {
	const output = context.getNodeParameter('output', 'callback') as 'callback' | 'rows';
	const started = accepted({ 'task-id': claim.taskId, status: item.status as string });
	if (output !== 'rows' || status !== 'completed') return { workflowData: [[{ json: item }]], ...started };

	const filePath = typeof item['file-path'] === 'string' ? item['file-path'] : '';
	if (!filePath) {
		throw new NodeOperationError(context.getNode(), `Whilter task ${claim.taskId} is completed but ${confirmed ? 'the status API' : 'the callback'} gives no "file-path" for its results`);
	}
	const filter = context.getNodeParameter('rowFilter', 'all') as ResultRowFilter;
	const read = await readTaskResultRows.call(context, { filePath, filter, ...webhookResultLimits(context) });
	if ('tooMany' in read) {
		// 5xx: nothing starts, and a retry from Whilter can start once the trigger is set up for such a task.
		return refuseCallback(context, {
			status: 500,
			message: `Task ${claim.taskId} has ${read.tooMany} (Max Result Rows); nothing was started with a partial list. For a task this large, set Output to Callback and read its rows with ${largeTaskRowsIn()}.`,
		});
	}
	const rows = read.rows;
	if (rows.length === 0) {
		return ignore(`Task ${claim.taskId} has no ${filter === 'all' ? '' : `${filter} `}result rows; nothing started`, { 'task-id': claim.taskId, status, rows: 0 });
	}
	return { workflowData: [rows.map((json): INodeExecutionData => ({ json }))], ...accepted({ 'task-id': claim.taskId, status: item.status as string, rows: rows.length }) };
}

/**
 * A real-time callback that is neither authenticated nor confirmed with the API could come from
 * anyone, with any video-url. It starts a workflow only when the user says so.
 */
const UNVERIFIED_REALTIME: Refusal = {
	status: 401,
	message:
		'This callback can be neither authenticated nor confirmed with the Whilter API (it names no whilter-request-id): set Authentication, or turn on "Start Unverified Real-Time Callbacks"',
};

function trustsUnverified(context: IWebhookFunctions): boolean {
	if (context.getNodeParameter('authentication', 'none') !== 'none') return true;
	return (context.getNodeParameter('options.allowUnverified', false) as boolean) === true;
}

async function onRealtimeCallback(context: IWebhookFunctions, body: unknown, options: TriggerOptions): Promise<IWebhookResponseData> {
	const parsed = parseRealtimeCallback(body);
	if ('refusal' in parsed) return refuseCallback(context, parsed.refusal);
	const claim: RealtimeCallback = parsed.value;
	const statuses = context.getNodeParameter('realtimeStatuses', ['SUCCESS']) as RealtimeStatusWord[];
	// The documented payload names no status: a callback with a media URL means the media is ready.
	const claimed = claim.status ?? 'SUCCESS';
	if (!statuses.includes(claimed)) {
		return ignore(`Ignored: request ${claim.clientRequestId} is ${claimed}; this trigger starts on ${statuses.join(', ') || 'nothing'}`, {
			'client-request-id': claim.clientRequestId,
			status: claimed,
		});
	}
	if (options.startOnce === false) return await confirmRealtime(context, claim, claimed, options);
	const repeat = alreadyHandled(`request ${claim.whilterRequestId ?? claim.clientRequestId} (${claimed})`, {
		'client-request-id': claim.clientRequestId,
		...(claim.whilterRequestId !== undefined ? { 'whilter-request-id': claim.whilterRequestId } : {}),
		status: claimed,
	});
	// The status the API confirms is the claimed one (else 409): the key is known before asking.
	return await startOnce(context, realtimeCallbackKey(claim, claimed), async () => await confirmRealtime(context, claim, claimed, options), repeat);
}

async function confirmRealtime(context: IWebhookFunctions, claim: RealtimeCallback, claimed: RealtimeStatusWord, options: TriggerOptions): Promise<IWebhookResponseData> {
	const mode = context.getNodeParameter('realtimeConfirmation', 'whenIdPresent') as RealtimeConfirmation;
	if (mode === 'off' && !trustsUnverified(context)) return refuseCallback(context, UNVERIFIED_REALTIME);
	let confirmed: { media: MediaStatus; response: IDataObject } | undefined;
	if (mode !== 'off') {
		const whilterRequestId = claim.whilterRequestId;
		if (whilterRequestId === undefined) {
			if (mode === 'requireId') {
				return refuseCallback(context, { status: 400, message: 'The callback names no whilter-request-id, which this trigger needs to confirm it against the Whilter API' });
			}
			if (!trustsUnverified(context)) return refuseCallback(context, UNVERIFIED_REALTIME);
		} else {
			const outcome = await confirmRealtimeCallback.call(context, { ...claim, whilterRequestId }, options.realtimeStatusPath);
			if ('refusal' in outcome) return refuseCallback(context, outcome.refusal);
			confirmed = outcome.value;
		}
	}
	const videoUrl = confirmed ? confirmed.media.videoUrl : claim.videoUrl;
	const imageUrl = confirmed ? confirmed.media.imageUrl : claim.imageUrl;
	const item: IDataObject = {
		'client-request-id': claim.clientRequestId,
		...(claim.userId !== undefined ? { 'user-id': claim.userId } : {}),
		...(claim.whilterRequestId !== undefined ? { 'whilter-request-id': claim.whilterRequestId } : {}),
		status: confirmed ? confirmed.media.status : claimed,
		'video-url': videoUrl ?? null,
		...(imageUrl ? { 'image-url': imageUrl } : {}),
		...(confirmed?.media.message ? { message: confirmed.media.message } : {}),
		confirmed: confirmed !== undefined,
		callback: claim.payload,
		...(confirmed ? { response: confirmed.response } : {}),
	};
	return { workflowData: [[{ json: item }]], ...accepted({ 'client-request-id': claim.clientRequestId }) };
}

/**
 * One POST to the trigger's URL, in the order that keeps forged calls cheap and harmless: the
 * shared secret, the body's size, the payload's shape, the status filter, whether the same callback
 * already started the workflow (Options → Start Once per ID and Status), then the Whilter API.
 * Every refusal is answered here (4xx/5xx, nothing started); only a callback that passes all of
 * them becomes workflow data, and only then is it remembered.
 */
export async function handleCallback(context: IWebhookFunctions): Promise<IWebhookResponseData> {
	const authentication = context.getNodeParameter('authentication', 'none') as TriggerAuthentication;
	const auth = await expectedAuth(context, authentication);
	if ('status' in auth) return refuseCallback(context, auth);
	const outcome = checkAuthentication(auth, context.getHeaderData());
	if (!outcome.ok) return refuseCallback(context, outcome.refusal);

	const options = context.getNodeParameter('options', {}) as TriggerOptions;
	const request = context.getRequestObject();
	const body: unknown = context.getBodyData();
	const maxKb = Number(options.maxBodySize);
	const maxBytes = Number.isFinite(maxKb) && maxKb > 0 ? Math.floor(maxKb * 1024) : DEFAULT_MAX_BODY_BYTES;
	const tooBig = checkBodySize(bodySize(request.rawBody, request.headers['content-length'], body), maxBytes);
	if (tooBig) return refuseCallback(context, tooBig);

	const event = context.getNodeParameter('event', 'batchTask') as TriggerEvent;
	return event === 'realtimeMedia' ? await onRealtimeCallback(context, body, options) : await onBatchCallback(context, body, options);
}
