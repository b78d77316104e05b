/**
 * Long loops in turns. n8n serves the editor, webhooks (the Whilter Trigger among them) and other
 * executions from the thread a node runs on, so a loop over a million items gives the event loop a
 * turn every few milliseconds instead of holding it for the whole pass. A time budget, not an item
 * count: a loaded machine or wide items would make a fixed count take far longer than intended.
 */

/** Work per turn, in milliseconds. */
export const TURN_MS = 8;

/** Lets timers, I/O and other executions run before the loop goes on. */
export async function giveTurn(): Promise<void> {
	await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A loop's clock: `due()` is true once the turn's budget is spent (checked by the loop every so many
 * steps, since reading the clock costs too); `next()` gives the event loop its turn and starts a new one.
 */
export function turnClock(turnMs = TURN_MS): { due(): boolean; next(): Promise<void> } {
	let until = performance.now() + turnMs;
	return {
		due: () => performance.now() >= until,
		async next() {
			await giveTurn();
			until = performance.now() + turnMs;
		},
	};
}
