/**
 * The pieces behind every call's deadline: how a timeout is recognised (axios' ECONNABORTED
 * "timeout of … exceeded", ETIMEDOUT, a stalled stream), that the retry policy retries it for reads
 * only, the words the user sees, the deadline the transport hands n8n, and the idle guard of a
 * streamed body. The node tests (test/nodes/deadlines.test.ts) show them against a silent server.
 */
import { PassThrough } from 'node:stream';

import type { ICredentialDataDecryptedObject, IExecuteFunctions, IHttpRequestOptions, INode } from 'n8n-workflow';

import { InputError, vendorApiError } from '../../nodes/shared/errors';
import { failureFacts, isRetryableFailure, withRetry } from '../../nodes/shared/retry';
import { failWhenIdle, StreamDeadlineError } from '../../nodes/shared/streamedGet';
import { createVendorTransport, readTimeoutSeconds, sentOnceHint } from '../../nodes/shared/transport';
import type { ApiRequest } from '../../nodes/shared/transport';

const node: INode = { id: '1', name: 'Node', type: 'test', typeVersion: 1, position: [0, 0], parameters: {} };

/** axios' own timeout error, as its Node http adapter makes it (clarifyTimeoutError off, n8n's setting). */
function axiosTimeout(ms: number): Error {
	return Object.assign(new Error(`timeout of ${ms}ms exceeded`), { code: 'ECONNABORTED', isAxiosError: true });
}

