import type { IDataObject } from 'n8n-workflow';

import { secondsText } from '../../nodes/shared/poll';
import { readMediaStatus } from '../../nodes/Whilter/api/mediaStatus';
import { waitForMedia } from '../../nodes/Whilter/realtime/waitForMedia';

const processing = { status: 'PROCESSING', message: 'Processing', 'video-url': null, 'image-url': null };
// Whole milliseconds at every step (10, 15, 20): timers, fake or real, do not keep fractions.
const schedule = { firstIntervalMs: 10, maxIntervalMs: 20, timeoutMs: 2_000 };

/** A status endpoint answering the given bodies in turn (the last one again when they run out). */
function answers(...bodies: IDataObject[]) {
	let calls = 0;
	const check = async () => bodies[Math.min(calls++, bodies.length - 1)];
	return { check, calls: () => calls };
}

// Jest's modern fake timers: Date.now and the timers behind n8n-workflow's sleep (the poll's wait)
// are virtual, so a schedule's timeout is reached after exactly the waits it asks for, however busy
// the machine is.
beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

/** Settles a wait by running its timers: virtual time passes only as far as the wait needs. */
async function settle<T>(waiting: Promise<T>): Promise<T> {
	// Handled from now on: a rejection that comes while the timers run is not an unhandled one.
	void waiting.catch(() => undefined);
	await jest.runAllTimersAsync();
	return await waiting;
}

describe('waitForMedia', () => {
	it('asks until SUCCESS and gives the URLs', async () => {
		const endpoint = answers(processing, processing, { status: 'SUCCESS', message: 'Ready', 'video-url': 'https://m.test/v.mp4', 'image-url': null });
		const outcome = await settle(waitForMedia({ check: endpoint.check, schedule }));
		// Checks at 0, 10 and 25 ms (10 ms, then 1.5 times longer).
		expect(outcome).toMatchObject({
			state: 'success',
			checks: 3,
			elapsedMs: 25,
			media: { status: 'SUCCESS', message: 'Ready', videoUrl: 'https://m.test/v.mp4', imageUrl: null },
		});
		expect(endpoint.calls()).toBe(3);
	});

	it('stops at FAILURE with Whilter\'s message', async () => {
		const outcome = await settle(waitForMedia({ check: answers(processing, { status: 'FAILURE', message: 'Rendering failed' }).check, schedule }));
		expect(outcome).toMatchObject({ state: 'failure', checks: 2, elapsedMs: 10, media: { status: 'FAILURE', message: 'Rendering failed' } });
	});

	it('reads lower-case statuses and keeps asking on an unknown one', async () => {
		const outcome = await settle(waitForMedia({ check: answers({ status: 'queued' }, {}, { status: 'success', 'image-url': 'https://m.test/i.png' }).check, schedule }));
		expect(outcome).toMatchObject({ state: 'success', checks: 3, elapsedMs: 25, media: { imageUrl: 'https://m.test/i.png', videoUrl: null } });
	});

	it('times out with the last status, after exactly the checks its schedule allows', async () => {
		const endpoint = answers(processing);
		const outcome = await settle(waitForMedia({ check: endpoint.check, schedule: { firstIntervalMs: 5, maxIntervalMs: 5, timeoutMs: 60 } }));
		// Checks at 0, 5, 10, … 60 ms: thirteen; the one at 60 ms finds the timeout passed.
		expect(outcome).toMatchObject({ state: 'timeout', checks: 13, elapsedMs: 60, last: { status: 'PROCESSING', message: 'Processing' } });
		expect(endpoint.calls()).toBe(13);
	});

	it('stops the last wait short at the timeout, and grows the interval up to its cap', async () => {
		const outcome = await settle(waitForMedia({ check: answers(processing).check, schedule: { firstIntervalMs: 10, maxIntervalMs: 20, timeoutMs: 100 } }));
		// Waits of 10, 15, 20, 20, 20, then the 15 ms left: checks at 0, 10, 25, 45, 65, 85, 100.
		expect(outcome).toMatchObject({ state: 'timeout', checks: 7, elapsedMs: 100 });
	});

	it('stops waiting as soon as the signal fires', async () => {
		const controller = new AbortController();
		setTimeout(() => controller.abort(), 30);
		const waits: number[] = [];
		const wait = async (ms: number) => {
			waits.push(ms);
			await new Promise<void>((resolve) => setTimeout(resolve, ms));
		};
		const waiting = waitForMedia({
			check: answers(processing).check,
			schedule: { firstIntervalMs: 10_000, maxIntervalMs: 10_000, timeoutMs: 60_000 },
			signal: controller.signal,
			wait,
		});
		await jest.advanceTimersByTimeAsync(30);
		const outcome = await waiting;
		// Woken 30 ms into its 10 s wait, not at its end.
		expect(outcome).toMatchObject({ state: 'cancelled', checks: 1, elapsedMs: 30, last: { status: 'PROCESSING' } });
		expect(waits).toEqual([10_000]);
	});

	it('passes a failing check on (the request helper already retried it)', async () => {
		await expect(waitForMedia({ check: async () => await Promise.reject(new Error('HTTP 404')), schedule })).rejects.toThrow('HTTP 404');
	});
});

describe('readMediaStatus', () => {
	it('treats empty URLs as not there and a missing status as unknown', () => {
		expect(readMediaStatus({ 'video-url': '', message: 5 } as unknown as IDataObject)).toEqual({ status: 'UNKNOWN', message: '', videoUrl: null, imageUrl: null });
	});

	it('prints seconds the way users typed them', () => {
		expect(secondsText(300_000)).toBe('300 s');
		expect(secondsText(250)).toBe('0.25 s');
	});
});
