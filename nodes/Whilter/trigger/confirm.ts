import { NodeApiError } from 'n8n-workflow';
import type { IDataObject, IWebhookFunctions } from 'n8n-workflow';

import { InputError } from '../../shared/errors';
import type { BatchCallback, RealtimeCallback, Refusal } from '../api/callbackPayload';
import { getMediaStatus } from '../api/mediaStatus';
import type { MediaStatus } from '../api/mediaStatus';
import { getTaskStatus } from '../api/taskApi';
import type { TaskStatus } from '../api/taskStatus';

export type Confirmed<T> = { value: T } | { refusal: Refusal };

/**
 * Status codes of a refused callback, chosen so Whilter's logs tell the cases apart from n8n's own
 * answers: n8n answers 404 itself when no active workflow has the URL, so an unknown task is 403.
 */
export const UNKNOWN_ID_STATUS = 403;
export const MISMATCH_STATUS = 409;
export const UNCONFIRMABLE_STATUS = 503;

function httpStatusOf(error: unknown): number | undefined {
	if (!(error instanceof NodeApiError) || error.httpCode === null) return undefined;
	const status = Number(error.httpCode);
	return Number.isFinite(status) ? status : undefined;
}

/**
 * A failed lookup: 404 means Whilter does not know the ID (a forged or stale callback); anything
 * else (network, 5xx, a rejected credential) leaves the callback unconfirmed, and unconfirmed is not
 * trusted. The caller only hears that much; the reason goes to n8n's log for the workflow's owner.
 */
function lookupFailure(context: IWebhookFunctions, error: unknown, what: string): { refusal: Refusal } {
	// The node's own path option is wrong: the workflow's owner has to fix it, a retry would not help.
	if (error instanceof InputError) return { refusal: { status: 500, message: `The Whilter Trigger cannot confirm callbacks: ${error.message}` } };
	const status = httpStatusOf(error);
	if (status === 404) return { refusal: { status: UNKNOWN_ID_STATUS, message: `Whilter knows no ${what}` } };
	const reason = error instanceof Error ? error.message : String(error);
	context.logger.warn(`Whilter Trigger could not confirm a callback for ${what}: ${reason}`, { node: context.getNode().name });
	return {
		refusal: { status: UNCONFIRMABLE_STATUS, message: `The callback for ${what} could not be confirmed against the Whilter API; try again later` },
	};
}

/** The claim and the status API agree when their normalised states do; a claim in an unknown word is settled by the API. */
export function compareBatchStatus(claim: BatchCallback, confirmed: TaskStatus): Refusal | undefined {
	if (confirmed['task-id'] !== claim.taskId) {
		return { status: MISMATCH_STATUS, message: `The Whilter status API answered for task ${confirmed['task-id']}, not ${claim.taskId}` };
	}
	// No status, or a word the package does not know: the status API's answer decides.
	if (claim.status === undefined || claim.status === 'unknown') return undefined;
	if (claim.status === confirmed.status) return undefined;
	return {
		status: MISMATCH_STATUS,
		message: `The callback says task ${claim.taskId} is "${claim.statusWord ?? claim.status}", but the Whilter status API says "${confirmed.status}"`,
	};
}

/** `GET /<client>/task/status/<task-id>` with the node's whilterApi credential. */
export async function confirmBatchCallback(
	this: IWebhookFunctions,
	claim: BatchCallback,
	statusPath?: string,
): Promise<Confirmed<TaskStatus>> {
	let confirmed: TaskStatus;
	try {
		confirmed = await getTaskStatus.call(this, { taskId: claim.taskId, statusPath, statusPathLabel: 'Options → Status Path' });
	} catch (error) {
		return lookupFailure(this, error, `task ${claim.taskId}`);
	}
	const mismatch = compareBatchStatus(claim, confirmed);
	return mismatch ? { refusal: mismatch } : { value: confirmed };
}

/**
 * The documented real-time callback says the media is ready: it agrees with the status API when the
 * API says SUCCESS (or the status the callback names) and gives the same media URLs.
 */
export function compareRealtimeStatus(claim: RealtimeCallback, media: MediaStatus): Refusal | undefined {
	const id = claim.whilterRequestId ?? '';
	const claimed = claim.status ?? 'SUCCESS';
	if (media.status !== claimed) {
		return { status: MISMATCH_STATUS, message: `The callback says request ${id} is ${claimed}, but the Whilter status API says ${media.status}` };
	}
	if (claim.videoUrl !== undefined && claim.videoUrl !== media.videoUrl) {
		return { status: MISMATCH_STATUS, message: `The callback's video-url for request ${id} is not the one the Whilter status API gives` };
	}
	if (claim.imageUrl !== undefined && claim.imageUrl !== media.imageUrl) {
		return { status: MISMATCH_STATUS, message: `The callback's image-url for request ${id} is not the one the Whilter status API gives` };
	}
	return undefined;
}

/** `GET /status/<whilter-request-id>` (the real-time API, not under /<client>). */
export async function confirmRealtimeCallback(
	this: IWebhookFunctions,
	claim: RealtimeCallback & { whilterRequestId: string },
	statusPath?: string,
): Promise<Confirmed<{ media: MediaStatus; response: IDataObject }>> {
	let answer: { media: MediaStatus; response: IDataObject };
	try {
		answer = await getMediaStatus.call(this, { whilterRequestId: claim.whilterRequestId, statusPath, statusPathLabel: 'Options → Real-Time Status Path' });
	} catch (error) {
		return lookupFailure(this, error, `real-time request ${claim.whilterRequestId}`);
	}
	const mismatch = compareRealtimeStatus(claim, answer.media);
	return mismatch ? { refusal: mismatch } : { value: answer };
}
