/**
 * The n8n process: a free port, the environment of a quiet loopback-only n8n, `n8n start` in a
 * process group of its own with its output in a log file, the wait until it is ready, and stopping
 * it (with a last-resort hook so no group outlives the test process).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';

import { httpCall } from './rest';
import { node24Runtime, runtimeEnv } from './runtime';
import type { NodeRuntime } from './runtime';

export const sleep = async (ms: number): Promise<void> => await new Promise((resolvePromise) => setTimeout(resolvePromise, ms));

/** A free TCP port on 127.0.0.1 (asked of the OS, then released). */
export async function freePort(): Promise<number> {
	return await new Promise((resolvePromise, reject) => {
		const server = createServer();
		server.unref();
		server.on('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address() as AddressInfo;
			server.close(() => resolvePromise(port));
		});
	});
}

/** A free port other than `taken` (n8n's HTTP port and its task broker must differ). */
export async function freePortOtherThan(taken: number): Promise<number> {
	let port = await freePort();
	while (port === taken) port = await freePort();
	return port;
}

// ---------------------------------------------------------------------------------------------
// The environment

/** Inherited variables with these prefixes would reconfigure n8n (npm's and Jest's own included). */
const QUIET_ENV_PREFIXES = ['N8N_', 'DB_', 'EXECUTIONS_', 'QUEUE_', 'npm_', 'JEST_', 'WEBHOOK_'];

/** The machine's environment without anything that would reconfigure n8n (NODE_ENV=test from Jest, npm_*, N8N_*). */
function inheritedEnv(): NodeJS.ProcessEnv {
	const base: NodeJS.ProcessEnv = {};
	for (const [key, value] of Object.entries(process.env)) {
		if (QUIET_ENV_PREFIXES.some((prefix) => key.startsWith(prefix))) continue;
		if (['NODE_ENV', 'NODE_OPTIONS', 'GENERIC_TIMEZONE', 'TZ'].includes(key)) continue;
		base[key] = value;
	}
	return base;
}

/**
 * The environment of a quiet, loopback-only n8n: telemetry, version checks, templates and AI off,
 * its own ports, sqlite in the user folder (see e2e/README.md, "Starting n8n").
 */
export function n8nEnv(
	userFolder: string,
	port: number,
	brokerPort: number,
	extensionsDir: string | undefined,
	runtime: NodeRuntime = node24Runtime(),
): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = {
		...runtimeEnv(runtime, inheritedEnv()),
		N8N_USER_FOLDER: userFolder,
		DB_TYPE: 'sqlite',
		GENERIC_TIMEZONE: 'UTC',
		TZ: 'UTC',
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_AI_ENABLED: 'false',
		N8N_SECURE_COOKIE: 'false',
		N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_HOST: '127.0.0.1',
		N8N_PORT: String(port),
		N8N_RUNNERS_BROKER_PORT: String(brokerPort),
		N8N_RUNNERS_BROKER_LISTEN_ADDRESS: '127.0.0.1',
		N8N_PROTOCOL: 'http',
		WEBHOOK_URL: `http://127.0.0.1:${port}/`,
		N8N_WORKFLOW_PUBLICATION_OUTBOX_POLL_INTERVAL_MS: '500',
		N8N_GRACEFUL_SHUTDOWN_TIMEOUT: '10',
		// Calls to the contract servers on loopback never go through a proxy.
		NO_PROXY: ['127.0.0.1', 'localhost', process.env.NO_PROXY].filter(Boolean).join(','),
	};
	if (extensionsDir) env.N8N_CUSTOM_EXTENSIONS = resolve(extensionsDir);
	return env;
}

// ---------------------------------------------------------------------------------------------
// Process groups

const liveGroups = new Set<number>();
let exitHookInstalled = false;

/** Sends a signal to a whole process group; a group that is already gone is fine. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
	try {
		process.kill(-pgid, signal);
	} catch {
		// already gone
	}
}

/** Last resort against orphans: if the test process exits without stop(), take the n8n groups with it. */
function installExitHook(): void {
	if (exitHookInstalled) return;
	exitHookInstalled = true;
	process.on('exit', () => {
		for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
	});
}

/** Remembers a group the exit hook must kill if the test process ends first. */
export function trackGroup(pgid: number): void {
	liveGroups.add(pgid);
	installExitHook();
}

export function untrackGroup(pgid: number): void {
	liveGroups.delete(pgid);
}

// ---------------------------------------------------------------------------------------------
// `n8n start`

interface ExitState {
	code: number | null;
	signal: NodeJS.Signals | null;
}

