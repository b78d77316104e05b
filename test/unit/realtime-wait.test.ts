import type { IDataObject } from 'n8n-workflow';

import { secondsText } from '../../nodes/shared/poll';
import { readMediaStatus } from '../../nodes/Whilter/api/mediaStatus';
import { waitForMedia } from '../../nodes/Whilter/realtime/waitForMedia';

const processing = { status: 'PROCESSING', message: 'Processing', 'video-url': null, 'image-url': null };
const schedule = { firstIntervalMs: 5, maxIntervalMs: 10, timeoutMs: 2_000 };

/** A status endpoint answering the given bodies in turn (the last one again when they run out). */
function answers(...bodies: IDataObject[]) {
	let calls = 0;
	const check = async () => bodies[Math.min(calls++, bodies.length - 1)];
	return { check, calls: () => calls };
}

describe('waitForMedia', () => {
	it('asks until SUCCESS and gives the URLs', async () => {
		const endpoint = answers(processing, processing, { status: 'SUCCESS', message: 'Ready', 'video-url': 'https://m.test/v.mp4', 'image-url': null });
		const outcome = await waitForMedia({ check: endpoint.check, schedule });
		expect(outcome).toMatchObject({
			state: 'success',
			checks: 3,
			media: { status: 'SUCCESS', message: 'Ready', videoUrl: 'https://m.test/v.mp4', imageUrl: null },
		});
		expect(endpoint.calls()).toBe(3);
	});

	it('stops at FAILURE with Whilter\'s message', async () => {
		const outcome = await waitForMedia({ check: answers(processing, { status: 'FAILURE', message: 'Rendering failed' }).check, schedule });
		expect(outcome).toMatchObject({ state: 'failure', checks: 2, media: { status: 'FAILURE', message: 'Rendering failed' } });
	});

	it('reads lower-case statuses and keeps asking on an unknown one', async () => {
		const outcome = await waitForMedia({ check: answers({ status: 'queued' }, {}, { status: 'success', 'image-url': 'https://m.test/i.png' }).check, schedule });
		expect(outcome).toMatchObject({ state: 'success', checks: 3, media: { imageUrl: 'https://m.test/i.png', videoUrl: null } });
	});

	it('times out with the last status', async () => {
		const started = Date.now();
		const outcome = await waitForMedia({ check: answers(processing).check, schedule: { firstIntervalMs: 5, maxIntervalMs: 5, timeoutMs: 60 } });
		expect(outcome).toMatchObject({ state: 'timeout', last: { status: 'PROCESSING', message: 'Processing' } });
		expect(outcome.checks).toBeGreaterThan(3);
		expect(Date.now() - started).toBeGreaterThanOrEqual(55);
	});

	it('stops waiting as soon as the signal fires', async () => {
		const controller = new AbortController();
		setTimeout(() => controller.abort(), 30);
		const started = Date.now();
		// The abandoned 10 s sleep must not hold jest open: the injected wait's timer is unref'd.
		const wait = async (ms: number) => await new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
		const outcome = await waitForMedia({
			check: answers(processing).check,
			schedule: { firstIntervalMs: 10_000, maxIntervalMs: 10_000, timeoutMs: 60_000 },
			signal: controller.signal,
			wait,
		});
		expect(outcome).toMatchObject({ state: 'cancelled', checks: 1, last: { status: 'PROCESSING' } });
		expect(Date.now() - started).toBeLessThan(2_000);
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
