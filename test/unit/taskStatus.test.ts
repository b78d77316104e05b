import { normaliseTaskState, parseTaskStatus } from '../../nodes/Whilter/api/taskStatus';

describe('task status', () => {
	it('accepts the lower-case answer with count', () => {
		const raw = { 'task-id': 't1', status: 'in-progress', count: 10, message: 'Task in-progress', 'file-path': 'in/a.zip' };
		expect(parseTaskStatus(raw, 't1')).toEqual({ 'task-id': 't1', status: 'in-progress', count: 10, message: 'Task in-progress', 'file-path': 'in/a.zip', response: raw });
	});

	it("accepts the public variant's answer (upper case, total-count, processed)", () => {
		const raw = { 'task-id': 't2', status: 'COMPLETED', 'total-count': 10, processed: 10, message: 'done', 'file-path': 'out/t2.csv' };
		expect(parseTaskStatus(raw, 't2')).toMatchObject({ status: 'completed', count: 10, processed: 10, 'file-path': 'out/t2.csv' });
	});

	it.each([
		['PENDING', 'pending'],
		['IN_PROGRESS', 'in-progress'],
		['In Progress', 'in-progress'],
		['FAILED', 'failed'],
		['canceled', 'cancelled'],
		['whatever', 'unknown'],
		[undefined, 'unknown'],
	])('normalises %p to %p', (word, state) => {
		expect(normaliseTaskState(word)).toBe(state);
	});
});
