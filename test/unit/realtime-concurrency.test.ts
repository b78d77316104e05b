import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, INode, INodeExecutionData } from 'n8n-workflow';

import { mapWithConcurrency, runPerItem } from '../../nodes/shared/perItem';
import { countTurns } from '../harness/turns';

const delay = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms));

// Jest's modern fake timers: the tasks' durations are virtual, so which one finishes first follows
// from the durations alone (equal ones in the order they started), not from how busy the machine is.
beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

/** Runs the timers until `running` settles. */
async function settle<T>(running: Promise<T>): Promise<T> {
	// Handled from now on: a rejection that comes while the timers run is not an unhandled one.
	void running.catch(() => undefined);
	await jest.runAllTimersAsync();
	return await running;
}

/** Records which tasks run when, and how many at once. */
function tracker() {
	let running = 0;
	const state = { max: 0, started: [] as number[], finished: [] as number[], aborted: [] as number[] };
	const run = async (index: number, ms: number, signal?: AbortSignal) => {
		state.started.push(index);
		running++;
		state.max = Math.max(state.max, running);
		try {
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, ms);
				signal?.addEventListener('abort', () => {
					clearTimeout(timer);
					state.aborted.push(index);
					resolve();
				});
			});
		} finally {
			running--;
			state.finished.push(index);
		}
	};
	return { state, run };
}

describe('mapWithConcurrency', () => {
	it('returns results in index order although later tasks finish first', async () => {
		const { state, run } = tracker();
		const results = await settle(
			mapWithConcurrency(
				8,
				async (i, signal) => {
					await run(i, (8 - i) * 5, signal);
					return i * 10;
				},
				{ limit: 4, stopOnError: true },
			),
		);
		expect(results).toEqual(Array.from({ length: 8 }, (_, i) => ({ status: 'fulfilled', value: i * 10 })));
		// 0-3 take 40, 35, 30, 25 ms and end in reverse; each end starts the next, and 4-7 all end at 45 ms.
		expect(state.finished).toEqual([3, 2, 1, 0, 4, 5, 6, 7]);
		expect(state.started).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
	});

	it('never runs more than the limit at once, and does reach it', async () => {
		const { state, run } = tracker();
		await settle(mapWithConcurrency(12, async (i) => await run(i, 10), { limit: 3, stopOnError: false }));
		expect(state.max).toBe(3);
		const single = tracker();
		await settle(mapWithConcurrency(5, async (i) => await single.run(i, 2), { limit: 1, stopOnError: false }));
		expect(single.state.max).toBe(1);
		expect(single.state.finished).toEqual([0, 1, 2, 3, 4]);
	});

	it('with firstAlone, starts the others only after the first has finished', async () => {
		const events: string[] = [];
		await settle(
			mapWithConcurrency(
				4,
				async (i) => {
					events.push(`start ${i}`);
					await delay(i === 0 ? 20 : 5);
					events.push(`end ${i}`);
				},
				{ limit: 3, stopOnError: false, firstAlone: true },
			),
		);
		expect(events).toEqual(['start 0', 'end 0', 'start 1', 'start 2', 'start 3', 'end 1', 'end 2', 'end 3']);
	});

	it('with firstAlone, starts the others as soon as the first says its first request was answered', async () => {
		const events: string[] = [];
		let answerFirst!: () => void;
		const firstAnswered = new Promise<void>((resolve) => (answerFirst = resolve));
		let endFirst!: () => void;
		const firstEnds = new Promise<void>((resolve) => (endFirst = resolve));
		const running = mapWithConcurrency(
			3,
			async (i, _signal, opened) => {
				events.push(`start ${i}`);
				if (i === 0) {
					await firstAnswered;
					events.push('0 answered');
					opened();
					await firstEnds;
				}
				events.push(`end ${i}`);
			},
			{ limit: 3, stopOnError: false, firstAlone: true },
		);
		// No timers here: a few rounds of promise jobs let every task that can start do so.
		const flush = async () => {
			for (let i = 0; i < 20; i++) await Promise.resolve();
		};
		await flush();
		expect(events).toEqual(['start 0']);
		answerFirst();
		await flush();
		// Items 1 and 2 ran while item 0 still waits for the rest of its work.
		expect(events).toEqual(['start 0', '0 answered', 'start 1', 'end 1', 'start 2', 'end 2']);
		endFirst();
		await running;
		expect(events).toContain('end 0');
	});

	it('handles no tasks, a limit below 1, and a task that throws synchronously', async () => {
		expect(await mapWithConcurrency(0, async () => 1, { limit: 3, stopOnError: true })).toEqual([]);
		const results = await mapWithConcurrency(
			2,
			(i) => {
				if (i === 1) throw new Error('sync');
				return Promise.resolve(i);
			},
			{ limit: 0, stopOnError: false },
		);
		expect(results[0]).toEqual({ status: 'fulfilled', value: 0 });
		expect(results[1]).toMatchObject({ status: 'rejected', reason: { message: 'sync' } });
	});

	it('stopOnError: nothing starts after a failure, later tasks in flight are aborted, earlier ones run to their end', async () => {
		const { state, run } = tracker();
		const results = await settle(
			mapWithConcurrency(
				10,
				async (i, signal) => {
					// 0 is slow; 2 fails first; 3 and 4 are in flight when it does.
					await run(i, i === 0 ? 60 : i === 2 ? 10 : 200, signal);
					if (i === 2) throw new Error('item 2 failed');
					return i;
				},
				{ limit: 5, stopOnError: true },
			),
		);
		expect(state.started).toEqual([0, 1, 2, 3, 4]);
		expect(state.aborted.sort()).toEqual([3, 4]);
		expect(results[0]).toEqual({ status: 'fulfilled', value: 0 });
		expect(results[1]).toEqual({ status: 'fulfilled', value: 1 });
		expect(results[2]).toMatchObject({ status: 'rejected' });
		expect(results.slice(5).every((r) => r.status === 'skipped')).toBe(true);
	});

	it('stopOnError: an earlier task failing later still comes first', async () => {
		const results = await settle(
			mapWithConcurrency(
				4,
				async (i) => {
					await delay(i === 0 ? 40 : 5);
					throw new Error(`failed ${i}`);
				},
				{ limit: 4, stopOnError: true },
			),
		);
		const firstRejected = results.findIndex((r) => r.status === 'rejected');
		expect(firstRejected).toBe(0);
	});
});

