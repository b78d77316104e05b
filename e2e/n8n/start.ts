/**
 * `startN8n`: a real n8n in a fresh user folder on loopback ports, with the owner and an API key set
 * up, and the handle the tests drive it through.
 */
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { ensureN8n } from './install';
import type { N8nInstall } from './install';
import { freePort, freePortOtherThan, launchN8n, n8nEnv, orStop, waitUntilReady } from './process';
import type { LaunchSpec, N8nProcess } from './process';
import { publicApiCalls } from './publicApi';
import type { PublicApiCalls } from './publicApi';
import { createSession, E2E_OWNER, setUpOwner } from './rest';
import type { N8nSession, Owner, RawResponse } from './rest';
import { workflowRuns } from './runs';
import type { WorkflowRuns } from './runs';
import { DEFAULT_N8N_VERSION } from './runtime';

export interface StartOptions {
	/** The folder whose `**\/*.node.js` and `**\/*.credentials.js` n8n loads: the package's built `dist/`. */
	extensionsDir?: string;
	/**
	 * Instead: a package folder linked into `~/.n8n/nodes/node_modules/<its name>`, as a community
	 * install puts it. n8n then loads it as a package (types `<package>.<node>`), and only then knows
	 * which nodes test a credential (`testedBy`).
	 */
	communityPackageDir?: string;
	/**
	 * Called with the fresh N8N_USER_FOLDER before n8n starts, e.g. to place a copy of the package in
	 * `<userFolder>/.n8n/nodes/node_modules/` as an npm install would (no link back to the repository).
	 */
	prepareUserFolder?: (userFolder: string) => void;
	/** n8n's HTTP port; a free one by default. */
	port?: number;
	version?: string;
	/** Extra environment for n8n (wins over the defaults). */
	env?: Record<string, string>;
	/** How long to wait for `/rest/settings` (default 120 s). */
	readyTimeoutMs?: number;
}

export interface N8nHandle extends PublicApiCalls, WorkflowRuns {
	/** `http://127.0.0.1:<port>` (no trailing slash). */
	url: string;
	port: number;
	/** The N8N_USER_FOLDER of this process (n8n keeps its data in `<userFolder>/.n8n`). */
	userFolder: string;
	/** n8n's stdout and stderr. */
	logFile: string;
	/** Milliseconds from spawn until `/rest/settings` answered with settingsMode. */
	startupMs: number;
	/** The n8n main process id (also its process group; the task runner is its child). */
	pid: number;
	owner: Owner;
	apiKey: string;
	/** The log so far. */
	log(): string;
	/** Public API (`/api/v1` + path) with the API key; throws N8nHttpError on non-2xx. */
	api<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
	/** Internal REST (`/rest` + path) as the signed-in owner (cookie + browser-id); the whole JSON body (n8n wraps results in `{ data }`). */
	rest<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
	/** Any path from the root without throwing: status and parsed body (cookie + browser-id outside /api, the API key on /api). */
	raw(method: string, pathFromRoot: string, body?: unknown): Promise<RawResponse>;
	/** Stops n8n (SIGTERM to its process group, SIGKILL after 15 s) and removes its temp folder unless N8N_E2E_KEEP=1. */
	stop(): Promise<void>;
}

/** Where one n8n keeps everything: removed on stop (see N8N_E2E_KEEP). */
interface Folders {
	tempDir: string;
	userFolder: string;
	logFile: string;
}

/** Links a package folder into the user folder's nodes/node_modules under its name, as a community install puts it. */
export function linkCommunityPackage(userFolder: string, packageDir: string): void {
	const name = (JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { name: string }).name;
	const modules = join(userFolder, '.n8n', 'nodes', 'node_modules');
	mkdirSync(modules, { recursive: true });
	symlinkSync(resolve(packageDir), join(modules, name), 'dir');
}

function prepareFolders(options: StartOptions): Folders {
	const tempDir = mkdtempSync(join(tmpdir(), 'whilter-n8n-e2e-'));
	const userFolder = join(tempDir, 'home');
	mkdirSync(userFolder);
	options.prepareUserFolder?.(userFolder);
	if (options.communityPackageDir) linkCommunityPackage(userFolder, options.communityPackageDir);
	return { tempDir, userFolder, logFile: join(tempDir, 'n8n.log') };
}

/** n8n's own environment on free ports, with the caller's additions on top. */
async function environment(options: StartOptions, install: N8nInstall, userFolder: string): Promise<{ port: number; env: NodeJS.ProcessEnv }> {
	const port = options.port ?? (await freePort());
	const brokerPort = await freePortOtherThan(port);
	const env = { ...n8nEnv(userFolder, port, brokerPort, options.extensionsDir, install.runtime), ...options.env };
	return { port, env };
}

interface HandleParts {
	version: string;
	folders: Folders;
	/** How n8n was launched: `n8n execute` runs the same way (node, CLI, folder, environment). */
	launch: LaunchSpec;
	port: number;
	url: string;
	n8n: N8nProcess;
	startupMs: number;
	session: N8nSession;
	apiKey: string;
}

function buildHandle({ version, folders, launch, port, url, n8n, startupMs, session, apiKey }: HandleParts): N8nHandle {
	return {
		url,
		port,
		userFolder: folders.userFolder,
		logFile: folders.logFile,
		startupMs,
		pid: n8n.pgid,
		owner: { ...E2E_OWNER },
		apiKey,
		log: n8n.log,
		api: session.api,
		rest: session.rest,
		raw: session.raw,
		stop: n8n.stop,
		...publicApiCalls(session.api, version),
		...workflowRuns(session, version, launch),
	};
}

/**
 * Starts `n8n start` (on its version's runtime, see runtimeFor) in a fresh user folder and returns a
 * handle once the owner and an API key exist. Always `stop()` it (afterAll).
 */
export async function startN8n(options: StartOptions = {}): Promise<N8nHandle> {
	const install = await ensureN8n(options.version ?? DEFAULT_N8N_VERSION);
	const folders = prepareFolders(options);
	const { port, env } = await environment(options, install, folders.userFolder);
	const url = `http://127.0.0.1:${port}`;
	const launch: LaunchSpec = { node: join(install.runtime.binDir, 'node'), bin: install.bin, tempDir: folders.tempDir, logFile: folders.logFile, env };
	const n8n = launchN8n(launch);
	await orStop(n8n, folders.logFile, '', async () => await waitUntilReady(n8n, url, options.readyTimeoutMs));
	const startupMs = Date.now() - n8n.startedAt;
	const session = createSession(url);
	const apiKey = await orStop(n8n, folders.logFile, 'n8n owner/API key setup failed: ', async () => await setUpOwner(session));
	return buildHandle({ version: install.version, folders, launch, port, url, n8n, startupMs, session, apiKey });
}