/** A running `n8n start` and its process group. */
export interface N8nProcess {
	/** The main process id, which is also its process group (the task runner is its child). */
	pgid: number;
	/** Date.now() just before the spawn. */
	startedAt: number;
	/** How it ended, once it has (undefined while it runs). */
	exited(): ExitState | undefined;
	/** Its stdout and stderr so far. */
	log(): string;
	/** SIGTERM to the group (SIGKILL after 15 s), then removes `tempDir` unless N8N_E2E_KEEP=1. */
	stop(): Promise<void>;
}

export interface LaunchSpec {
	/** The runtime's node binary and n8n's CLI script. */
	node: string;
	bin: string;
	/** The working directory, removed on stop (it holds the user folder and the log). */
	tempDir: string;
	logFile: string;
	env: NodeJS.ProcessEnv;
	/** n8n's command and flags: `['start']` unless told (queue mode: `['worker', '--concurrency=5']`, `['webhook']`). */
	args?: string[];
}

function tail(text: string, lines = 60): string {
	return text.split('\n').slice(-lines).join('\n');
}

function stopper(pgid: number, tempDir: string, exited: () => ExitState | undefined, exitPromise: Promise<void>): () => Promise<void> {
	return async (): Promise<void> => {
		if (!exited()) {
			signalGroup(pgid, 'SIGTERM');
			const timer = setTimeout(() => signalGroup(pgid, 'SIGKILL'), 15_000);
			await exitPromise;
			clearTimeout(timer);
		}
		// The task runner (same group) may outlive n8n by a moment.
		signalGroup(pgid, 'SIGKILL');
		untrackGroup(pgid);
		if (process.env.N8N_E2E_KEEP !== '1') rmSync(tempDir, { recursive: true, force: true });
	};
}

/** Spawns `n8n start` (or `spec.args`) in a process group of its own (so stop() takes the task runner with it), output to the log file. */
export function launchN8n(spec: LaunchSpec): N8nProcess {
	const logFd = openSync(spec.logFile, 'a');
	const startedAt = Date.now();
	let child: ChildProcess;
	try {
		child = spawn(spec.node, [spec.bin, ...(spec.args ?? ['start'])], {
			cwd: spec.tempDir,
			env: spec.env,
			detached: true,
			stdio: ['ignore', logFd, logFd],
		});
	} finally {
		closeSync(logFd);
	}
	const pgid = child.pid;
	if (pgid === undefined) throw new Error('n8n did not start (no pid)');
	trackGroup(pgid);
	let exitState: ExitState | undefined;
	const exitPromise = new Promise<void>((resolvePromise) => {
		child.on('exit', (code, signal) => {
			exitState = { code, signal };
			resolvePromise();
		});
	});
	const exited = (): ExitState | undefined => exitState;
	return {
		pgid,
		startedAt,
		exited,
		log: () => (existsSync(spec.logFile) ? readFileSync(spec.logFile, 'utf8') : ''),
		stop: stopper(pgid, spec.tempDir, exited, exitPromise),
	};
}

/**
 * Runs `work`; when it fails, stops n8n and throws the failure with the tail of n8n's log (what n8n
 * said about it is usually there, not in the failure itself).
 */
export async function orStop<T>(n8n: N8nProcess, logFile: string, what: string, work: () => Promise<T>): Promise<T> {
	try {
		return await work();
	} catch (error) {
		const message = `${what}${(error as Error).message}\n--- ${logFile} (tail) ---\n${tail(n8n.log())}`;
		await n8n.stop();
		throw new Error(message);
	}
}

/** When a process counts as ready: the path polled and what its answer must show. */
export interface ReadinessProbe {
	path: string;
	isReady(status: number, text: string): boolean;
}

/** `n8n start`: the full settings (`settingsMode`); the health check answers earlier, before the editor's endpoints work. */
export const SETTINGS_PROBE: ReadinessProbe = {
	path: '/rest/settings',
	isReady: (status, text) => status === 200 && text.includes('"settingsMode"'),
};

/**
 * Waits until `probe` (by default `GET /rest/settings` with `settingsMode`) says ready. Throws when
 * n8n exits or the time is up.
 */
export async function waitUntilReady(n8n: N8nProcess, url: string, readyTimeoutMs = 120_000, probe: ReadinessProbe = SETTINGS_PROBE): Promise<void> {
	const deadline = n8n.startedAt + readyTimeoutMs;
	for (;;) {
		const exited = n8n.exited();
		if (exited) throw new Error(`n8n exited during startup (code ${exited.code}, signal ${exited.signal})`);
		if (Date.now() > deadline) throw new Error(`n8n not ready within ${readyTimeoutMs} ms`);
		try {
			const res = await httpCall('GET', `${url}${probe.path}`, { timeoutMs: 5_000 });
			if (probe.isReady(res.status, res.text)) return;
		} catch {
			// not listening yet
		}
		await sleep(250);
	}
}
