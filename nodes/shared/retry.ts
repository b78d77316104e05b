import { sleep } from 'n8n-workflow';

/**
 * Sleeps, but wakes as soon as the signal fires, so a cancelled execution never sits out a poll
 * interval or a retry's Retry-After. n8n-workflow's own `sleep` takes no signal.
 */
export async function sleepUnlessAborted(
	ms: number,
	signal: AbortSignal | undefined,
	wait: (ms: number) => Promise<void> = sleep,
): Promise<void> {
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

/**
 * The package's one retry policy: 429, 502, 503, 504 and network errors (a call that ran past its
 * deadline included), exponential backoff with full jitter, Retry-After honoured, at most 5
 * attempts. Every vendor call and S3 part goes through it, and it is the only place that waits
 * between attempts.
 *
 * Only idempotent requests are retried. A creating POST (a Whilter task, a real-time request, a
 * TimePay initiation, an Insider upload) is sent once: a dropped connection, a timeout or a 5xx after
 * the server acted would otherwise create the same thing twice.
 */
export interface RetryPolicy {
	/** Attempts in all, the first included. */
	maxAttempts: number;
	baseDelayMs: number;
	maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
	maxAttempts: 5,
	baseDelayMs: 500,
	maxDelayMs: 30_000,
});

export const RETRYABLE_STATUS_CODES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

const RETRYABLE_NETWORK_CODES: ReadonlySet<string> = new Set([
	'ECONNRESET',
	'ECONNREFUSED',
	'ECONNABORTED',
	'EPIPE',
	'ETIMEDOUT',
	'ESOCKETTIMEDOUT',
	'EAI_AGAIN',
	'ENETUNREACH',
	'EHOSTUNREACH',
	'UND_ERR_SOCKET',
]);

const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

export function isIdempotentMethod(method: string | undefined): boolean {
	return IDEMPOTENT_METHODS.has((method ?? 'GET').toUpperCase());
}

export interface FailureFacts {
	status?: number;
	/** Milliseconds the server asked us to wait (Retry-After), when it said. */
	retryAfterMs?: number;
	networkCode?: string;
	/** Where a 3xx answer pointed (its Location header). */
	location?: string;
	/**
	 * The call ran out of time: 'answer' when no answer came within its deadline (axios' timeout, whose
	 * error is ECONNABORTED unless told otherwise, or a socket's ETIMEDOUT), 'stall' when an answer
	 * began and then stopped sending. A timeout is a network failure like any other: an idempotent
	 * call is retried, a creating call is not (the vendor may have acted on it).
	 */
	timedOut?: 'answer' | 'stall';
	/**
	 * The answer began (status and headers), then the connection closed before its body ended. Its
	 * status is then not the vendor's answer (a 200 whose body never came is no success): `status` is
	 * left unset and the failure is a dropped connection.
	 */
	cutOff?: boolean;
}

/** axios' error when the connection closes while an answer's body is being read. */
function isCutOff(e: Record<string, unknown>): boolean {
	return e.code === 'ERR_BAD_RESPONSE' && typeof e.message === 'string' && /aborted/i.test(e.message);
}

type Loose = Record<string, unknown> | undefined;

