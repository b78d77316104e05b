import { NodeOperationError } from 'n8n-workflow';
import type { IBinaryKeyData, IDataObject, IExecuteFunctions, INodeExecutionData, IPairedItemData } from 'n8n-workflow';

import { asNodeError } from './errors';
import { turnClock } from './turns';

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
	 * The first task runs alone until its first request is answered (it calls `opened`) or it ends.
	 * With a credential whose token is fetched on first use, this makes one token request instead of
	 * one per concurrent task, and the others need not wait for the rest of the first task (a media
	 * wait of seconds).
	 */
	firstAlone?: boolean;
}

/**
 * Runs `work` for indices 0…count-1, at most `limit` at a time, started in index order; results come
 * back in index order whatever order the tasks finished in.
 */
export async function mapWithConcurrency<T>(
	count: number,
	/** `opened`: the task's first request was answered (see firstAlone); calling it again does nothing. */
	work: (index: number, signal: AbortSignal, opened: () => void) => Promise<T>,
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
			const opened = () => {
				if (index !== 0 || firstDone) return;
				firstDone = true;
				launch();
			};
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
				.then(async () => await work(index, controller.signal, opened))
				.then(
					(value) => settle({ status: 'fulfilled', value }),
					(reason: unknown) => settle({ status: 'rejected', reason }),
				);
		};
		launch();
	});
}

/** One output item of one input item; pairedItem is added by the toolkit. */
export interface ItemOutput {
	json: IDataObject;
	binary?: IBinaryKeyData;
	/**
	 * Only ever `undefined`: the place the toolkit puts the pairing in. An object made as `{ json }`
	 * has no room for a property added later and gets a second allocation for it; an operation that
	 * gives a million items (result rows) makes them with the slot, one object an item instead of two.
	 */
	pairedItem?: undefined;
}

export interface PerItemOptions<Plan> {
	/**
	 * Reads and checks one item's parameters before anything is sent for any item. Without "continue
	 * on fail" one bad item stops the node with no request made; with it, the item becomes an error
	 * item and the others go ahead.
	 */
	check: (itemIndex: number) => Plan | Promise<Plan>;
	/** Rules across items (two items with one ID): the items at fault, each with its error. */
	checkAcross?: (plans: ReadonlyArray<Plan | undefined>) => Map<number, Error>;
	/**
	 * One item's work: one output item, or several (a task's result rows), all paired with it; objects
	 * of its own, since they become the output items. It calls `opened` once its first request is
	 * answered, which lets the other items start under firstAlone.
	 */
	run: (plan: Plan, itemIndex: number, signal: AbortSignal, opened: () => void) => Promise<ItemOutput | ItemOutput[]>;
	/** Items in progress at once (1: one after the other); the output keeps the input order. */
	concurrency?: number;
	/** The first item runs alone until its first request is answered, so a credential without a token fetches one, not one per concurrent item. */
	firstAlone?: boolean;
	/** Keep the input item's binary data on its output items (a node that adds a file next to the others). */
	keepInputBinary?: boolean;
	/** Run the first input item only: the node acts once per execution, whatever the number of items. */
	firstItemOnly?: boolean;
}

/**
 * The one shape of a failed item under "continue on fail", in every node of the package: the message
 * under `error`, the rest (the advice, what was uploaded where) under `details`. n8n sends an item to
 * the error output ("Continue (using error output)") only when its JSON holds nothing but error,
 * message and details; any other key would send the failure down the success branch.
 */
export function errorItem(error: NodeOperationError | Error, pairedItem: IPairedItemData | IPairedItemData[], extra: IDataObject = {}): INodeExecutionData {
	const description = (error as { description?: unknown }).description;
	const details: IDataObject = { ...(typeof description === 'string' && description ? { description } : {}), ...extra };
	return { json: { error: error.message, ...(Object.keys(details).length ? { details } : {}) }, pairedItem };
}

