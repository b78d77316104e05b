import { configuredPath, fillPath, pathSegment } from '../../nodes/shared/paths';
import { requestIdPath, taskIdPath, TASK_CANCEL_PATH, TASK_STATUS_PATH } from '../../nodes/Whilter/api/endpoints';
import { errorOf } from '../harness/errors';

describe('pathSegment: the one way an id goes into a path', () => {
	it.each(['.', '..', ' .. ', ' . '])('refuses the dot segment %j, which the HTTP client would resolve', (id) => {
		const error = errorOf(() => pathSegment(id, 'Task ID'));
		expect(error.message).toBe(`"Task ID" is "${id.trim()}", which cannot go into a URL path`);
		expect(error.details.parameter).toBe('Task ID');
	});

	it.each(['', '   ', undefined, null])('refuses an empty id (%j), saying where it usually comes from', (id) => {
		const error = errorOf(() => pathSegment(id, 'Task ID', 'Map the task-id field'));
		expect(error.message).toBe('"Task ID" is empty');
		expect(error.details.description).toBe('Map the task-id field');
	});

	it.each([
		['task-1', 'task-1'],
		['a/b', 'a%2Fb'],
		['...', '...'],
		['a b?#', 'a%20b%3F%23'],
		['%2e%2e', '%252e%252e'],
		[42, '42'],
	])('encodes everything else: %j → %s', (id, encoded) => {
		expect(pathSegment(id, 'Task ID')).toBe(encoded);
	});
});

describe('configuredPath: one rule for every path a user can set', () => {
	it.each([
		['task/status/{taskId}', 'must be a path starting with "/" (no host)'],
		['//evil.test/x/{taskId}', 'must be a path starting with "/" (no host)'],
		['/x?y={taskId}', 'must be a path only, without a host, query, fragment or spaces'],
		['/x/https://evil/{taskId}', 'must be a path only, without a host, query, fragment or spaces'],
		['/task/../status/{taskId}', 'must not hold "." or ".." segments'],
		['/task/status', 'must hold {taskId}, where the ID goes'],
		['', 'must be a path starting with "/" (no host)'],
	])('refuses %j, naming the parameter', (path, problem) => {
		const error = errorOf(() => configuredPath(path, 'Status Path', '{taskId}'));
		expect(error.message).toBe(`"Status Path" ${problem}; got "${path}"`);
		expect(error.details.parameter).toBe('Status Path');
	});

	it('accepts a path with its placeholder, trimmed', () => {
		expect(configuredPath(' /v2/task/status/{taskId} ', 'Status Path', '{taskId}')).toBe('/v2/task/status/{taskId}');
		expect(configuredPath('/task', 'Task Path')).toBe('/task');
	});
});

describe('Whilter endpoints', () => {
	it('fill the task id and the request id through the same rule', () => {
		expect(taskIdPath(TASK_STATUS_PATH, 'Status Path', 'a/b')).toBe('/task/status/a%2Fb');
		expect(taskIdPath(TASK_CANCEL_PATH, 'Cancel Path', 't1')).toBe('/image/task/cancel/t1');
		expect(requestIdPath('/status/{whilterRequestId}', 'Real-Time Status Path', 'r-1')).toBe('/status/r-1');
		expect(fillPath('/a/{id}/b/{id}', '{id}', 'x y', 'ID')).toBe('/a/x%20y/b/x%20y');
	});

	it('refuse ".." as a task id or request id before any request could be made', () => {
		expect(() => taskIdPath(TASK_STATUS_PATH, 'Status Path', '..')).toThrow('"Task ID" is "..", which cannot go into a URL path');
		expect(() => requestIdPath('/status/{whilterRequestId}', 'Real-Time Status Path', '.')).toThrow(
			'"whilter-request-id" is ".", which cannot go into a URL path',
		);
	});
});
