/**
 * Holds the Whilter contract server's real-time calls until the test lets each one through, so a
 * concurrency test decides in which order calls are answered instead of racing timers of different
 * lengths (which the machine's load reorders).
 *
 * The server answers a real-time call after `realtimeDelayMs` (test/servers/whilter/realtime.ts: the
 * delay for the call's body, then a plain setTimeout, then the answer). The gate gives held calls a
 * delay no real code asks for, and while it is installed it takes the setTimeout of exactly that
 * delay: the call then waits, counted by the server as in flight, until the test releases it. Every
 * other setTimeout goes through untouched.
 */
import type { WhilterServer } from '../servers/whilter';

/** 11.4 days: no timer of the package, n8n-core or the servers asks for it. */
const HOLD_MS = 987_654_321;

export interface HeldCall {
	/** The user-id of the item the call belongs to. */
	user: string;
	call: 'request' | 'status';
	/** Lets the server answer the call. */
	release(): void;
}

type TimerHandler = (...args: unknown[]) => void;

export class RealtimeGate {
	/** Calls waiting at the server, in the order they arrived. */
	readonly held: HeldCall[] = [];
	private readonly arriving: Array<Omit<HeldCall, 'release'>> = [];
	private readonly realSetTimeout = globalThis.setTimeout;

	/** `pass` says which calls are answered at once instead of being held. */
	constructor(
		private readonly whilter: WhilterServer,
		pass: (user: string, call: 'request' | 'status') => boolean = () => false,
	) {
		whilter.realtimeDelayMs = (body, call) => {
			const user = String(body['user-id']);
			if (pass(user, call)) return 0;
			// The server sets its timer right after asking for the delay: that timer is this call's.
			this.arriving.push({ user, call });
			return HOLD_MS;
		};
		const realSetTimeout = this.realSetTimeout;
		const gated = (handler: TimerHandler, ms?: number, ...args: unknown[]) => {
			const arrived = ms === HOLD_MS ? this.arriving.shift() : undefined;
			if (!arrived) return realSetTimeout(handler, ms, ...args);
			this.held.push({ ...arrived, release: () => handler(...args) });
			// The server never clears its timer; a handle is still returned, as setTimeout would.
			return realSetTimeout(() => undefined, 0);
		};
		globalThis.setTimeout = gated as unknown as typeof setTimeout;
	}

	/** Releases the held call `pick` chooses (by its index in `held`), if it chooses one. */
	releaseWhere(pick: (held: readonly HeldCall[]) => number | undefined): HeldCall | undefined {
		const index = pick(this.held);
		if (index === undefined || index < 0 || index >= this.held.length) return undefined;
		const [call] = this.held.splice(index, 1);
		call.release();
		return call;
	}

	/**
	 * Runs `step` on every turn of the event loop until `running` settles: a step looks at what is
	 * held and releases what the test's order says. The wait is on events, never on a duration; if
	 * the node never makes the calls a step waits for, the test's own timeout ends it.
	 */
	async drive<T>(running: Promise<T>, step: () => void): Promise<T> {
		let settled = false;
		const done = running.finally(() => {
			settled = true;
		});
		// Handled here too: a failing run must not count as unhandled while the loop still turns.
		done.catch(() => undefined);
		while (!settled) {
			step();
			await new Promise<void>((resolve) => setImmediate(resolve));
		}
		return await running;
	}

	/** Puts setTimeout back and lets every call still held be answered. */
	close(): void {
		globalThis.setTimeout = this.realSetTimeout;
		this.whilter.realtimeDelayMs = undefined;
		for (const call of this.held.splice(0)) call.release();
		this.arriving.splice(0);
	}
}
