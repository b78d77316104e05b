export type Settled<T> =
	| { status: 'fulfilled'; value: T }
	| { status: 'rejected'; reason: unknown }
	/** Never started: an earlier task failed and stopOnError was set. */
	| { status: 'skipped' };

export interface ConcurrencyOptions {
	/** Tasks running at once (at least 1). */
	limit: number;
	/**
	 * Without it, every task runs. With it, the first failure in index order decides: no task starts
	 * after a failure, tasks after the failing one are told to stop (their signal aborts), and tasks
	 * before it run to their end, since one of them may still fail and come first.
	 */
	stopOnError: boolean;
	/**
	 * The first task runs alone before the others start. With a credential whose token is fetched on
	 * first use, this makes one token request instead of one per concurrent task.
	 */
	firstAlone?: boolean;
}

/**
 * Runs `work` for indices 0…count-1, at most `limit` at a time, started in index order; results come
 * back in index order whatever order the tasks finished in.
 */
export async function mapWithConcurrency<T>(
	count: number,
	work: (index: number, signal: AbortSignal) => Promise<T>,
	options: ConcurrencyOptions,
): Promise<Array<Settled<T>>> {
	const limit = Math.max(1, Math.floor(options.limit) || 1);
	const results: Array<Settled<T>> = Array.from({ length: count }, () => ({ status: 'skipped' }));
	const running = new Map<number, AbortController>();
	let next = 0;
	let firstDone = false;
	let firstFailure: number | undefined;

	return await new Promise((resolve) => {
		const launch = () => {
			while (next < count && firstFailure === undefined) {
				const cap = options.firstAlone && !firstDone ? 1 : limit;
				if (running.size >= cap) break;
				start(next++);
			}
			if (running.size === 0) resolve(results);
		};
		const start = (index: number) => {
			const controller = new AbortController();
			running.set(index, controller);
			const settle = (outcome: Settled<T>) => {
				results[index] = outcome;
				running.delete(index);
				if (index === 0) firstDone = true;
				if (outcome.status === 'rejected' && options.stopOnError && (firstFailure === undefined || index < firstFailure)) {
					firstFailure = index;
					for (const [other, otherController] of running) if (other > index) otherController.abort();
				}
				launch();
			};
			// A task that throws synchronously is still a rejection, never an unhandled one.
			void Promise.resolve()
				.then(async () => await work(index, controller.signal))
				.then(
					(value) => settle({ status: 'fulfilled', value }),
					(reason: unknown) => settle({ status: 'rejected', reason }),
				);
		};
		launch();
	});
}