describe('recognising a timeout', () => {
	it("reads axios' timeout, ETIMEDOUT and a stalled stream, also wrapped by n8n-core", () => {
		expect(failureFacts(axiosTimeout(60_000))).toEqual({ networkCode: 'ECONNABORTED', timedOut: 'answer' });
		expect(failureFacts(Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' })).timedOut).toBe('answer');
		expect(failureFacts(new StreamDeadlineError(true, 1000))).toEqual({ networkCode: 'ETIMEDOUT', timedOut: 'stall' });
		const wrapped = Object.assign(new Error('wrapped'), { cause: axiosTimeout(1000) });
		expect(failureFacts(wrapped).timedOut).toBe('answer');
	});

	it('an ECONNABORTED that is not a timeout stays a plain network failure', () => {
		expect(failureFacts(Object.assign(new Error('Software caused connection abort'), { code: 'ECONNABORTED' }))).toEqual({ networkCode: 'ECONNABORTED' });
	});

	it('is retryable, so an idempotent call is tried again and a creating call is sent once', async () => {
		expect(isRetryableFailure(failureFacts(axiosTimeout(1000)))).toBe(true);
		const wait = async () => undefined;
		let reads = 0;
		await expect(
			withRetry(
				async () => {
					reads++;
					throw axiosTimeout(1000);
				},
				{ idempotent: true, wait },
			),
		).rejects.toThrow('timeout of 1000ms exceeded');
		expect(reads).toBe(5);
		let creates = 0;
		await expect(
			withRetry(
				async () => {
					creates++;
					throw axiosTimeout(1000);
				},
				{ idempotent: false, wait },
			),
		).rejects.toThrow('timeout of 1000ms exceeded');
		expect(creates).toBe(1);
	});
});

describe('the words', () => {
	it('name the vendor, the call and the deadline', () => {
		const read = vendorApiError(node, axiosTimeout(60_000), { vendor: 'Whilter', operation: 'GET /acme/task/status/1', deadline: '60 s' });
		expect(read.message).toBe('Whilter did not answer GET /acme/task/status/1 within 60 s');
		expect(read.description).toBe('No answer came within 60 s.');
		const create = vendorApiError(node, axiosTimeout(60_000), { vendor: 'Whilter', operation: 'POST /acme/task', sentOnce: true, deadline: '60 s' });
		expect(create.message).toBe('Whilter did not answer POST /acme/task within 60 s (sent once, not retried)');
		const stalled = vendorApiError(node, new StreamDeadlineError(true, 30_000), { vendor: 'Insider', operation: 'GET https://x.test/f', deadline: '30 s' });
		expect(stalled.message).toBe('Insider stopped sending GET https://x.test/f: no data for 30 s');
	});

	it('a creating call that timed out may have acted: the user checks before a rerun', () => {
		expect(sentOnceHint('TimePay', 'no customer is messaged twice', undefined, true)).toBe(
			'The request was sent once and not retried, so that no customer is messaged twice. TimePay did not answer in time and may still have acted on it: check in TimePay before running the node again.',
		);
	});
});

describe('the deadline setting', () => {
	it('is seconds above 0, read as ms; not set means the default', () => {
		expect(readTimeoutSeconds(undefined)).toBeUndefined();
		expect(readTimeoutSeconds('')).toBeUndefined();
		expect(readTimeoutSeconds(90)).toBe(90_000);
		expect(readTimeoutSeconds('2.5')).toBe(2_500);
		for (const bad of [0, -1, 'soon', Number.NaN]) {
			expect(() => readTimeoutSeconds(bad, undefined, 3)).toThrow(InputError);
		}
		try {
			readTimeoutSeconds('soon', undefined, 3);
		} catch (error) {
			expect((error as InputError).message).toBe('"Request Timeout (Seconds)" must be a number of seconds above 0, got "soon"');
			expect((error as InputError).details).toEqual({ itemIndex: 3, parameter: 'Request Timeout (Seconds)' });
		}
	});

	it("goes to n8n as the request's timeout: the vendor's default, or the call's own", async () => {
		const sent: IHttpRequestOptions[] = [];
		const context = {
			getCredentials: async (): Promise<ICredentialDataDecryptedObject> => ({ requestTimeout: 45 }),
			getNode: () => node,
			helpers: {
				httpRequestWithAuthentication: async (_type: string, options: IHttpRequestOptions) => {
					sent.push(options);
					return { statusCode: 200, headers: {}, body: {} };
				},
			},
		} as unknown as IExecuteFunctions;
		const request = createVendorTransport<ApiRequest>({
			vendor: 'Vendor',
			credentialType: 'vendorApi',
			url: (_credentials, r) => `https://vendor.test${r.path}`,
			secrets: () => [],
			sentOnceBecause: 'nothing happens twice',
			timeoutMs: (credentials) => Number(credentials.requestTimeout) * 1000,
		});
		await request.call(context, { method: 'GET', path: '/a' });
		await request.call(context, { method: 'POST', path: '/b', timeoutMs: 5_000 });
		expect(sent.map((o) => o.timeout)).toEqual([45_000, 5_000]);
	});
});

describe("a streamed body's idle guard", () => {
	beforeEach(() => jest.useFakeTimers());
	afterEach(() => jest.useRealTimers());

	it('fails once no byte arrives for the deadline while the reader waits', async () => {
		const source = new PassThrough();
		const guarded = failWhenIdle(source, 1_000);
		const received: Buffer[] = [];
		const failed = new Promise<Error>((resolve) => guarded.once('error', resolve));
		guarded.on('data', (chunk: Buffer) => received.push(chunk));
		source.write(Buffer.from('first'));
		await jest.advanceTimersByTimeAsync(999);
		source.write(Buffer.from('second'));
		await jest.advanceTimersByTimeAsync(999);
		expect(Buffer.concat(received).toString()).toBe('firstsecond');
		await jest.advanceTimersByTimeAsync(1);
		const error = await failed;
		expect(error).toBeInstanceOf(StreamDeadlineError);
		expect(error.message).toBe('no data arrived for 1 s');
		expect(source.destroyed).toBe(true);
	});

	it('does not count the time a slow reader leaves the data waiting', async () => {
		const source = new PassThrough();
		const guarded = failWhenIdle(source, 1_000);
		let failure: Error | undefined;
		guarded.once('error', (error) => (failure = error));
		source.end(Buffer.from('all of it'));
		// Nobody reads for a minute: the host is not to blame.
		await jest.advanceTimersByTimeAsync(60_000);
		expect(failure).toBeUndefined();
		const chunks: Buffer[] = [];
		for await (const chunk of guarded) chunks.push(chunk as Buffer);
		expect(Buffer.concat(chunks).toString()).toBe('all of it');
	});

	it('passes the source failure on, and closing the guard closes the source', async () => {
		const source = new PassThrough();
		const guarded = failWhenIdle(source, 1_000);
		const failed = new Promise<Error>((resolve) => guarded.once('error', resolve));
		guarded.resume();
		source.destroy(new Error('socket hang up'));
		expect((await failed).message).toBe('socket hang up');

		const other = new PassThrough();
		failWhenIdle(other, 1_000).destroy();
		expect(other.destroyed).toBe(true);
	});
});
