import { sleep } from 'n8n-workflow';

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
		await waitOrAbort(wait, delay, options.signal);
	}
}

/** Sleeps, but wakes as soon as the execution is cancelled, so a cancelled run does not linger. */
async function waitOrAbort(wait: (ms: number) => Promise<void>, ms: number, signal: AbortSignal | undefined): Promise<void> {
	if (!signal) return await wait(ms);
	if (signal.aborted) return;
	let onAbort: (() => void) | undefined;
	const aborted = new Promise<void>((resolve) => {
		onAbort = resolve;
		signal.addEventListener('abort', onAbort, { once: true });
	});
	try {
		await Promise.race([wait(ms), aborted]);
	} finally {
		if (onAbort) signal.removeEventListener('abort', onAbort);
	}
}
