/**
 * Counts the event loop's turns while a test's work runs: another task that reschedules itself with
 * setImmediate runs once per turn, so a count above one says the work gave the loop turns, whatever
 * the machine's speed.
 */
export function countTurns(): { stop(): number } {
	let turns = 0;
	let running = true;
	const tick = () => {
		turns++;
		if (running) setImmediate(tick);
	};
	setImmediate(tick);
	return {
		stop() {
			running = false;
			return turns;
		},
	};
}
