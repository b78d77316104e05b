/**
 * Which n8n the tests run and on which Node: the pinned versions, the project's Node 24 (n8n 2.36+
 * refuses older ones) and the machine's Node 20 (n8n 2.8.x and the last 1.x line, for users still on
 * Node 20 or on n8n 1), and the environment that puts a runtime's npm and headers first.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The n8n the tests run unless told otherwise: the newest that installs from this registry. */
export const DEFAULT_N8N_VERSION = '2.41.1';

/** The newest n8n that runs on Node 20: the compatibility test runs the package in it on the machine's Node 20. */
export const NODE20_N8N_VERSION = '2.8.4';

/**
 * The newest patch of n8n's last 1.x line (1.123.x, still patched after 2.0) that installs from this
 * registry: the compatibility test runs the package in it on the machine's Node 20 too.
 */
export const N8N1_VERSION = '1.123.81';

/** The n8n versions the compatibility test runs on Node 20, newest first. */
export const NODE20_N8N_VERSIONS = [NODE20_N8N_VERSION, N8N1_VERSION];

/** Every n8n the tests run (e2e/ensure-n8n.ts installs them all). */
export const E2E_N8N_VERSIONS = [DEFAULT_N8N_VERSION, ...NODE20_N8N_VERSIONS];

/** The repository root (this file lives in `<root>/e2e/n8n/`). */
export const REPO_ROOT = resolve(__dirname, '..', '..');

const NODE24_SCRIPT = join(REPO_ROOT, 'scripts', 'node24.sh');
const TOOLS_DIR = join(REPO_ROOT, '.tools');

/**
 * n8n up to 2.8.x, 1.x included: Node 20, and a few API differences from 2.41 (see runManually,
 * createCredential).
 */
export function isN8n28OrOlder(version: string): boolean {
	const [major, minor] = version.split('.').map(Number);
	return major < 2 || (major === 2 && minor <= 8);
}

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

function nodeVersionOf(nodeBinary: string): string | undefined {
	const result = spawnSync(nodeBinary, ['-p', 'process.versions.node'], { encoding: 'utf8', timeout: 15_000 });
	return result.status === 0 ? result.stdout.trim() : undefined;
}

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

export function node24Runtime(): NodeRuntime {
	const binDir = node24Bin();
	return { name: 'node24', binDir, version: nodeVersionOf(join(binDir, 'node')) ?? '', nodedir: resolve(binDir, '..') };
}

/** Environment for npm and node commands run with Node 24 (what scripts/node24.sh exports). */
export function node24Env(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
	const bin = node24Bin();
	return {
		...base,
		PATH: `${bin}:${base.PATH ?? ''}`,
		// Native addons (sqlite3) must build against this runtime's headers, not the machine's /usr ones.
		npm_config_nodedir: resolve(bin, '..'),
	};
}

// ---------------------------------------------------------------------------------------------
// Node 20

/** Oldest Node 20 that n8n 2.8.4 and 1.123.x accept (their engines field: `>=20.19 <= 24.x`). */
const NODE20_MINIMUM = [20, 19] as const;

let node20Cached: NodeRuntime | undefined;

const outsideTools = (dir: string): boolean => !resolve(dir).startsWith(TOOLS_DIR);

/** Where a Node 20 may be: `$N8N_E2E_NODE20`, the usual places, then every `node` on PATH outside `.tools/`. */
function node20Candidates(): Array<string | undefined> {
	const candidates = [process.env.N8N_E2E_NODE20, '/usr/bin/node', '/usr/local/bin/node'];
	for (const dir of (process.env.PATH ?? '').split(':')) {
		if (dir && outsideTools(dir)) candidates.push(join(dir, 'node'));
	}
	return candidates;
}

function isAcceptedNode20(version: string | undefined): boolean {
	const [major, minor] = (version ?? '0.0').split('.').map(Number);
	return major === 20 && minor >= NODE20_MINIMUM[1];
}

function node20RuntimeAt(nodeBinary: string, version: string): NodeRuntime {
	const binDir = dirname(nodeBinary);
	const prefix = resolve(binDir, '..');
	const nodedir = existsSync(join(prefix, 'include', 'node', 'node.h')) ? prefix : undefined;
	return { name: 'node20', binDir, version, nodedir };
}

/**
 * The machine's Node 20 (n8n 2.8.x, the newest n8n that runs on Node 20). Jest and the scripts run
 * under the project's Node 24, so it is looked up explicitly: `$N8N_E2E_NODE20` if set, then
 * /usr/bin/node, /usr/local/bin/node and every `node` on PATH outside `.tools/`. Throws, naming what
 * it found, when none is Node 20 ≥ 20.19.
 */
export function node20Runtime(): NodeRuntime {
	if (node20Cached) return node20Cached;
	const seen = new Map<string, string>();
	for (const candidate of node20Candidates()) {
		if (!candidate || seen.has(candidate) || !existsSync(candidate)) continue;
		const version = nodeVersionOf(candidate);
		seen.set(candidate, version ?? 'does not run');
		if (isAcceptedNode20(version)) {
			node20Cached = node20RuntimeAt(candidate, version ?? '');
			return node20Cached;
		}
	}
	throw new Error(
		`n8n ${NODE20_N8N_VERSIONS.join(' and ')} run on Node 20 ≥ ${NODE20_MINIMUM.join('.')}, and none was found ` +
			`(checked: ${[...seen].map(([path, found]) => `${path} ${found}`).join(', ') || 'nothing'}). ` +
			'Install Node 20.19+ or set N8N_E2E_NODE20=/path/to/node.',
	);
}

// ---------------------------------------------------------------------------------------------
// The runtime of an n8n version

/**
 * The runtime a given n8n is installed and run with: 2.8.x and older, 1.x included, on the machine's
 * Node 20 (2.8 is the newest n8n that accepts Node 20, and the point of running these is users still
 * on Node 20 or on n8n 1), newer ones on the project's Node 24 (2.10+ need Node 22+, 2.36+ need 24).
 */
export function runtimeFor(version: string): NodeRuntime {
	return isN8n28OrOlder(version) ? node20Runtime() : node24Runtime();
}

/** Environment for npm and node commands on the given runtime: its bin first on PATH, its headers for node-gyp. */
export function runtimeEnv(runtime: NodeRuntime, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
	if (runtime.name === 'node24') return node24Env(base);
	// Drop the project's Node 24 from PATH (scripts/node24.sh put it first) so nothing picks it up by accident.
	const path = (base.PATH ?? '').split(':').filter((dir) => dir && outsideTools(dir));
	const env: NodeJS.ProcessEnv = { ...base, PATH: [runtime.binDir, ...path].join(':') };
	if (runtime.nodedir) env.npm_config_nodedir = runtime.nodedir;
	else delete env.npm_config_nodedir;
	return env;
}
