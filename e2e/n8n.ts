/**
 * Drives a real n8n process for the end-to-end tests and the demo: installs the pinned n8n in a
 * folder of its own (`e2e/n8n-<major.minor>/`, with its own package.json and lockfile), starts it on
 * loopback ports with a fresh user folder and this package's built `dist/` as custom extensions,
 * sets up the owner and an API key, and offers the calls the tests need.
 *
 * The facts it relies on are in the project notes on running n8n (N8N-NOTES): Node 24 for n8n 2.36+,
 * `npm install --omit=dev --ignore-scripts` then `npm rebuild sqlite3`, readiness when
 * `/rest/settings` carries `settingsMode`, a `browser-id` header on every `/rest` call.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

import type { IConnections, INode, IRunExecutionData, IWorkflowSettings } from 'n8n-workflow';

import { withDirLock } from './lock';

/** The n8n the tests run unless told otherwise: the newest that installs from this registry. */
export const DEFAULT_N8N_VERSION = '2.41.1';

/** The newest n8n that runs on Node 20: the compatibility test runs the package in it on the machine's Node 20. */
export const NODE20_N8N_VERSION = '2.8.4';

/** Every n8n the tests run (e2e/ensure-n8n.ts installs them all). */
export const E2E_N8N_VERSIONS = [DEFAULT_N8N_VERSION, NODE20_N8N_VERSION];

/** The repository root (this file lives in `<root>/e2e/`). */
export const REPO_ROOT = resolve(__dirname, '..');

const NODE24_SCRIPT = join(REPO_ROOT, 'scripts', 'node24.sh');

// ---------------------------------------------------------------------------------------------
// Node 24

let node24BinDir: string | undefined;

/**
 * The `bin/` folder of the project's Node 24 (installed into `.tools/node24` by scripts/node24.sh on
 * first use). n8n 2.36+ refuses older Node versions.
 */
