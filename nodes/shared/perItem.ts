import { NodeOperationError } from 'n8n-workflow';
import type { IBinaryKeyData, IDataObject, IExecuteFunctions, INodeExecutionData, IPairedItemData } from 'n8n-workflow';

import { asNodeError } from './errors';

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

/** One output item of one input item; pairedItem is added by the toolkit. */
export interface ItemOutput {
	json: IDataObject;
	binary?: IBinaryKeyData;
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
	/** One item's work: one output item, or several (a task's result rows), all paired with it. */
	run: (plan: Plan, itemIndex: number, signal: AbortSignal) => Promise<ItemOutput | ItemOutput[]>;
	/** Items in progress at once (1: one after the other); the output keeps the input order. */
	concurrency?: number;
	/** The first item runs alone, so a credential without a token fetches one, not one per concurrent item. */
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
		async (itemIndex, signal) => {
			const plan = checked[itemIndex];
			if (plan instanceof Error) throw plan;
			return toArray(await options.run(plan, itemIndex, signal));
		},
		{ limit: options.concurrency ?? 1, firstAlone: options.firstAlone, stopOnError: !continueOnFail },
	);

	const out: INodeExecutionData[] = [];
	for (const [itemIndex, result] of settled.entries()) {
		const pairedItem = { item: itemIndex };
		if (result.status === 'fulfilled') {
			for (const item of result.value) {
				const binary = options.keepInputBinary ? { ...(inputs[itemIndex]?.binary ?? {}), ...(item.binary ?? {}) } : item.binary;
				out.push({ json: item.json, ...(binary && Object.keys(binary).length ? { binary } : {}), pairedItem });
			}
			continue;
		}
		// Skipped items only follow a failed one, which has thrown already without continue-on-fail.
		const reason = result.status === 'rejected' ? result.reason : new NodeOperationError(node, `Item ${itemIndex} was not run: an earlier item failed`, { itemIndex });
		const nodeError = asNodeError(node, reason, itemIndex, { namesItem: true });
		if (!continueOnFail) throw nodeError;
		out.push(errorItem(nodeError, pairedItem));
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
