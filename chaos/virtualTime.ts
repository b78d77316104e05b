/**
 * Virtual time per campaign. The package waits in one way only, n8n-workflow's `sleep` (the retry
 * policy's backoff and Retry-After, every poll schedule), and reads time with Date.now. In the chaos
 * run both follow the clock of the campaign whose code is running (AsyncLocalStorage): a sleep moves
 * that clock on and returns after one turn of the event loop; Date.now reads it. A 60 s Retry-After or
 * a 10-minute wait timeout then costs no real time, and campaigns running side by side keep clocks of
 * their own. Outside a campaign both are the real ones.
 *
 * Request deadlines are not virtual: they are real timers in n8n's HTTP helpers and the AWS SDK, so a
 * chaos workflow keeps its request timeouts short and a "slow" fault answers just past them.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export class CampaignClock {
	now: number;
	readonly start: number;
	/** Every sleep asked for, in ms. */
	readonly sleeps: number[] = [];

	constructor(start: number) {
		this.start = start;
		this.now = start;
	}

	elapsed(): number {
		return this.now - this.start;
	}
}

interface Shared {
	storage: AsyncLocalStorage<CampaignClock>;
	realNow: () => number;
	installed: boolean;
}

// One store per process, even when a test runner loads this module twice (jest.requireActual in a mock factory).
const SHARED = Symbol.for('n8n-nodes-whilter.chaos.virtualTime');
const globalRecord = globalThis as unknown as Record<symbol, Shared | undefined>;
const shared: Shared = (globalRecord[SHARED] ??= { storage: new AsyncLocalStorage<CampaignClock>(), realNow: Date.now.bind(Date), installed: false });
const storage = shared.storage;
export const realNow: () => number = shared.realNow;

/** Date.now reads the running campaign's clock (the real one outside a campaign). */
export function installVirtualDateNow(): void {
	if (shared.installed) return;
	shared.installed = true;
	Date.now = () => storage.getStore()?.now ?? realNow();
}

/** Runs `work` on `clock`: everything it starts (servers included) sees that clock. */
export function onClock<T>(clock: CampaignClock, work: () => Promise<T>): Promise<T> {
	return storage.run(clock, work);
}

export function currentClock(): CampaignClock | undefined {
	return storage.getStore();
}

/** The sleep the package's waits use during the chaos run. */
export async function virtualSleep(ms: number): Promise<void> {
	const clock = storage.getStore();
	const wait = Math.max(0, Number.isFinite(ms) ? ms : 0);
	if (!clock) {
		await new Promise<void>((resolve) => setTimeout(resolve, wait));
		return;
	}
	clock.sleeps.push(wait);
	clock.now += wait;
	await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * For a plain Node process (npm run chaos): replaces n8n-workflow's `sleep` in the module cache before
 * the package is loaded, as jest.mock does in the short chaos test. Must run before anything requires
 * the package's nodes.
 */
export function patchN8nWorkflowSleep(fromDir: string): void {
	const path = require.resolve('n8n-workflow', { paths: [fromDir] });
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const actual = require(path) as Record<string, unknown>;
	const patched: Record<string, unknown> = {};
	for (const key of Object.getOwnPropertyNames(actual)) {
		if (key === 'sleep') continue;
		Object.defineProperty(patched, key, { enumerable: true, get: () => actual[key] });
	}
	Object.defineProperty(patched, 'sleep', { enumerable: true, value: virtualSleep });
	const cached = require.cache[path];
	if (!cached) throw new Error('n8n-workflow is not in the module cache');
	cached.exports = patched;
}
