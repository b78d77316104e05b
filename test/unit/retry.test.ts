import {
	DEFAULT_RETRY_POLICY,
	failureFacts,
	isIdempotentMethod,
	parseRetryAfter,
	retryDelayMs,
	withRetry,
} from '../../nodes/shared/retry';

/** An error shaped as axios produces it (and as n8n-core passes it on). */
function httpError(status: number, headers: Record<string, string> = {}): Error {
	return Object.assign(new Error(`Request failed with status code ${status}`), {
		response: { status, headers, data: { message: 'nope' } },
	});
}

function networkError(code: string): Error {
	return Object.assign(new Error(code), { code });
}

/** A clock that records the waits instead of sleeping. */
function fakeClock() {
	const waits: number[] = [];
	return { waits, wait: async (ms: number) => void waits.push(ms) };
}

function failingThen<T>(failures: Error[], value: T) {
	const calls: number[] = [];
	const send = async (attempt: number) => {
		calls.push(attempt);
		const failure = failures[attempt - 1];
		if (failure) throw failure;
		return value;
	};
	return { send, calls };
}

describe('retry policy', () => {
	it.each([429, 502, 503, 504])('retries an idempotent request after HTTP %i', async (status) => {
		const clock = fakeClock();
		const { send, calls } = failingThen([httpError(status)], 'ok');
		await expect(withRetry(send, { idempotent: true, wait: clock.wait, random: () => 0.5 })).resolves.toBe('ok');
		expect(calls).toEqual([1, 2]);
		expect(clock.waits).toHaveLength(1);
	});

	it.each([400, 401, 403, 404, 409, 422, 500])('does not retry HTTP %i', async (status) => {
		const clock = fakeClock();
		const { send, calls } = failingThen([httpError(status)], 'ok');
		await expect(withRetry(send, { idempotent: true, wait: clock.wait })).rejects.toThrow(String(status));
		expect(calls).toEqual([1]);
		expect(clock.waits).toEqual([]);
	});

	it.each(['ECONNRESET', 'ETIMEDOUT', 'ECONNREFUSED', 'EPIPE'])('retries network error %s', async (code) => {
		const clock = fakeClock();
		const { send, calls } = failingThen([networkError(code), networkError(code)], 'ok');
		await expect(withRetry(send, { idempotent: true, wait: clock.wait })).resolves.toBe('ok');
		expect(calls).toEqual([1, 2, 3]);
	});

	it('never sends a creating request twice, whatever the failure', async () => {
		for (const failure of [httpError(429, { 'retry-after': '1' }), httpError(503), networkError('ECONNRESET')]) {
			const clock = fakeClock();
			const { send, calls } = failingThen([failure], 'created');
			await expect(withRetry(send, { idempotent: false, wait: clock.wait })).rejects.toBe(failure);
			expect(calls).toEqual([1]);
			expect(clock.waits).toEqual([]);
		}
	});

	it('stops after the attempt bound and passes the last failure on', async () => {
		const clock = fakeClock();
		const failures = Array.from({ length: 10 }, () => httpError(503));
		const { send, calls } = failingThen(failures, 'never');
		await expect(withRetry(send, { idempotent: true, wait: clock.wait })).rejects.toBe(failures[DEFAULT_RETRY_POLICY.maxAttempts - 1]);
		expect(calls).toHaveLength(DEFAULT_RETRY_POLICY.maxAttempts);
		expect(clock.waits).toHaveLength(DEFAULT_RETRY_POLICY.maxAttempts - 1);
	});

	it('waits what Retry-After asks, in seconds or as a date', async () => {
		// The date is read against Date.now: a clock that stands still (on a whole second, as HTTP
		// dates are) makes "7 s from now" exactly 7 s however long the test takes.
		jest.useFakeTimers({ now: new Date('2026-03-01T10:00:00Z') });
		try {
			const clock = fakeClock();
			const later = new Date(Date.now() + 7_000).toUTCString();
			const { send } = failingThen([httpError(429, { 'Retry-After': '3' }), httpError(429, { 'retry-after': later })], 'ok');
			await withRetry(send, { idempotent: true, wait: clock.wait, random: () => 0 });
			// Longer than the backoff alone (250 ms, then 500 ms with this jitter).
			expect(clock.waits).toEqual([3_000, 7_000]);
		} finally {
			jest.useRealTimers();
		}
	});

	it('backs off exponentially with jitter, capped', () => {
		const policy = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1_000 };
		const low = [1, 2, 3, 4, 5].map((a) => retryDelayMs(a, {}, policy, () => 0));
		const high = [1, 2, 3, 4, 5].map((a) => retryDelayMs(a, {}, policy, () => 1));
		expect(high).toEqual([100, 200, 400, 800, 1_000]);
		expect(low).toEqual([50, 100, 200, 400, 500]);
	});

	it('stops waiting once the execution is cancelled', async () => {
		const controller = new AbortController();
		const { send, calls } = failingThen([httpError(503), httpError(503)], 'ok');
		const wait = async () => controller.abort();
		await expect(withRetry(send, { idempotent: true, wait, abortSignal: controller.signal })).rejects.toThrow('503');
		expect(calls).toEqual([1]);
	});

	it('reads status and Retry-After through n8n and AWS SDK error shapes', () => {
		const wrapped = Object.assign(new Error('wrapped'), { httpCode: '502', cause: httpError(502, { 'retry-after': '2' }) });
		expect(failureFacts(wrapped)).toEqual({ status: 502, retryAfterMs: 2_000 });
		const aws = Object.assign(new Error('SlowDown'), { $metadata: { httpStatusCode: 503 } });
		expect(failureFacts(aws).status).toBe(503);
		expect(failureFacts(Object.assign(new Error('socket hang up'), {})).networkCode).toBe('ECONNRESET');
	});

	it('knows which methods are idempotent', () => {
		expect(['GET', 'head', 'PUT', 'DELETE'].map(isIdempotentMethod)).toEqual([true, true, true, true]);
		expect(['POST', 'PATCH'].map(isIdempotentMethod)).toEqual([false, false]);
		expect(parseRetryAfter('')).toBeUndefined();
		expect(parseRetryAfter('not a date')).toBeUndefined();
	});
});
