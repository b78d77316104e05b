/**
 * Virtual time for the tests whose outcome would otherwise depend on how fast the machine is: a poll
 * that gives up after 0.3 s made as many checks as the machine managed in 0.3 s.
 *
 * The package waits in one way only: n8n-workflow's `sleep`, called by pollUntil and by the retry
 * policy (nodes/shared/poll.ts, nodes/shared/retry.ts), and measures time with Date.now. A test file
 * mocks that `sleep` (jest.mock is hoisted and must be in the test file itself):
 *
 *     jest.mock('n8n-workflow', () => {
 *         const actual = jest.requireActual<typeof import('n8n-workflow')>('n8n-workflow');
 *         return { ...actual, sleep: jest.fn(actual.sleep) };
 *     });
 *     const clock = useVirtualClock(jest.mocked(sleep));
 *
 * and for each test the clock makes that sleep virtual: a sleep moves the clock on by its length and
 * returns at once (after one turn of the event loop, so sockets are still served), and Date.now reads
 * the clock, which stands still otherwise. A poll's timeout is then reached after exactly the sleeps
 * its schedule asks for, so a test can assert the number of checks and the waits themselves.
 *
 * Why not Jest's fake timers in the node tests: those run n8n-core, the AWS SDK and real HTTP to
 * loopback servers (s3rver too) in this process. Faked timers there are also their socket and request
 * timers, and advancing a fake clock while a request is in flight is a guess about when the process is
 * idle, which is the timing dependence this removes. Mocking the package's one wait touches nothing
 * else; Date.now standing still is harmless to them (tokens, signatures and log stamps only read it).
 * Pure unit tests, with no sockets, use Jest's modern fake timers or inject `wait`/`now` instead.
 *
 * Time passes only in sleeps: an HTTP call takes no virtual time. Items polled at once share the one
 * clock, so their sleeps add up: a test with concurrent polls asserts outcomes, not counts, and gives
 * an item that must not time out a timeout longer than all the other items' sleeps together.
 */
import type { sleep as n8nSleep } from 'n8n-workflow';

type Sleep = (ms: number) => Promise<void>;

interface Scheduled {
	at: number;
	order: number;
	action: () => unknown;
}

export class VirtualClock {
	/** Virtual ms since the epoch: Date.now while the clock is installed. */
	now: number;
	/** Every sleep the code asked for, in order (ms). */
	readonly sleeps: number[] = [];
	private readonly start: number;
	private scheduled: Scheduled[] = [];
	private counter = 0;

	constructor(start: number) {
		this.start = start;
		this.now = start;
	}

	/** Virtual ms since the clock was made (the start of the test). */
	elapsed(): number {
		return this.now - this.start;
	}

	/**
	 * Runs `action` when the clock reaches `ms` after its start: during the sleep that passes that
	 * moment, before that sleep returns (awaited when it returns a promise). This is how a test moves
	 * the world on "while" the code waits, e.g. a vendor task that completes 300 ms in.
	 */
	at(ms: number, action: () => unknown): void {
		this.scheduled.push({ at: this.start + ms, order: this.counter++, action });
	}

	/** The virtual sleep: what the mocked n8n-workflow `sleep` does while the clock is installed. */
	readonly sleep: Sleep = async (ms) => {
		const wait = Math.max(0, Number.isFinite(ms) ? ms : 0);
		this.sleeps.push(wait);
		const until = this.now + wait;
		// Actions due within this sleep, in time order; each sees the clock at its own moment.
		for (;;) {
			const due = this.scheduled.filter((s) => s.at <= until).sort((a, b) => a.at - b.at || a.order - b.order)[0];
			if (!due) break;
			this.scheduled = this.scheduled.filter((s) => s !== due);
			this.now = Math.max(this.now, due.at);
			await due.action();
		}
		this.now = Math.max(this.now, until);
		// One turn of the event loop, as a real timer would give: I/O of other items goes on meanwhile.
		await new Promise<void>((resolve) => setImmediate(resolve));
	};
}

export interface ClockHandle {
	/** The clock of the running test (a new one for each test). */
	readonly current: VirtualClock;
}

/**
 * Installs a fresh virtual clock before each test of the file and removes it after: `sleepMock`
 * (n8n-workflow's mocked `sleep`) becomes the clock's sleep and Date.now reads the clock. Its start is
 * the real time at the test's start, so tokens and request signatures look current.
 */
export function useVirtualClock(sleepMock: jest.MockedFunction<typeof n8nSleep>): ClockHandle {
	let clock: VirtualClock | undefined;
	let restoreNow: (() => void) | undefined;
	beforeEach(() => {
		clock = new VirtualClock(Date.now());
		const installed = clock;
		const spy = jest.spyOn(Date, 'now').mockImplementation(() => installed.now);
		restoreNow = () => spy.mockRestore();
		sleepMock.mockReset();
		sleepMock.mockImplementation(installed.sleep);
	});
	afterEach(() => {
		restoreNow?.();
		restoreNow = undefined;
		// Between tests (afterAll, servers closing) the real sleep again.
		sleepMock.mockReset();
		sleepMock.mockImplementation(jest.requireActual<typeof import('n8n-workflow')>('n8n-workflow').sleep);
		clock = undefined;
	});
	return {
		get current(): VirtualClock {
			if (!clock) throw new Error('The virtual clock exists only while a test runs');
			return clock;
		},
	};
}
