import { turnClock } from '../../nodes/shared/turns';

describe('turnClock', () => {
	afterEach(() => jest.restoreAllMocks());

	it('ends a turn after 1 ms of work', () => {
		// A node's first young-generation collection copies the input items n8n made just before
		// execute() (35–55 ms for a million items here) and lands in one of the node's turns: the
		// work the turn did before it adds to that block, so turns are kept short.
		let clock = 1000;
		jest.spyOn(performance, 'now').mockImplementation(() => clock);
		const turns = turnClock();
		clock = 1000.9;
		expect(turns.due()).toBe(false);
		clock = 1001;
		expect(turns.due()).toBe(true);
	});

	it('reads the clock every 1,024th step only, and starts a new budget after the turn', async () => {
		let clock = 0;
		const now = jest.spyOn(performance, 'now').mockImplementation(() => clock);
		const turns = turnClock();
		clock = 100;
		const readingsBefore = now.mock.calls.length;
		expect(turns.dueAt(1022)).toBe(false);
		expect(now.mock.calls.length).toBe(readingsBefore);
		expect(turns.dueAt(1023)).toBe(true);
		await turns.next();
		expect(turns.due()).toBe(false);
	});
});