function asRecord(value: unknown): Loose {
	return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

function header(headers: unknown, name: string): string | undefined {
	const record = asRecord(headers);
	if (!record) return undefined;
	const getter = record.get;
	if (typeof getter === 'function') {
		const value = (getter as (n: string) => unknown).call(headers, name);
		return value === null || value === undefined ? undefined : String(value);
	}
	const key = Object.keys(record).find((k) => k.toLowerCase() === name);
	return key === undefined ? undefined : String(record[key]);
}

/** Retry-After is either seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
	if (value === undefined || value.trim() === '') return undefined;
	const seconds = Number(value);
	if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
	const date = Date.parse(value);
	return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Reads status, Retry-After and network error code from whatever shape the error has: an axios
 * error, n8n's NodeApiError wrapping one (`cause`), or an AWS SDK error (`$metadata`, `$response`).
 */
export function failureFacts(error: unknown): FailureFacts {
	const facts: FailureFacts = {};
	const seen = new Set<unknown>();
	let current: unknown = error;
	while (asRecord(current) && !seen.has(current)) {
		seen.add(current);
		const e = asRecord(current)!;
		const response = asRecord(e.response) ?? asRecord(e.$response);
		const metadata = asRecord(e.$metadata);
		const status = Number(response?.status ?? response?.statusCode ?? metadata?.httpStatusCode ?? e.httpCode ?? e.statusCode);
		if (facts.status === undefined && Number.isInteger(status) && status >= 100) facts.status = status;
		const retryAfter = parseRetryAfter(header(response?.headers, 'retry-after'));
		const location = header(response?.headers, 'location');
		if (facts.location === undefined && location) facts.location = location;
		if (facts.retryAfterMs === undefined && retryAfter !== undefined) facts.retryAfterMs = retryAfter;
		if (facts.networkCode === undefined && typeof e.code === 'string' && RETRYABLE_NETWORK_CODES.has(e.code)) {
			facts.networkCode = e.code;
		}
		if (facts.networkCode === undefined && typeof e.message === 'string' && /socket hang up/i.test(e.message)) {
			facts.networkCode = 'ECONNRESET';
		}
		if (facts.timedOut === undefined && isTimeout(e)) facts.timedOut = e.stalled === true ? 'stall' : 'answer';
		if (isCutOff(e)) facts.cutOff = true;
		current = e.cause;
	}
	if (facts.cutOff) {
		facts.status = undefined;
		facts.networkCode ??= 'ECONNRESET';
	}
	return facts;
}

/**
 * ETIMEDOUT and ESOCKETTIMEDOUT always mean time ran out; ECONNABORTED is what axios' own timeout
 * throws by default, and elsewhere (an OS-level abort) it is not a timeout.
 */
function isTimeout(e: Record<string, unknown>): boolean {
	if (e.code === 'ETIMEDOUT' || e.code === 'ESOCKETTIMEDOUT') return true;
	return e.code === 'ECONNABORTED' && typeof e.message === 'string' && /timeout/i.test(e.message);
}

export function isRetryableFailure(facts: FailureFacts): boolean {
	if (facts.status !== undefined) return RETRYABLE_STATUS_CODES.has(facts.status);
	return facts.networkCode !== undefined;
}

/** Exponential backoff with full jitter, never shorter than what the server asked for. */
export function retryDelayMs(
	attempt: number,
	facts: FailureFacts,
	policy: RetryPolicy = DEFAULT_RETRY_POLICY,
	random: () => number = Math.random,
): number {
	const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
	const jittered = Math.round(exponential / 2 + random() * (exponential / 2));
	if (facts.retryAfterMs !== undefined) return Math.min(Math.max(facts.retryAfterMs, jittered), policy.maxDelayMs * 4);
	return jittered;
}

export interface RetryOptions {
	/** False for creating calls: they are sent exactly once. */
	idempotent: boolean;
	policy?: RetryPolicy;
	/** Stops waiting when the execution is cancelled. */
	abortSignal?: AbortSignal;
	/** For tests: a clock that does not really wait, and a fixed jitter. */
	wait?: (ms: number) => Promise<void>;
	random?: () => number;
	onRetry?: (attempt: number, delayMs: number, facts: FailureFacts) => void;
}

export async function withRetry<T>(send: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
	const policy = options.policy ?? DEFAULT_RETRY_POLICY;
	const wait = options.wait ?? sleep;
	for (let attempt = 1; ; attempt++) {
		let failure: unknown;
		try {
			return await send(attempt);
		} catch (error) {
			failure = error;
		}
		// The caller turns the failure into its vendor's NodeApiError: it is passed on untouched.
		const facts = failureFacts(failure);
		const lastAttempt = !options.idempotent || attempt >= policy.maxAttempts;
		if (lastAttempt || !isRetryableFailure(facts) || options.abortSignal?.aborted) throw failure;
		const delay = retryDelayMs(attempt, facts, policy, options.random);
		options.onRetry?.(attempt, delay, facts);
		// A cancelled execution wakes at once, even from a Retry-After of minutes.
		await sleepUnlessAborted(delay, options.abortSignal, wait);
		if (options.abortSignal?.aborted) throw failure;
	}
}

/** The shape the AWS SDK asks of a retry strategy (RetryStrategyV2), kept local to avoid a type-only dependency. */
export interface SdkRetryStrategy {
	mode: string;
	acquireInitialRetryToken(scope: string): Promise<SdkRetryToken>;
	refreshRetryTokenForRetry(token: SdkRetryToken, errorInfo: { error?: unknown; retryAfterHint?: Date }): Promise<SdkRetryToken>;
	recordSuccess(token: SdkRetryToken): void;
}

export interface SdkRetryToken {
	getRetryCount(): number;
	getRetryDelay(): number;
}

function sdkToken(retries: number): SdkRetryToken {
	return { getRetryCount: () => retries, getRetryDelay: () => 0 };
}

/**
 * The same policy for the AWS SDK (S3 parts, multipart create/complete): the SDK's own backoff is
 * replaced, so the waits happen here and every S3 call is idempotent in effect (a part re-sent
 * overwrites itself).
 */
export function sdkRetryStrategy(options: Pick<RetryOptions, 'policy' | 'wait' | 'random' | 'abortSignal' | 'onRetry'> = {}): SdkRetryStrategy {
	const policy = options.policy ?? DEFAULT_RETRY_POLICY;
	const wait = options.wait ?? sleep;
	return {
		mode: 'n8n-nodes-whilter',
		acquireInitialRetryToken: async () => sdkToken(0),
		refreshRetryTokenForRetry: async (token, errorInfo) => {
			const facts = failureFacts(errorInfo.error);
			if (facts.retryAfterMs === undefined && errorInfo.retryAfterHint) {
				facts.retryAfterMs = Math.max(0, errorInfo.retryAfterHint.getTime() - Date.now());
			}
			const attempt = token.getRetryCount() + 1;
			if (attempt >= policy.maxAttempts || !isRetryableFailure(facts) || options.abortSignal?.aborted) {
				throw errorInfo.error instanceof Error ? errorInfo.error : new Error('S3 request failed');
			}
			const delay = retryDelayMs(attempt, facts, policy, options.random);
			options.onRetry?.(attempt, delay, facts);
			await sleepUnlessAborted(delay, options.abortSignal, wait);
			if (options.abortSignal?.aborted) throw errorInfo.error instanceof Error ? errorInfo.error : new Error('S3 request cancelled');
			return sdkToken(attempt);
		},
		recordSuccess: () => undefined,
	};
}
