import { createHash } from 'node:crypto';

import type { IDataObject, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

/**
 * Which of Whilter's callbacks already started a workflow, so that the same callback arriving again
 * (Whilter retrying after a lost answer, or anyone replaying a genuine one) does not start it twice.
 *
 * Remembered per workflow node, for a callback that started the workflow only, in two places:
 * - the workflow's static data (`getWorkflowStaticData('node')`): n8n stores it with the workflow
 *   after a production webhook call that changed it (LiveWebhooks saves it once webhook() returned and
 *   the execution was started), so it outlasts restarts. n8n 2.41 loses that change when the static
 *   data already held something: before the run starts it wraps the same static data in a second
 *   Workflow, which resets n8n's "changed" mark, so only the first entry is ever saved there (2.8 and
 *   1.x save every change; test/deploy/queue-scenarios.test.ts shows both);
 * - this process's memory: n8n loads the static data from the database at the start of each request,
 *   so a delivery that arrives while another is being handled, or before n8n saved what that one
 *   wrote, reads the older copy. Calls that wait on the same key in this process, and starts this
 *   process made, close that window.
 *
 * Not covered: several n8n processes taking webhooks (queue mode with webhook processes, multi-main):
 * each has its own memory, and two deliveries handled at once by two processes can both start. Two
 * different callbacks handled at once can also each save their own copy of the static data, the later
 * one without the other's entry; this process still knows both, and writes both with its next start.
 *
 * Bounded: the last MAX_ENTRIES starts per node, none older than MAX_AGE_MS (time from Date.now).
 */

export const HANDLED_CALLBACKS_MAX_ENTRIES = 1000;
export const HANDLED_CALLBACKS_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;

/** The static data field (under the node's static data). */
const FIELD = 'handledCallbacks';

/** Ids may be 256 characters: a long key is stored as its hash, which keeps 1,000 entries small. */
const LONG_KEY = 120;

type Entries = Map<string, number>;

/** Its parts encoded and joined with "/": readable, and no two callbacks share a key. */
function keyOf(...parts: string[]): string {
	const key = parts.map((part) => encodeURIComponent(part)).join('/');
	return key.length <= LONG_KEY ? key : `sha256:${createHash('sha256').update(key).digest('base64url')}`;
}

/** The key of a batch task's callback: the task and the status it started on. */
export function taskCallbackKey(taskId: string, status: string): string {
	return keyOf('task', taskId, status);
}

/**
 * The key of a real-time callback: Whilter's request id when the callback names one (unique by
 * Whilter), else the client's request id; and the status it started on.
 */
export function realtimeCallbackKey(ids: { whilterRequestId?: string; clientRequestId: string }, status: string): string {
	return ids.whilterRequestId !== undefined ? keyOf('whilter-request', ids.whilterRequestId, status) : keyOf('client-request', ids.clientRequestId, status);
}

/** Entries within the bounds at `now`, oldest first. */
function withinBounds(entries: Iterable<[string, number]>, now: number): Entries {
	const kept = [...entries].filter(([, at]) => at > now - HANDLED_CALLBACKS_MAX_AGE_MS).sort((a, b) => a[1] - b[1]);
	return new Map(kept.slice(Math.max(0, kept.length - HANDLED_CALLBACKS_MAX_ENTRIES)));
}

/** What this process started, by workflow and node. */
const startedHere = new Map<string, Entries>();
/** Keys being handled now, by workflow, node and key: settled when that call has answered. */
const inFlight = new Map<string, Promise<void>>();

function scopeOf(context: IWebhookFunctions): string {
	return `${String(context.getWorkflow().id ?? '')}\n${context.getNode().id}`;
}

function readStored(context: IWebhookFunctions): Entries {
	const value = context.getWorkflowStaticData('node')[FIELD];
	const entries: Entries = new Map();
	if (typeof value !== 'object' || value === null || Array.isArray(value)) return entries;
	for (const [key, at] of Object.entries(value as IDataObject)) if (typeof at === 'number' && Number.isFinite(at)) entries.set(key, at);
	return entries;
}

function handledAt(context: IWebhookFunctions, scope: string, key: string, now: number): number | undefined {
	const here = withinBounds(startedHere.get(scope) ?? [], now).get(key);
	const saved = withinBounds(readStored(context), now).get(key);
	if (here === undefined) return saved;
	return saved === undefined ? here : Math.min(here, saved);
}

function remember(context: IWebhookFunctions, scope: string, key: string, now: number): void {
	const here = withinBounds([...(startedHere.get(scope) ?? []), [key, now]], now);
	startedHere.set(scope, here);
	const merged = new Map(readStored(context));
	for (const [k, at] of here) merged.set(k, Math.max(merged.get(k) ?? 0, at));
	// Assigned as a new object: n8n's static data notices a change only where a property is set.
	context.getWorkflowStaticData('node')[FIELD] = Object.fromEntries(withinBounds(merged, now));
}

/**
 * Runs `start` unless the callback `key` already started this workflow node, and remembers `key` when
 * `start` started the workflow (its answer has workflow data). A refused, ignored or failed callback
 * is not remembered: Whilter's retry of it may still start the workflow. A delivery of a key being
 * handled right now waits for that call's outcome first.
 *
 * Calls to the test URL (mode "manual") always run and are not remembered: n8n keeps no static data
 * for them, and each "Listen for test event" is meant to run.
 */
export async function startOnce(
	context: IWebhookFunctions,
	key: string,
	start: () => Promise<IWebhookResponseData>,
	repeat: (startedAt: Date) => IWebhookResponseData,
): Promise<IWebhookResponseData> {
	if (context.getMode() === 'manual') return await start();
	const scope = scopeOf(context);
	const flight = `${scope}\n${key}`;
	for (let pending = inFlight.get(flight); pending; pending = inFlight.get(flight)) await pending;
	const at = handledAt(context, scope, key, Date.now());
	if (at !== undefined) return repeat(new Date(at));

	let settle = () => {};
	inFlight.set(flight, new Promise<void>((resolve) => (settle = resolve)));
	try {
		const outcome = await start();
		if (outcome.workflowData !== undefined) remember(context, scope, key, Date.now());
		return outcome;
	} finally {
		inFlight.delete(flight);
		settle();
	}
}
