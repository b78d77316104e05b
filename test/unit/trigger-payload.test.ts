import { parseBatchCallback, parseRealtimeCallback } from '../../nodes/Whilter/api/callbackPayload';
import { bodySize, checkBodySize } from '../../nodes/Whilter/trigger/bodySize';
import type { BatchCallback, Parsed, RealtimeCallback } from '../../nodes/Whilter/api/callbackPayload';

function value<T>(parsed: Parsed<T>): T {
	if ('refusal' in parsed) throw new Error(`refused: ${parsed.refusal.status} ${parsed.refusal.message}`);
	return parsed.value;
}

function refusal<T>(parsed: Parsed<T>): { status: number; message: string } {
	if (!('refusal' in parsed)) throw new Error(`accepted: ${JSON.stringify(parsed.value)}`);
	return parsed.refusal;
}

describe('Whilter Trigger: batch callback payload', () => {
	it('reads the contract server\'s payload', () => {
		const body = { 'task-id': 'task-1', status: 'completed', 'file-path': 'incoming/output/task-1.csv', count: 7, message: 'Task completed' };
		expect(value(parseBatchCallback(body))).toEqual<BatchCallback>({
			taskId: 'task-1',
			status: 'completed',
			statusWord: 'completed',
			filePath: 'incoming/output/task-1.csv',
			payload: body,
		});
	});

	it('accepts the id as taskId, task_id or a number, and upper-case statuses', () => {
		expect(value(parseBatchCallback({ taskId: 't2', status: 'COMPLETED' }))).toMatchObject({ taskId: 't2', status: 'completed', statusWord: 'COMPLETED' });
		expect(value(parseBatchCallback({ task_id: 42, status: 'IN_PROGRESS' }))).toMatchObject({ taskId: '42', status: 'in-progress' });
		expect(value(parseBatchCallback({ 'task-id': '  t3 ' }))).toEqual({ taskId: 't3', payload: { 'task-id': '  t3 ' } });
	});

	it('keeps a status word it does not know as "unknown" with the word', () => {
		expect(value(parseBatchCallback({ 'task-id': 't', status: 'Exploded' }))).toMatchObject({ status: 'unknown', statusWord: 'Exploded' });
	});

	it.each([
		[undefined, /JSON object.*empty body/],
		[null, /JSON object.*empty body/],
		[{}, /JSON object.*empty body/],
		['{"task-id": "t"', /JSON object.*a string/],
		[[{ 'task-id': 't' }], /JSON object.*a list/],
		[{ status: 'completed' }, /names no task-id/],
		[{ 'task-id': '', status: 'completed' }, /"task-id" must be a task ID/],
		[{ 'task-id': 'a b', status: 'completed' }, /"task-id" must be a task ID/],
		[{ 'task-id': 'x'.repeat(257) }, /"task-id" must be a task ID/],
		[{ 'task-id': { id: 1 } }, /"task-id" must be a task ID/],
		[{ taskId: true }, /"taskId" must be a task ID/],
		[{ 'task-id': 't', status: 3 }, /"status" must be a non-empty text/],
		[{ 'task-id': 't', status: ' ' }, /"status" must be a non-empty text/],
	])('answers 400 to %j', (body, message) => {
		const refused = refusal(parseBatchCallback(body));
		expect(refused.status).toBe(400);
		expect(refused.message).toMatch(message);
	});
});

describe('Whilter Trigger: real-time callback payload', () => {
	it('reads the documented payload {client-request-id, user-id, video-url}', () => {
		const body = { 'client-request-id': 'order-1', 'user-id': 'u-9', 'video-url': 'https://cdn.example/v.mp4' };
		expect(value(parseRealtimeCallback(body))).toEqual<RealtimeCallback>({
			clientRequestId: 'order-1',
			userId: 'u-9',
			videoUrl: 'https://cdn.example/v.mp4',
			payload: body,
		});
	});

	it('also reads whilter-request-id, image-url and a status when Whilter sends them', () => {
		const body = { 'client-request-id': 'c', 'user-id': 7, 'whilter-request-id': 'wr-1', 'image-url': 'http://x/i.png', status: 'success' };
		expect(value(parseRealtimeCallback(body))).toMatchObject({ userId: '7', whilterRequestId: 'wr-1', imageUrl: 'http://x/i.png', status: 'SUCCESS' });
	});

	it.each([
		[{}, /JSON object/],
		[{ 'user-id': 'u', 'video-url': 'https://x/v.mp4' }, /names no client-request-id/],
		[{ 'client-request-id': 'c', 'video-url': 'javascript:alert(1)' }, /"video-url" must be an http\(s\) URL/],
		[{ 'client-request-id': 'c', 'image-url': 42 }, /"image-url" must be an http\(s\) URL/],
		[{ 'client-request-id': 'c', 'whilter-request-id': 'a/ b' }, /"whilter-request-id" must be a request ID/],
		[{ 'client-request-id': 'c', status: 'DONE' }, /SUCCESS, FAILURE or PROCESSING/],
	])('answers 400 to %j', (body, message) => {
		const refused = refusal(parseRealtimeCallback(body));
		expect(refused.status).toBe(400);
		expect(refused.message).toMatch(message);
	});
});

describe('Whilter Trigger: body size', () => {
	it('measures the raw bytes n8n read, else Content-Length, else the parsed body', () => {
		expect(bodySize(Buffer.from('héllo'), '999', { a: 1 })).toBe(6);
		expect(bodySize(undefined, '1234', { a: 1 })).toBe(1234);
		expect(bodySize(undefined, undefined, { a: 'é' })).toBe(Buffer.byteLength('{"a":"é"}'));
		expect(bodySize(undefined, undefined, undefined)).toBe(0);
	});

	it('answers 413 only above the limit', () => {
		expect(checkBodySize(1024, 1024)).toBeUndefined();
		expect(checkBodySize(1025, 1024)).toEqual({ status: 413, message: 'The callback body is 1025 bytes; this trigger accepts at most 1024' });
	});
});
