import { compareBatchStatus, compareRealtimeStatus } from '../../nodes/Whilter/trigger/confirm';
import { parseBatchCallback, parseRealtimeCallback } from '../../nodes/Whilter/api/callbackPayload';
import type { BatchCallback, RealtimeCallback } from '../../nodes/Whilter/api/callbackPayload';
import { readMediaStatus } from '../../nodes/Whilter/api/mediaStatus';
import { parseTaskStatus } from '../../nodes/Whilter/api/taskStatus';

function batch(body: Record<string, unknown>): BatchCallback {
	const parsed = parseBatchCallback(body);
	if ('refusal' in parsed) throw new Error(parsed.refusal.message);
	return parsed.value;
}

function realtime(body: Record<string, unknown>): RealtimeCallback {
	const parsed = parseRealtimeCallback(body);
	if ('refusal' in parsed) throw new Error(parsed.refusal.message);
	return parsed.value;
}

describe('Whilter Trigger: a batch callback against the status API', () => {
	it('agrees when the normalised statuses are the same (lower-case or upper-case answer)', () => {
		const claim = batch({ 'task-id': 't1', status: 'completed' });
		expect(compareBatchStatus(claim, parseTaskStatus({ 'task-id': 't1', status: 'completed', count: 3 }, 't1'))).toBeUndefined();
		expect(compareBatchStatus(claim, parseTaskStatus({ 'task-id': 't1', status: 'COMPLETED', 'total-count': 3 }, 't1'))).toBeUndefined();
		// No status in the callback: the API's is taken.
		expect(compareBatchStatus(batch({ 'task-id': 't1' }), parseTaskStatus({ status: 'pending' }, 't1'))).toBeUndefined();
	});

	it('refuses with 409 when the API says otherwise, naming both statuses', () => {
		const refusal = compareBatchStatus(batch({ 'task-id': 't1', status: 'completed' }), parseTaskStatus({ 'task-id': 't1', status: 'in-progress' }, 't1'));
		expect(refusal).toEqual({ status: 409, message: 'The callback says task t1 is "completed", but the Whilter status API says "in-progress"' });
	});

	it('refuses with 409 when the API answers for another task', () => {
		expect(compareBatchStatus(batch({ 'task-id': 't1', status: 'completed' }), parseTaskStatus({ 'task-id': 't2', status: 'completed' }, 't1'))?.status).toBe(409);
	});

	it("leaves a word it does not know to the status API: the API's answer decides", () => {
		expect(compareBatchStatus(batch({ 'task-id': 't', status: 'Archived' }), parseTaskStatus({ status: 'ARCHIVED' }, 't'))).toBeUndefined();
		expect(compareBatchStatus(batch({ 'task-id': 't', status: 'Archived' }), parseTaskStatus({ status: 'completed' }, 't'))).toBeUndefined();
		// A known word the API contradicts is still a mismatch.
		expect(compareBatchStatus(batch({ 'task-id': 't', status: 'failed' }), parseTaskStatus({ status: 'Succeeded' }, 't'))?.status).toBe(409);
	});
});

describe('Whilter Trigger: a real-time callback against the status API', () => {
	const ready = readMediaStatus({ status: 'SUCCESS', message: 'Ready', 'video-url': 'https://cdn/v.mp4', 'image-url': 'https://cdn/i.png' });

	it('agrees when the API says SUCCESS with the same media URL', () => {
		expect(compareRealtimeStatus(realtime({ 'client-request-id': 'c', 'whilter-request-id': 'w', 'video-url': 'https://cdn/v.mp4' }), ready)).toBeUndefined();
		expect(compareRealtimeStatus(realtime({ 'client-request-id': 'c', 'whilter-request-id': 'w' }), ready)).toBeUndefined();
	});

	it('refuses with 409 when the media is not ready or the URL is another one', () => {
		const processing = readMediaStatus({ status: 'PROCESSING', 'video-url': null });
		expect(compareRealtimeStatus(realtime({ 'client-request-id': 'c', 'whilter-request-id': 'w', 'video-url': 'https://cdn/v.mp4' }), processing)?.status).toBe(409);
		expect(compareRealtimeStatus(realtime({ 'client-request-id': 'c', 'whilter-request-id': 'w', 'video-url': 'https://evil/v.mp4' }), ready)).toEqual({
			status: 409,
			message: 'The callback\'s video-url for request w is not the one the Whilter status API gives',
		});
		expect(compareRealtimeStatus(realtime({ 'client-request-id': 'c', 'whilter-request-id': 'w', 'image-url': 'https://evil/i.png' }), ready)?.status).toBe(409);
	});

	it('takes a FAILURE callback as confirmed only when the API says FAILURE too', () => {
		const failed = readMediaStatus({ status: 'FAILURE', message: 'Rendering failed' });
		expect(compareRealtimeStatus(realtime({ 'client-request-id': 'c', 'whilter-request-id': 'w', status: 'FAILURE' }), failed)).toBeUndefined();
		expect(compareRealtimeStatus(realtime({ 'client-request-id': 'c', 'whilter-request-id': 'w', status: 'FAILURE' }), ready)?.status).toBe(409);
	});
});
