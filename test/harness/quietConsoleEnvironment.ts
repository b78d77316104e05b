/**
 * Jest's Node environment, with console output kept back per test and shown only for a test that
 * failed. n8n-core logs every node error through winston's console transport (console.log), so the
 * tests that expect an error printed pages of it and buried the results.
 *
 * Why a test environment: with Jest 30's runner (jest-circus) only an environment's handleTestEvent
 * learns whether a test failed (`test_done` with its errors); an afterEach hook is not told.
 *
 * - Output during a test (its beforeEach/afterEach hooks included) belongs to that test: printed after
 *   it when it failed, dropped when it passed.
 * - Output outside any test (loading the file, beforeAll, afterAll) is kept until something fails:
 *   it is printed with the first failing test or hook, as the context that failure may need.
 * - TEST_CONSOLE=all turns the buffering off (every line printed as it comes, as Jest does by default).
 *
 * process.stdout/stderr writes (e.g. the memory tests' one-line reports) are not console calls and
 * are not held back.
 */
import { format } from 'node:util';

import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import type { Circus } from '@jest/types';
import { TestEnvironment as NodeEnvironment } from 'jest-environment-node';

const METHODS = ['log', 'info', 'warn', 'error', 'debug'] as const;
type Method = (typeof METHODS)[number];

interface Entry {
	method: Method;
	text: string;
}

/** "describe › it", as Jest names a test in its report. */
function fullName(test: Circus.TestEntry): string {
	const names: string[] = [test.name];
	for (let block: Circus.DescribeBlock | undefined = test.parent; block?.parent; block = block.parent) names.unshift(block.name);
	return names.join(' › ');
}

export default class QuietConsoleEnvironment extends NodeEnvironment {
	private readonly originals = new Map<Method, (...data: unknown[]) => void>();
	private outside: Entry[] = [];
	private current: Entry[] | undefined;

	constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
		super(config, context);
	}

	async setup(): Promise<void> {
		await super.setup();
		if (process.env.TEST_CONSOLE === 'all') return;
		// Jest has put its test console on the global by now: the tests get a stand-in for it, and Jest's
		// own console prints what is let through.
		const jestConsole = this.global.console;
		const keep = new Map<PropertyKey, (...data: unknown[]) => void>();
		for (const method of METHODS) {
			this.originals.set(method, jestConsole[method].bind(jestConsole) as (...data: unknown[]) => void);
			// Formatted at the call, as the console would: an object logged and changed later shows its state then.
			// Jest will name the printing code as the origin: the caller's frame goes into the text instead.
			keep.set(method, (...data: unknown[]) => {
				const caller = new Error().stack?.split('\n')[2]?.trim();
				(this.current ?? this.outside).push({ method, text: caller ? `${format(...data)}\n(${caller})` : format(...data) });
			});
		}
		this.global.console = new Proxy(jestConsole, {
			get: (target, key) => {
				const kept = keep.get(key);
				if (kept) return kept;
				// winston writes to console._stdout/_stderr when a console has them (Jest's console in
				// verbose mode does), past console.log: without them it goes through console.log.
				if (key === '_stdout' || key === '_stderr') return undefined;
				const value = Reflect.get(target, key, target) as unknown;
				return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
			},
		});
	}

	handleTestEvent(event: Circus.AsyncEvent | Circus.SyncEvent): void {
		if (this.originals.size === 0) return;
		switch (event.name) {
			case 'test_start':
				this.current = [];
				break;
			case 'test_done': {
				const kept = this.current ?? [];
				this.current = undefined;
				if (event.test.errors.length > 0) this.flush(`the failed test "${fullName(event.test)}"`, kept);
				break;
			}
			case 'hook_failure':
				// A beforeEach/afterEach belongs to its test (flushed at test_done); a beforeAll/afterAll does not.
				if (event.hook.type === 'beforeAll' || event.hook.type === 'afterAll') this.flush(`the failed ${event.hook.type} hook`, []);
				break;
			default:
				break;
		}
	}

	/** Prints what was kept back: the failure's own output, after what came outside any test before it. */
	private flush(what: string, entries: Entry[]): void {
		const all = [...this.outside, ...entries];
		this.outside = [];
		if (all.length === 0) return;
		const print = (method: Method, text: string) => this.originals.get(method)?.('%s', text);
		print('log', `── console output kept for ${what} (${all.length} line${all.length === 1 ? '' : 's'}) ──`);
		for (const entry of all) print(entry.method, entry.text);
	}
}