export function node24Bin(): string {
	if (node24BinDir) return node24BinDir;
	const result = spawnSync('bash', [NODE24_SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
	if (result.status !== 0) throw new Error(`scripts/node24.sh failed (exit ${result.status ?? result.signal})`);
	const dir = result.stdout.trim().split('\n').pop() ?? '';
	if (!existsSync(join(dir, 'node'))) throw new Error(`scripts/node24.sh printed "${dir}", which holds no node binary`);
	node24BinDir = dir;
	return dir;
}

/** Environment for npm and node commands run with Node 24 (what scripts/node24.sh exports). */
function node24Env(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
	const bin = node24Bin();
	return {
		...base,
		PATH: `${bin}:${base.PATH ?? ''}`,
		// Native addons (sqlite3) must build against this runtime's headers, not the machine's /usr ones.
		npm_config_nodedir: resolve(bin, '..'),
	};
}

// ---------------------------------------------------------------------------------------------
// The Node runtime an n8n version runs on

/** A Node.js that installs and runs n8n: its `bin/` (node, npm) and the headers native addons build against. */
export interface NodeRuntime {
	/** 'node24' (the project's, .tools/node24) or 'node20' (the machine's). */
	name: 'node24' | 'node20';
	binDir: string;
	/** The exact version, e.g. 20.20.2. */
	version: string;
	/** npm_config_nodedir: where node-gyp finds this runtime's headers (`<prefix>/include/node`). */
	nodedir?: string;
}

/** Oldest Node 20 that n8n 2.8.4 accepts (its engines field: `>=20.19 <= 24.x`). */
const NODE20_MINIMUM = [20, 19] as const;

function nodeVersionOf(nodeBinary: string): string | undefined {
	const result = spawnSync(nodeBinary, ['-p', 'process.versions.node'], { encoding: 'utf8', timeout: 15_000 });
	return result.status === 0 ? result.stdout.trim() : undefined;
}

let node20Cached: NodeRuntime | undefined;

/**
 * The machine's Node 20 (n8n 2.8.x, the newest n8n that runs on Node 20). Jest and the scripts run
 * under the project's Node 24, so it is looked up explicitly: `$N8N_E2E_NODE20` if set, then
 * /usr/bin/node, /usr/local/bin/node and every `node` on PATH outside `.tools/`. Throws, naming what
 * it found, when none is Node 20 ≥ 20.19.
 */
export function node20Runtime(): NodeRuntime {
	if (node20Cached) return node20Cached;
	const candidates = [process.env.N8N_E2E_NODE20, '/usr/bin/node', '/usr/local/bin/node'];
	for (const dir of (process.env.PATH ?? '').split(':')) {
		if (dir && !resolve(dir).startsWith(join(REPO_ROOT, '.tools'))) candidates.push(join(dir, 'node'));
	}
	const seen = new Map<string, string>();
	for (const candidate of candidates) {
		if (!candidate || seen.has(candidate) || !existsSync(candidate)) continue;
		const version = nodeVersionOf(candidate);
		seen.set(candidate, version ?? 'does not run');
		const [major, minor] = (version ?? '0.0').split('.').map(Number);
		if (major === 20 && minor >= NODE20_MINIMUM[1]) {
			const binDir = dirname(candidate);
			const prefix = resolve(binDir, '..');
			const nodedir = existsSync(join(prefix, 'include', 'node', 'node.h')) ? prefix : undefined;
			node20Cached = { name: 'node20', binDir, version: version ?? '', nodedir };
			return node20Cached;
		}
	}
	throw new Error(
		`n8n 2.8 runs on Node 20 ≥ ${NODE20_MINIMUM.join('.')}, and none was found ` +
			`(checked: ${[...seen].map(([path, found]) => `${path} ${found}`).join(', ') || 'nothing'}). ` +
			'Install Node 20.19+ or set N8N_E2E_NODE20=/path/to/node.',
	);
}

export function node24Runtime(): NodeRuntime {
	const binDir = node24Bin();
	return { name: 'node24', binDir, version: nodeVersionOf(join(binDir, 'node')) ?? '', nodedir: resolve(binDir, '..') };
}

/**
 * The runtime a given n8n is installed and run with: 2.8.x and older on the machine's Node 20 (2.8 is
 * the newest n8n that accepts Node 20, and the point of running it is users still on Node 20), newer
 * ones on the project's Node 24 (2.10+ need Node 22+, 2.36+ need 24).
 */
export function runtimeFor(version: string): NodeRuntime {
	return isN8n28OrOlder(version) ? node20Runtime() : node24Runtime();
}

/** n8n up to 2.8.x: Node 20, and a few API differences from 2.41 (see runManually, createCredential). */
export function isN8n28OrOlder(version: string): boolean {
	const [major, minor] = version.split('.').map(Number);
	return major < 2 || (major === 2 && minor <= 8);
}

/** Environment for npm and node commands on the given runtime: its bin first on PATH, its headers for node-gyp. */
function runtimeEnv(runtime: NodeRuntime, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
	if (runtime.name === 'node24') return node24Env(base);
	// Drop the project's Node 24 from PATH (scripts/node24.sh put it first) so nothing picks it up by accident.
	const tools = join(REPO_ROOT, '.tools');
	const path = (base.PATH ?? '').split(':').filter((dir) => dir && !resolve(dir).startsWith(tools));
	const env: NodeJS.ProcessEnv = { ...base, PATH: [runtime.binDir, ...path].join(':') };
	if (runtime.nodedir) env.npm_config_nodedir = runtime.nodedir;
	else delete env.npm_config_nodedir;
	return env;
}

// ---------------------------------------------------------------------------------------------
// Installing n8n

export interface N8nInstall {
	version: string;
	/** `e2e/n8n-<major.minor>` */
	dir: string;
	/** The n8n CLI script (run it with the runtime's node: `node <bin> start`). */
	bin: string;
	/** The Node it was installed with and runs on (see runtimeFor). */
	runtime: NodeRuntime;
	/** Whether this call installed anything (false: it was already there). */
	installed: boolean;
}

/** `e2e/n8n-<major.minor>` for a version such as 2.41.1. */
export function n8nDir(version = DEFAULT_N8N_VERSION): string {
	const match = /^(\d+)\.(\d+)\.\d+$/.exec(version);
	if (!match) throw new Error(`Expected an exact n8n version such as 2.41.1, got "${version}"`);
	return join(REPO_ROOT, 'e2e', `n8n-${match[1]}.${match[2]}`);
}

const STAMP = join('node_modules', '.whilter-e2e-installed');

function installFingerprint(dir: string, version: string): string {
	const hash = createHash('sha256');
	hash.update(version);
	for (const file of ['package.json', 'package-lock.json']) {
		hash.update(existsSync(join(dir, file)) ? readFileSync(join(dir, file)) : `no ${file}`);
	}
	return hash.digest('hex');
}

function installedN8nVersion(dir: string): string | undefined {
	try {
		return (JSON.parse(readFileSync(join(dir, 'node_modules', 'n8n', 'package.json'), 'utf8')) as { version: string })
			.version;
	} catch {
		return undefined;
	}
}

function sqliteWorks(dir: string, runtime: NodeRuntime = node24Runtime()): boolean {
	const probe =
		"const s=require('sqlite3');const d=new s.Database(':memory:');" +
		"d.get('select 1 as one',(e,r)=>{if(e||r.one!==1)process.exit(1);d.close(()=>process.exit(0))})";
	const result = spawnSync(join(runtime.binDir, 'node'), ['-e', probe], { cwd: dir, stdio: 'ignore', timeout: 30_000 });
	return result.status === 0;
}

function tryRun(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = node24Env()): boolean {
	process.stderr.write(`[n8n-e2e] ${cwd}$ ${command} ${args.join(' ')}\n`);
	const result = spawnSync(command, args, { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });
	return result.status === 0;
}

function run(command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): void {
	if (!tryRun(command, args, cwd, env)) throw new Error(`"${command} ${args.join(' ')}" failed in ${cwd}`);
}

function fileHash(path: string): string | undefined {
	return existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : undefined;
}

/**
 * Makes sure the pinned n8n is installed in `e2e/n8n-<major.minor>/`. The folder's package.json and
 * package-lock.json are the source of truth: with a lockfile, `npm install --no-save` installs its
 * versions (see below for why not `npm ci`); without one, `npm install` writes it (commit it). Kafka's
 * native client would download sources during its install script, so scripts are skipped and only sqlite3 (n8n's database driver) is rebuilt for the runtime (runtimeFor: Node 24, or Node 20 for 2.8.x).
 * Fast when already installed: a stamp in node_modules records the package.json + lockfile it came from.
 * `options.dir` installs elsewhere (to try the procedure from scratch without touching the real one).
 */
export async function ensureN8n(
	version = DEFAULT_N8N_VERSION,
	options: { dir?: string; runtime?: NodeRuntime } = {},
): Promise<N8nInstall> {
	const dir = options.dir ?? n8nDir(version);
	// npm, the sqlite3 build and n8n itself all on one runtime (2.8.x: the machine's Node 20).
	const runtime = options.runtime ?? runtimeFor(version);
	const env = runtimeEnv(runtime);
	const bin = join(dir, 'node_modules', 'n8n', 'bin', 'n8n');
	const stampFile = join(dir, STAMP);
	const isCurrent = (): boolean =>
		existsSync(stampFile) &&
		readFileSync(stampFile, 'utf8').trim() === installFingerprint(dir, version) &&
		installedN8nVersion(dir) === version;
	if (isCurrent()) return { version, dir, bin, runtime, installed: false };

	mkdirSync(dir, { recursive: true });
	return await withDirLock(join(dir, '.install-lock'), async () => {
		if (isCurrent()) return { version, dir, bin, runtime, installed: false };
		const manifestFile = join(dir, 'package.json');
		if (!existsSync(manifestFile)) {
			const name = `whilter-e2e-${dir.split('/').pop() ?? 'n8n'}`;
			const manifest = {
				name,
				private: true,
				description: 'The real n8n that end-to-end tests and the demo run, kept apart from the package\'s own dependencies.',
				dependencies: { n8n: version },
			};
			writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
		}
		const pinned = (JSON.parse(readFileSync(manifestFile, 'utf8')) as { dependencies?: Record<string, string> })
			.dependencies?.n8n;
		if (pinned !== version) {
			throw new Error(`${manifestFile} pins n8n "${pinned ?? '(none)'}", not ${version}: fix the pin (exact version)`);
		}

		let installed = false;
		// An install made before the stamp existed (or by hand) is reused when it matches and works.
		const reusable = installedN8nVersion(dir) === version && existsSync(join(dir, 'package-lock.json'));
		if (!reusable) {
			const common = ['--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'];
			const lockfile = join(dir, 'package-lock.json');
			const lockBefore = fileHash(lockfile);
			// Not `npm ci`: it refuses a lockfile that lacks optional packages for other platforms, and npm
			// leaves out those the registry does not serve (msgpackr-extract's darwin/win32 builds).
			// `npm install --no-save` installs the locked versions and leaves the lockfile alone.
			run('npm', ['install', ...(lockBefore ? ['--no-save'] : ['--save-exact']), ...common], dir, env);
			const lockAfter = fileHash(lockfile);
			if (lockBefore && lockAfter !== lockBefore) {
				process.stderr.write(`[n8n-e2e] note: npm changed ${lockfile}; review and commit it\n`);
			}
			installed = true;
		}
		if (installed || !sqliteWorks(dir, runtime)) {
			// prebuild-install finds no binary for this registry-only machine, then node-gyp builds it
			// against the runtime's headers (npm_config_nodedir): about 70 s (Node 24), 60–110 s (Node 20).
			run('npm', ['rebuild', 'sqlite3', '--ignore-scripts=false', '--no-audit', '--no-fund', '--loglevel=error'], dir, env);
			installed = true;
		}
		if (!sqliteWorks(dir, runtime)) {
			throw new Error(`sqlite3 in ${dir} does not load under Node ${runtime.version} (${runtime.binDir}) even after npm rebuild`);
		}
		if (installedN8nVersion(dir) !== version) throw new Error(`n8n ${version} is not in ${dir}/node_modules after install`);
		writeFileSync(stampFile, `${installFingerprint(dir, version)}\n`);
		return { version, dir, bin, runtime, installed };
	});
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface HttpResponse {
	status: number;
	headers: Record<string, string | string[] | undefined>;
	text: string;
}

/** One request, no keep-alive (so nothing keeps Jest alive afterwards). */
export function httpCall(
	method: string,
	url: string,
	options: { headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<HttpResponse> {
	return new Promise((resolvePromise, reject) => {
		const req = httpRequest(
			url,
			{ method, headers: options.headers, agent: false, timeout: options.timeoutMs ?? 60_000 },
			(res) => {
				const chunks: Buffer[] = [];
				res.on('data', (chunk: Buffer) => chunks.push(chunk));
				res.on('end', () =>
					resolvePromise({
						status: res.statusCode ?? 0,
						headers: res.headers,
						text: Buffer.concat(chunks).toString('utf8'),
					}),
				);
				res.on('error', reject);
			},
		);
		req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer within ${options.timeoutMs ?? 60_000} ms`)));
		req.on('error', reject);
		if (options.body !== undefined) req.write(options.body);
		req.end();
	});
}

/** A non-2xx answer from n8n, with what it said. */
export class N8nHttpError extends Error {
	constructor(
		readonly method: string,
		readonly path: string,
		readonly status: number,
		readonly body: unknown,
	) {
		super(`${method} ${path} answered ${status}: ${typeof body === 'string' ? body : JSON.stringify(body)}`.slice(0, 2000));
		this.name = 'N8nHttpError';
	}
}

function parseBody(text: string): unknown {
	if (text === '') return undefined;
	try {
		return JSON.parse(text) as unknown;
	} catch {
		return text;
	}
}

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

// ---------------------------------------------------------------------------------------------
// Running n8n

export interface WorkflowJson {
	name: string;
	nodes: INode[];
	connections: IConnections;
	settings?: IWorkflowSettings;
	staticData?: Record<string, unknown> | null;
}

export interface StoredWorkflow extends WorkflowJson {
	id: string;
	active: boolean;
}

export interface StoredCredential {
	id: string;
	name: string;
	type: string;
}

export type ExecutionStatus = 'new' | 'running' | 'success' | 'error' | 'waiting' | 'canceled' | 'crashed' | 'unknown';

/** An execution as the public API returns it (`includeData=true` adds `data`). */
export interface Execution {
	id: string;
	finished: boolean;
	mode: string;
	status: ExecutionStatus;
	workflowId: string;
	startedAt: string;
	stoppedAt: string | null;
	data?: IRunExecutionData;
}

export interface CliRun {
	exitCode: number | null;
	/** The execution JSON `--rawOutput` prints after the log lines (undefined if there was none). */
	result: unknown;
	stdout: string;
	stderr: string;
	durationMs: number;
}

export interface RawResponse extends HttpResponse {
	/** The JSON body parsed, or the text when it is not JSON (undefined when empty). */
	body: unknown;
}

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

export interface N8nHandle {
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
	owner: { email: string; password: string };
	apiKey: string;
	/** The log so far. */
	log(): string;
	/** Public API (`/api/v1` + path) with the API key; throws N8nHttpError on non-2xx. */
	api<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
	/** Internal REST (`/rest` + path) as the signed-in owner (cookie + browser-id); the whole JSON body (n8n wraps results in `{ data }`). */
	rest<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
	/** Any path from the root without throwing: status and parsed body (cookie + browser-id outside /api, the API key on /api). */
	raw(method: string, pathFromRoot: string, body?: unknown): Promise<RawResponse>;
	createCredential(name: string, type: string, data: Record<string, unknown>): Promise<StoredCredential>;
	importWorkflow(json: WorkflowJson): Promise<StoredWorkflow>;
	activate(workflowId: string): Promise<StoredWorkflow>;
	executions(workflowId: string): Promise<Execution[]>;
	execution(executionId: string): Promise<Execution>;
	/**
	 * Runs a workflow as the editor's "Execute workflow" does (`POST /rest/workflows/<id>/run` from
	 * its manual trigger) and waits until the execution has finished; returns it with its data.
	 */
	runManually(workflowId: string, options?: { triggerName?: string; timeoutMs?: number }): Promise<Execution>;
	/** `n8n execute --id=<id> --rawOutput` in a second process sharing this user folder (database, key). */
	runWorkflowCli(workflowId: string, options?: { timeoutMs?: number }): Promise<CliRun>;
	/** Stops n8n (SIGTERM to its process group, SIGKILL after 15 s) and removes its temp folder unless N8N_E2E_KEEP=1. */
	stop(): Promise<void>;
}

const QUIET_ENV_PREFIXES = ['N8N_', 'DB_', 'EXECUTIONS_', 'QUEUE_', 'npm_', 'JEST_', 'WEBHOOK_'];

/** The environment of a quiet, loopback-only n8n (see the notes), without anything inherited from npm or Jest. */
function n8nEnv(
	userFolder: string,
	port: number,
	brokerPort: number,
	extensionsDir: string | undefined,
	runtime: NodeRuntime = node24Runtime(),
): NodeJS.ProcessEnv {
	const base: NodeJS.ProcessEnv = {};
	for (const [key, value] of Object.entries(process.env)) {
		if (QUIET_ENV_PREFIXES.some((prefix) => key.startsWith(prefix))) continue;
		if (['NODE_ENV', 'NODE_OPTIONS', 'GENERIC_TIMEZONE', 'TZ'].includes(key)) continue;
		base[key] = value;
	}
	const env: NodeJS.ProcessEnv = {
		...runtimeEnv(runtime, base),
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

const liveGroups = new Set<number>();
let exitHookInstalled = false;

/** Last resort against orphans: if the test process exits without stop(), take the n8n groups with it. */
function installExitHook(): void {
	if (exitHookInstalled) return;
	exitHookInstalled = true;
	process.on('exit', () => {
		for (const pgid of liveGroups) {
			try {
				process.kill(-pgid, 'SIGKILL');
			} catch {
				// already gone
			}
		}
	});
}

function tail(text: string, lines = 60): string {
	return text.split('\n').slice(-lines).join('\n');
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolvePromise) => setTimeout(resolvePromise, ms));

/** The JSON `n8n execute --rawOutput` prints after its log lines: from the first line that is exactly `{`. */
export function parseCliOutput(stdout: string): unknown {
	const lines = stdout.split('\n');
	const start = lines.findIndex((line) => line.trim() === '{');
	if (start < 0) return undefined;
	const text = lines.slice(start).join('\n').trim();
	try {
		return JSON.parse(text) as unknown;
	} catch {
		// Log lines after the JSON: cut at the last closing brace line.
		const end = text.lastIndexOf('\n}');
		return end >= 0 ? (JSON.parse(text.slice(0, end + 2)) as unknown) : undefined;
	}
}

/**
 * Starts `n8n start` (on its version's runtime, see runtimeFor) in a fresh user folder and returns a
 * handle once the owner and an API key exist. Always `stop()` it (afterAll).
 */
export async function startN8n(options: StartOptions = {}): Promise<N8nHandle> {
	const install = await ensureN8n(options.version ?? DEFAULT_N8N_VERSION);
	const node = join(install.runtime.binDir, 'node');
	const tempDir = mkdtempSync(join(tmpdir(), 'whilter-n8n-e2e-'));
	const userFolder = join(tempDir, 'home');
	mkdirSync(userFolder);
	options.prepareUserFolder?.(userFolder);
	if (options.communityPackageDir) {
		const name = (JSON.parse(readFileSync(join(options.communityPackageDir, 'package.json'), 'utf8')) as { name: string }).name;
		const modules = join(userFolder, '.n8n', 'nodes', 'node_modules');
		mkdirSync(modules, { recursive: true });
		symlinkSync(resolve(options.communityPackageDir), join(modules, name), 'dir');
	}
	const logFile = join(tempDir, 'n8n.log');
	const port = options.port ?? (await freePort());
	let brokerPort = await freePort();
	while (brokerPort === port) brokerPort = await freePort();
	const env = { ...n8nEnv(userFolder, port, brokerPort, options.extensionsDir, install.runtime), ...options.env };
	const url = `http://127.0.0.1:${port}`;

	const logFd = openSync(logFile, 'a');
	const started = Date.now();
	let child: ChildProcess;
	try {
		child = spawn(node, [install.bin, 'start'], {
			cwd: tempDir,
			env,
			detached: true, // own process group: stop() takes the task runner with it
			stdio: ['ignore', logFd, logFd],
		});
	} finally {
		closeSync(logFd);
	}
	const pgid = child.pid;
	if (pgid === undefined) throw new Error('n8n did not start (no pid)');
	liveGroups.add(pgid);
	installExitHook();
	let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
	const exitPromise = new Promise<void>((resolvePromise) => {
		child.on('exit', (code, signal) => {
			exited = { code, signal };
			resolvePromise();
		});
	});

	const log = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');

	const stop = async (): Promise<void> => {
		if (!exited) {
			try {
				process.kill(-pgid, 'SIGTERM');
			} catch {
				// gone
			}
			const timer = setTimeout(() => {
				try {
					process.kill(-pgid, 'SIGKILL');
				} catch {
					// gone
				}
			}, 15_000);
			await exitPromise;
			clearTimeout(timer);
		}
		// The task runner (same group) may outlive n8n by a moment.
		try {
			process.kill(-pgid, 'SIGKILL');
		} catch {
			// gone
		}
		liveGroups.delete(pgid);
		if (process.env.N8N_E2E_KEEP !== '1') rmSync(tempDir, { recursive: true, force: true });
	};

	try {
		// Ready: /rest/settings answers with the full settings (the health check answers earlier).
		const deadline = started + (options.readyTimeoutMs ?? 120_000);
		for (;;) {
			if (exited) throw new Error(`n8n exited during startup (code ${exited.code}, signal ${exited.signal})`);
			if (Date.now() > deadline) throw new Error(`n8n not ready within ${options.readyTimeoutMs ?? 120_000} ms`);
			try {
				const res = await httpCall('GET', `${url}/rest/settings`, { timeoutMs: 5_000 });
				if (res.status === 200 && res.text.includes('"settingsMode"')) break;
			} catch {
				// not listening yet
			}
			await sleep(250);
		}
	} catch (error) {
		const message = `${(error as Error).message}\n--- ${logFile} (tail) ---\n${tail(log())}`;
		await stop();
		throw new Error(message);
	}
	const startupMs = Date.now() - started;

	const browserId = randomUUID();
	const cookies = new Map<string, string>();
	let apiKey = '';

	const raw = async (method: string, pathFromRoot: string, body?: unknown): Promise<RawResponse> => {
		const headers: Record<string, string> = { accept: 'application/json' };
		if (!pathFromRoot.startsWith('/api/')) {
			// The editor's own calls (/rest, /types, /icons) carry the session cookie and browser-id.
			headers['browser-id'] = browserId;
			if (cookies.size > 0) headers.cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
		}
		if (pathFromRoot.startsWith('/api/') && apiKey) headers['x-n8n-api-key'] = apiKey;
		let text: string | undefined;
		if (body !== undefined) {
			text = JSON.stringify(body);
			headers['content-type'] = 'application/json';
		}
		const res = await httpCall(method, `${url}${pathFromRoot}`, { headers, body: text });
		const setCookie = res.headers['set-cookie'];
		for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
			const [pair] = line.split(';');
			const eq = pair.indexOf('=');
			if (eq > 0) cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
		}
		return { status: res.status, headers: res.headers, text: res.text, body: parseBody(res.text) };
	};
	const call = async <T>(method: string, pathFromRoot: string, body?: unknown): Promise<T> => {
		const res = await raw(method, pathFromRoot, body);
		if (res.status < 200 || res.status >= 300) throw new N8nHttpError(method, pathFromRoot, res.status, res.body);
		return res.body as T;
	};
	const api = async <T = unknown>(method: string, path: string, body?: unknown): Promise<T> =>
		await call<T>(method, `/api/v1${path}`, body);
	const rest = async <T = unknown>(method: string, path: string, body?: unknown): Promise<T> =>
		await call<T>(method, `/rest${path}`, body);

	const owner = { email: 'owner@whilter-e2e.test', password: 'E2e-Owner-Passw0rd' };
	try {
		await rest('POST', '/owner/setup', { ...owner, firstName: 'E2E', lastName: 'Owner' });
		const scopes = (await rest<{ data: string[] }>('GET', '/api-keys/scopes')).data;
		const created = await rest<{ data: { rawApiKey: string } }>('POST', '/api-keys', {
			label: 'e2e',
			expiresAt: null,
			scopes,
		});
		apiKey = created.data.rawApiKey;
	} catch (error) {
		const message = `n8n owner/API key setup failed: ${(error as Error).message}\n--- ${logFile} (tail) ---\n${tail(log())}`;
		await stop();
		throw new Error(message);
	}

	const execution = async (executionId: string): Promise<Execution> =>
		await api<Execution>('GET', `/executions/${executionId}?includeData=true`);

	const handle: N8nHandle = {
		url,
		port,
		userFolder,
		logFile,
		startupMs,
		pid: pgid,
		owner,
		apiKey,
		log,
		api,
		rest,
		raw,
		stop,
		execution,
		async createCredential(name, type, data) {
			// n8n 2.8's public API checks the data against a schema that includes the domain fields n8n
			// adds to every credential, and (a quirk of its if/then schema) then requires `allowedDomains`
			// unless `allowedHttpRequestDomains` is given: give the editor's default, 'all'.
			if (isN8n28OrOlder(install.version) && !('allowedHttpRequestDomains' in data)) {
				data = { ...data, allowedHttpRequestDomains: 'all' };
			}
			return await api<StoredCredential>('POST', '/credentials', { name, type, data });
		},
		async importWorkflow(json) {
			const body: WorkflowJson = {
				name: json.name,
				nodes: json.nodes,
				connections: json.connections,
				settings: json.settings ?? {},
			};
			if (json.staticData !== undefined) body.staticData = json.staticData;
			return await api<StoredWorkflow>('POST', '/workflows', body);
		},
		async activate(workflowId) {
			return await api<StoredWorkflow>('POST', `/workflows/${workflowId}/activate`);
		},
		async executions(workflowId) {
			const found: Execution[] = [];
			let cursor: string | undefined;
			do {
				const query = `workflowId=${encodeURIComponent(workflowId)}&includeData=true&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
				const page = await api<{ data: Execution[]; nextCursor: string | null }>('GET', `/executions?${query}`);
				found.push(...page.data);
				cursor = page.nextCursor ?? undefined;
			} while (cursor);
			return found;
		},
		async runManually(workflowId, runOptions = {}) {
			let triggerName = runOptions.triggerName;
			if (!triggerName) {
				const workflow = await api<StoredWorkflow>('GET', `/workflows/${workflowId}`);
				triggerName = workflow.nodes.find((n) => n.type === 'n8n-nodes-base.manualTrigger')?.name;
				if (!triggerName) throw new Error(`Workflow ${workflowId} has no Manual Trigger: pass triggerName`);
			}
			const runBody: { triggerToStartFrom: { name: string }; workflowData?: unknown } = { triggerToStartFrom: { name: triggerName } };
			// n8n 2.8 runs the `workflowData` of the body (its id must match the URL) and fails without it;
			// 2.41 runs the saved workflow. Up to 2.8, send the saved workflow as the editor does.
			if (isN8n28OrOlder(install.version)) {
				runBody.workflowData = (await rest<{ data: unknown }>('GET', `/workflows/${workflowId}`)).data;
			}
			const started = await rest<{ data: { executionId?: string; waitingForWebhook?: boolean } }>(
				'POST',
				`/workflows/${workflowId}/run`,
				runBody,
			);
			const executionId = started.data.executionId;
			if (!executionId) throw new Error(`n8n did not start an execution: ${JSON.stringify(started)}`);
			const deadline = Date.now() + (runOptions.timeoutMs ?? 60_000);
			for (;;) {
				const res = await raw('GET', `/api/v1/executions/${executionId}?includeData=true`);
				if (res.status === 200) {
					const found = res.body as Execution;
					if (found.stoppedAt && !['new', 'running'].includes(found.status)) return found;
				} else if (res.status !== 404) {
					throw new N8nHttpError('GET', `/api/v1/executions/${executionId}`, res.status, res.body);
				}
				if (Date.now() > deadline) throw new Error(`Execution ${executionId} did not finish within ${runOptions.timeoutMs ?? 60_000} ms`);
				await sleep(200);
			}
		},
		async runWorkflowCli(workflowId, runOptions = {}) {
			// A second n8n process on the same database: it needs its own task broker port.
			const cliEnv = { ...env, N8N_RUNNERS_BROKER_PORT: String(await freePort()) };
			const startedAt = Date.now();
			return await new Promise<CliRun>((resolvePromise, reject) => {
				const cli = spawn(node, [install.bin, 'execute', `--id=${workflowId}`, '--rawOutput'], {
					cwd: tempDir,
					env: cliEnv,
					detached: true,
					stdio: ['ignore', 'pipe', 'pipe'],
				});
				const cliGroup = cli.pid;
				if (cliGroup !== undefined) liveGroups.add(cliGroup);
				let stdout = '';
				let stderr = '';
				cli.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
				cli.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
				const timer = setTimeout(() => {
					try {
						if (cliGroup !== undefined) process.kill(-cliGroup, 'SIGKILL');
					} catch {
						// gone
					}
				}, runOptions.timeoutMs ?? 120_000);
				cli.on('error', reject);
				cli.on('close', (exitCode) => {
					clearTimeout(timer);
					if (cliGroup !== undefined) {
						try {
							process.kill(-cliGroup, 'SIGKILL');
						} catch {
							// gone
						}
						liveGroups.delete(cliGroup);
					}
					let result: unknown;
					try {
						result = parseCliOutput(stdout);
					} catch {
						result = undefined;
					}
					resolvePromise({ exitCode, result, stdout, stderr, durationMs: Date.now() - startedAt });
				});
			});
		},
	};
	return handle;
}