function toArray(output: ItemOutput | ItemOutput[]): ItemOutput[] {
	return Array.isArray(output) ? output : [output];
}

/**
 * The loop of every per-item node: every item checked first, then each item's work (one at a time
 * or a few at once), outputs paired with their item in input order. A failure stops the node as a
 * NodeApiError/NodeOperationError on that item (no item starts after it), or, with "continue on
 * fail", becomes that item's error item.
 */
export async function runPerItem<Plan>(context: IExecuteFunctions, options: PerItemOptions<Plan>): Promise<INodeExecutionData[]> {
	const node = context.getNode();
	const inputs = context.getInputData();
	const count = options.firstItemOnly ? Math.min(1, inputs.length) : inputs.length;
	const continueOnFail = context.continueOnFail();
	const checked: Array<Plan | Error> = [];
	for (let itemIndex = 0; itemIndex < count; itemIndex++) {
		try {
			checked.push(await options.check(itemIndex));
		} catch (error) {
			const nodeError = asNodeError(node, error, itemIndex, { namesItem: true });
			if (!continueOnFail) throw nodeError;
			checked.push(nodeError);
		}
	}
	const across = options.checkAcross?.(checked.map((plan) => (plan instanceof Error ? undefined : plan))) ?? new Map<number, Error>();
	for (const [itemIndex, error] of [...across.entries()].sort(([a], [b]) => a - b)) {
		const nodeError = asNodeError(node, error, itemIndex, { namesItem: true });
		if (!continueOnFail) throw nodeError;
		checked[itemIndex] = nodeError;
	}

	const settled = await mapWithConcurrency(
		count,
		async (itemIndex, signal, opened) => {
			const plan = checked[itemIndex];
			if (plan instanceof Error) throw plan;
			return toArray(await options.run(plan, itemIndex, signal, opened));
		},
		{ limit: options.concurrency ?? 1, firstAlone: options.firstAlone, stopOnError: !continueOnFail },
	);

	// One input item can give a million outputs (a task's result rows): sized once, made in turns, and
	// each output is the run's own object with its pairing added, not a copy of it.
	const total = settled.reduce((sum, result) => sum + (result.status === 'fulfilled' ? result.value.length : 1), 0);
	const out = new Array<INodeExecutionData>(total);
	let filled = 0;
	const clock = turnClock();
	for (const [itemIndex, result] of settled.entries()) {
		const pairedItem = { item: itemIndex };
		if (result.status === 'fulfilled') {
			for (const [n, item] of result.value.entries()) {
				if (clock.dueAt(n)) await clock.next();
				const output = item as INodeExecutionData;
				if (options.keepInputBinary) {
					const binary = { ...(inputs[itemIndex]?.binary ?? {}), ...(item.binary ?? {}) };
					if (Object.keys(binary).length) output.binary = binary;
				}
				if (output.binary && !Object.keys(output.binary).length) delete output.binary;
				output.pairedItem = pairedItem;
				out[filled++] = output;
			}
			continue;
		}
		// Skipped items only follow a failed one, which has thrown already without continue-on-fail.
		const reason = result.status === 'rejected' ? result.reason : new NodeOperationError(node, `Item ${itemIndex} was not run: an earlier item failed`, { itemIndex });
		const nodeError = asNodeError(node, reason, itemIndex, { namesItem: true });
		if (!continueOnFail) throw nodeError;
		out[filled++] = errorItem(nodeError, pairedItem);
	}
	return out;
}

/** The operation a node runs, from its own list: an unknown value is an error, never another operation. */
export function operationOf<Operation extends string>(context: IExecuteFunctions, known: readonly Operation[]): Operation {
	const operation = context.getNodeParameter('operation', 0) as string;
	if (!(known as readonly string[]).includes(operation)) {
		throw new NodeOperationError(context.getNode(), `The operation "${operation}" is not known`, {
			description: `Expected one of: ${known.join(', ')}`,
		});
	}
	return operation as Operation;
}
