import { sleep } from 'n8n-workflow';
import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { InputError } from './errors';
import { sleepUnlessAborted } from './retry';

/**
 * How a node waits for a vendor job to finish: the first interval, growing by `factor` up to
 * `maxIntervalMs`, until `timeoutMs` has passed since the first check.
 */
export interface PollSchedule {
	firstIntervalMs: number;
	maxIntervalMs: number;
	timeoutMs: number;
	/** Growth of the interval after each check (1.5 by default). */
	factor?: number;
}

export type PollOutcome<T> =
	| { state: 'done'; value: T; checks: number; elapsedMs: number }
	| { state: 'timeout'; last: T; checks: number; elapsedMs: number }
	| { state: 'cancelled'; last: T | undefined; checks: number; elapsedMs: number };

export interface PollOptions<T> {
	schedule: PollSchedule;
	/** One check, e.g. one status request (it applies the package's retry policy itself). */
	check: () => Promise<T>;
	/** True when the job has reached a final state. */
	isDone: (value: T) => boolean;
	/** The execution's cancel signal (`this.getExecutionCancelSignal()`): polling stops when it fires. */
	signal?: AbortSignal;
	/** Injected by tests that must not wait for real; n8n-workflow's `sleep` otherwise. */
	wait?: (ms: number) => Promise<void>;
	now?: () => number;
}

/** The delay before check number `checkIndex + 1` (0-based), without jitter: users read these as settings. */
export function pollIntervalMs(schedule: PollSchedule, checkIndex: number): number {
	const factor = schedule.factor ?? 1.5;
	const interval = schedule.firstIntervalMs * Math.pow(factor, checkIndex);
	return Math.min(Math.max(interval, 0), Math.max(schedule.maxIntervalMs, schedule.firstIntervalMs));
}

/**
 * Checks until done, timed out or cancelled, and says which; the caller decides whether a timeout
 * is an error (the user's choice in most nodes). A failing check propagates: retries of a single
 * request belong to the request helper, not to the poller.
 */
export async function pollUntil<T>(options: PollOptions<T>): Promise<PollOutcome<T>> {
	const wait = options.wait ?? sleep;
	const now = options.now ?? Date.now;
	const started = now();
	let checks = 0;
	let last: T | undefined;
	for (;;) {
		if (options.signal?.aborted) return { state: 'cancelled', last, checks, elapsedMs: now() - started };
		last = await options.check();
		checks++;
		const elapsedMs = now() - started;
		if (options.isDone(last)) return { state: 'done', value: last, checks, elapsedMs };
		const remaining = options.schedule.timeoutMs - elapsedMs;
		if (remaining <= 0) return { state: 'timeout', last, checks, elapsedMs };
		const delay = Math.min(pollIntervalMs(options.schedule, checks - 1), remaining);
		await sleepUnlessAborted(delay, options.signal, wait);
	}
}

/** The node parameters of a poll schedule: one name and one label for each setting in every node. */
export const POLL_PARAMETERS = {
	checkInterval: 'Check Interval (Seconds)',
	maxCheckInterval: 'Longest Check Interval (Seconds)',
	waitTimeout: 'Timeout (Seconds)',
} as const;

export interface PollDefaults {
	checkInterval: number;
	maxCheckInterval: number;
	waitTimeout: number;
	/** What happens when the timeout passes: a sentence for the Timeout parameter's description. */
	afterTimeout: string;
}

/** The three parameters of a poll schedule, shown with `displayOptions`. */
export function pollScheduleProperties(defaults: PollDefaults, displayOptions?: INodeProperties['displayOptions']): INodeProperties[] {
	// The rule looks for a literal default; each node passes its own.
	// eslint-disable-next-line n8n-nodes-base/node-param-default-missing
	const number = (name: keyof typeof POLL_PARAMETERS, description: string): INodeProperties => ({
		displayName: POLL_PARAMETERS[name],
		name,
		type: 'number',
		typeOptions: { minValue: 0.01, numberPrecision: 2 },
		default: defaults[name],
		...(displayOptions ? { displayOptions } : {}),
		description,
	});
	return [
		number('checkInterval', 'Pause before the second check; each next pause is 1.5 times longer'),
		number('maxCheckInterval', 'The pauses between checks stop growing at this length'),
		number('waitTimeout', `How long to wait in all. ${defaults.afterTimeout}`),
	];
}

/** One item's poll schedule from those parameters, checked so a typo does not poll in a tight loop. */
export function readPollSchedule(context: IExecuteFunctions, itemIndex: number, defaults: Omit<PollDefaults, 'afterTimeout'>): PollSchedule {
	const ms = (name: keyof typeof POLL_PARAMETERS): number => {
		const raw = context.getNodeParameter(name, itemIndex, defaults[name]) as unknown;
		const seconds = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
		if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) {
			throw new InputError(`"${POLL_PARAMETERS[name]}" must be a number of seconds above 0, got ${JSON.stringify(raw)}`, {
				itemIndex,
				parameter: POLL_PARAMETERS[name],
			});
		}
		return seconds * 1000;
	};
	const firstIntervalMs = ms('checkInterval');
	return { firstIntervalMs, maxIntervalMs: Math.max(firstIntervalMs, ms('maxCheckInterval')), timeoutMs: ms('waitTimeout') };
}

/** Seconds as the user typed them, for messages ("0.5 s", "300 s"). */
export function secondsText(ms: number): string {
	return `${Math.round(ms) / 1000} s`;
}
