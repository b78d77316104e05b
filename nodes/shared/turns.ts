/**
 * Long loops in turns. n8n serves the editor, webhooks (the Whilter Trigger among them) and other
 * executions from the thread a node runs on, so a loop over a million items gives the event loop a
 * turn every few milliseconds instead of holding it for the whole pass. A time budget, not an item
 * count: a loaded machine or wide items would make a fixed count take far longer than intended.
 */

/**
 * Work per turn, in milliseconds. Short, because V8's first young-generation collection inside a
 * node copies the input items n8n made just before execute() (35–55 ms for a million items) and
 * lands in one of the node's turns: that turn's block is the collection plus the work the turn did
 * before it, up to 3–8 ms with turns of 4 ms, under 2 ms with turns of 1 ms. A turn costs a few
 * microseconds (about 1.5 % of a million-item pass).
 */
export const TURN_MS = 1;

/** Lets timers, I/O and other executions run before the loop goes on. */
export async function giveTurn(): Promise<void> {
	await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A loop's clock. `dueAt(step)` is true once the turn's budget is spent; it reads the clock only every
 * 1,024th step, since a reading costs more than a cheap step. `next()` gives the event loop its turn
 * and starts a new one.
 */
export function turnClock(turnMs = TURN_MS): { due(): boolean; dueAt(step: number): boolean; next(): Promise<void> } {
	let until = performance.now() + turnMs;
	const due = () => performance.now() >= until;
	return {
		due,
		dueAt: (step) => (step & 1023) === 1023 && due(),
		async next() {
			await giveTurn();
			until = performance.now() + turnMs;
		},
	};
}
