/**
 * Whilter's real-time API: `POST /video/request` (or `/video/demo`) takes one personalisation and
 * answers a `whilter-request-id`; `GET /status/<id>` answers PROCESSING until the media are ready.
 * Both need the x-api-key as well as the token when one is configured, and both can be slowed down
 * (realtimeDelayMs) so tests can see how many calls a node has in flight.
 */
import { randomUUID } from 'node:crypto';

import { isHttpUrl, isJson, json, jsonObject, unknownKeys } from '../http';
import type { RecordedRequest, Reply } from '../http';
import { postCallback } from './callbacks';
import { bad, isNonEmptyString } from './reply';
import { mediaBase } from './state';
import type { WhilterContext } from './state';
import type { CallbackRecord } from './types';

const REALTIME_REQUIRED = ['client-request-id', 'customer-id', 'use-case-id', 'user-id'] as const;
const REALTIME_LISTS = ['phrase-texts', 'image-texts', 'video-texts', 'image-urls', 'video-urls'] as const;
const REALTIME_KEYS = [...REALTIME_REQUIRED, 'reference-record-id', ...REALTIME_LISTS];

/** The body rules of POST /video/request; the message of the first broken rule, or undefined. */
function realtimeBodyProblem(fields: Record<string, unknown>): string | undefined {
	const unknown = unknownKeys(fields, REALTIME_KEYS);
	if (unknown.length) return `Unknown field(s): ${unknown.join(', ')}`;
	for (const key of REALTIME_REQUIRED) if (!isNonEmptyString(fields[key])) return `"${key}" is required (a non-empty string)`;
	if (fields['reference-record-id'] !== undefined && typeof fields['reference-record-id'] !== 'string') return '"reference-record-id" must be a string';
	for (const key of REALTIME_LISTS) {
		const list = fields[key];
		if (list === undefined) continue;
		if (!Array.isArray(list) || list.some((v) => typeof v !== 'string')) return `"${key}" must be a list of strings`;
		if (key.endsWith('-urls') && !list.every(isHttpUrl)) return `"${key}" must hold http(s) URLs`;
	}
	return undefined;
}

function mediaUrl(ctx: WhilterContext, id: string, extension: 'mp4' | 'png'): string {
	return `${mediaBase(ctx)}/rt/${id}.${extension}`;
}

function acceptRequest(ctx: WhilterContext, request: RecordedRequest): Reply {
	if (!isJson(request)) return bad(415, 'Content-Type must be application/json');
	const fields = jsonObject(request);
	if (!fields) return bad(400, 'The body must be a JSON object');
	const problem = realtimeBodyProblem(fields);
	if (problem) return bad(400, problem);
	const id = `wr-${randomUUID()}`;
	ctx.realtime.set(id, { id, body: fields, polls: 0, status: 'PROCESSING', createdAt: Date.now() });
	return json(200, { status: 'SUCCESS', message: 'Request accepted', 'client-request-id': fields['client-request-id'], 'whilter-request-id': id });
}

/**
 * Each poll is a tick of the real-time clock: PROCESSING for `realtimeReadyAfterPolls - 1` polls, then
 * the outcome the use case asks for ('fail' fails, 'never' stays PROCESSING, anything else succeeds).
 */
function pollStatus(ctx: WhilterContext, id: string): Reply {
	const entry = ctx.realtime.get(id);
	if (!entry) return bad(404, `Request ${id} not found`);
	entry.polls++;
	const useCase = entry.body['use-case-id'];
	if (entry.status === 'PROCESSING' && useCase !== 'never' && entry.polls >= ctx.realtimeReadyAfterPolls) entry.status = useCase === 'fail' ? 'FAILURE' : 'SUCCESS';
	if (entry.status === 'PROCESSING') return json(200, { status: 'PROCESSING', message: 'Processing', 'video-url': null, 'image-url': null });
	if (entry.status === 'FAILURE') {
		return json(200, { status: 'FAILURE', message: 'Rendering failed: image-texts[0] is too long', 'video-url': null, 'image-url': null });
	}
	return json(200, { status: 'SUCCESS', message: 'Ready', 'video-url': mediaUrl(ctx, id, 'mp4'), 'image-url': mediaUrl(ctx, id, 'png') });
}

/** See WhilterServerOptions.realtimeExactDelay. */
async function holdExactly(ms: number, from: number): Promise<void> {
	const until = from + ms;
	const left = until - performance.now();
	if (left > 2) await new Promise((resolve) => setTimeout(resolve, left - 2));
	while (performance.now() < until) await new Promise((resolve) => setImmediate(resolve));
}

/** Runs one real-time call after its delay, counting how many are being handled at once. */
async function timed(ctx: WhilterContext, request: RecordedRequest, body: Record<string, unknown>, call: 'request' | 'status', handle: () => Reply): Promise<Reply> {
	ctx.realtimeInFlight++;
	ctx.realtimeMaxInFlight = Math.max(ctx.realtimeMaxInFlight, ctx.realtimeInFlight);
	try {
		const delay = ctx.realtimeDelayMs;
		const ms = typeof delay === 'function' ? delay(body, call) : (delay ?? 0);
		if (ms > 0 && ctx.realtimeExactDelay) await holdExactly(ms, request.arrived);
		else if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
		return handle();
	} finally {
		ctx.realtimeInFlight--;
	}
}

/** Real-time calls need the x-api-key too when one is configured (API-gateway style: 403). */
function apiKeyProblem(ctx: WhilterContext, request: RecordedRequest): Reply | undefined {
	const apiKey = ctx.options.apiKey;
	return apiKey !== undefined && request.headers['x-api-key'] !== apiKey ? bad(403, 'Forbidden: missing or invalid x-api-key') : undefined;
}

/** POST /video/request and /video/demo, past the token check. */
export async function realtimeRequest(ctx: WhilterContext, request: RecordedRequest): Promise<Reply> {
	return apiKeyProblem(ctx, request) ?? (await timed(ctx, request, jsonObject(request) ?? {}, 'request', () => acceptRequest(ctx, request)));
}

/** GET /status/<id>, past the token check. */
export async function realtimeStatus(ctx: WhilterContext, request: RecordedRequest, id: string): Promise<Reply> {
	return apiKeyProblem(ctx, request) ?? (await timed(ctx, request, ctx.realtime.get(id)?.body ?? {}, 'status', () => pollStatus(ctx, id)));
}

/** The handle's sendRealtimeCallback(): Whilter's real-time callback payload, to any URL. */
export async function sendRealtimeCallback(
	ctx: WhilterContext,
	{ whilterRequestId, url, headers, includeWhilterRequestId }: { whilterRequestId: string; url: string; headers?: Record<string, string>; includeWhilterRequestId?: boolean },
): Promise<CallbackRecord> {
	const entry = ctx.realtime.get(whilterRequestId);
	if (!entry) throw new Error(`Unknown real-time request ${whilterRequestId}`);
	const body: Record<string, unknown> = {
		'client-request-id': entry.body['client-request-id'],
		'user-id': entry.body['user-id'],
		'video-url': entry.status === 'SUCCESS' ? mediaUrl(ctx, whilterRequestId, 'mp4') : null,
		...(includeWhilterRequestId ? { 'whilter-request-id': whilterRequestId } : {}),
	};
	return await postCallback(ctx, whilterRequestId, url, body, headers);
}