/** A context with what the per-item loops read: input items, node, continue-on-fail. */
function fakeContext(count: number, continueOnFail: boolean): IExecuteFunctions {
	const node = { name: 'Realtime', type: 'n8n-nodes-whilter.whilterRealtime', typeVersion: 1, parameters: {} } as unknown as INode;
	return {
		getInputData: () => Array.from({ length: count }, (): INodeExecutionData => ({ json: {} })),
		getNode: () => node,
		continueOnFail: () => continueOnFail,
	} as unknown as IExecuteFunctions;
}

/** Item 1 fails with a plain Error, item 3 with a NodeApiError, item 4 with a string; the rest succeed. */
function scenario(node: INode) {
	return async (itemIndex: number): Promise<IDataObject> => {
		await delay((5 - itemIndex) * 3);
		if (itemIndex === 1) throw new Error('plain failure');
		if (itemIndex === 3) throw new NodeApiError(node, { message: 'vendor said no' }, { message: 'Whilter answered HTTP 400', itemIndex });
		if (itemIndex === 4) throw 'a string';
		return { itemIndex };
	};
}

async function outcome(run: () => Promise<INodeExecutionData[]>) {
	try {
		return { output: await settle(run()) };
	} catch (error) {
		const e = error as NodeOperationError;
		return { error: { type: e.constructor.name, message: e.message, itemIndex: e.context?.itemIndex } };
	}
}

describe('runPerItem: the same output and errors at any concurrency', () => {
	it.each([
		[true, 1],
		[true, 4],
		[false, 1],
		[false, 4],
	])('continueOnFail=%s, limit=%s: same output or same error', async (continueOnFail, limit) => {
		const context = fakeContext(6, continueOnFail);
		const work = scenario(context.getNode());
		const asItem = async (itemIndex: number) => ({ json: await work(itemIndex) });
		const sequential = await outcome(async () => await runPerItem(context, { check: (i) => i, run: async (_, i) => await asItem(i) }));
		const concurrent = await outcome(
			async () => await runPerItem(context, { check: (i) => i, run: async (_, i) => await asItem(i), concurrency: limit }),
		);
		expect(concurrent).toEqual(sequential);
		if (continueOnFail) {
			expect(concurrent.output!.map((o) => o.pairedItem)).toEqual([0, 1, 2, 3, 4, 5].map((item) => ({ item })));
			expect(concurrent.output![1].json).toEqual({ error: 'plain failure' });
			// One error-item shape in every node: the message, and the description under details when there is one.
			expect(concurrent.output![3].json).toEqual({ error: 'Whilter answered HTTP 400', details: { description: 'vendor said no' } });
		} else {
			expect(concurrent.error).toEqual({ type: 'NodeOperationError', message: 'plain failure', itemIndex: 1 });
		}
	});

	it('without continue-on-fail starts no item after the failure', async () => {
		const context = fakeContext(20, false);
		const started: number[] = [];
		await expect(
			settle(
				runPerItem(context, {
					check: (i) => i,
					run: async (_, i) => {
						started.push(i);
						await delay(5);
						if (i === 2) throw new NodeOperationError(context.getNode(), 'bad item 2', { itemIndex: 2 });
						return { json: {} };
					},
					concurrency: 3,
				}),
			),
		).rejects.toThrow('bad item 2');
		// 0-2 end at 5 ms in that order: the ends of 0 and 1 start 3 and 4, the failure of 2 starts nothing.
		expect(started).toEqual([0, 1, 2, 3, 4]);
	});
});

describe('runPerItem: many outputs of one item', () => {
	it('pairs a million-row answer in turns, giving the event loop a turn every few milliseconds', async () => {
		jest.useRealTimers();
		const context = fakeContext(1, false);
		const rows = Array.from({ length: 40_000 }, (_, i) => ({ json: { row: i } }));
		// A clock that moves 5 ms at every reading: the turns end after the same items on any machine.
		let clock = 0;
		const now = jest.spyOn(performance, 'now').mockImplementation(() => (clock += 5));
		const turns = countTurns();
		const out = await runPerItem(context, { check: (i) => i, run: async () => rows }).finally(() => now.mockRestore());
		const ticks = turns.stop();
		expect(out).toHaveLength(40_000);
		expect(out[39_999]).toEqual({ json: { row: 39_999 }, pairedItem: { item: 0 } });
		expect(ticks).toBeGreaterThanOrEqual(10);
	});
});
