/**
 * Installing the pinned n8n in a folder of its own (`e2e/n8n-<major.minor>/`, with its own
 * package.json and lockfile), kept apart from the package's dependencies.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { withDirLock } from '../lock';
import { DEFAULT_N8N_VERSION, node24Env, node24Runtime, REPO_ROOT, runtimeEnv, runtimeFor } from './runtime';
import type { NodeRuntime } from './runtime';

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

/** The stamp matches package.json + lockfile and the n8n in node_modules is the wanted one. */
export function isInstallCurrent(dir: string, version: string): boolean {
	const stampFile = join(dir, STAMP);
	return (
		existsSync(stampFile) &&
		readFileSync(stampFile, 'utf8').trim() === installFingerprint(dir, version) &&
		installedN8nVersion(dir) === version
	);
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

/** Writes the folder's package.json when missing; throws unless it pins exactly this n8n. */
function ensureManifest(dir: string, version: string): void {
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
}

/** `npm install` of the locked versions (or, without a lockfile, of the pin, writing the lockfile). */
function npmInstall(dir: string, env: NodeJS.ProcessEnv): void {
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
}

/** Installs (or reuses) n8n and a working sqlite3 in `dir`, then writes the stamp; returns whether it installed anything. */
function installInto(dir: string, version: string, runtime: NodeRuntime): boolean {
	const env = runtimeEnv(runtime);
	ensureManifest(dir, version);
	let installed = false;
	// An install made before the stamp existed (or by hand) is reused when it matches and works.
	const reusable = installedN8nVersion(dir) === version && existsSync(join(dir, 'package-lock.json'));
	if (!reusable) {
		npmInstall(dir, env);
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
	writeFileSync(join(dir, STAMP), `${installFingerprint(dir, version)}\n`);
	return installed;
}

/**
 * Makes sure the pinned n8n is installed in `e2e/n8n-<major.minor>/`. The folder's package.json and
 * package-lock.json are the source of truth: with a lockfile, `npm install --no-save` installs its
 * versions (see npmInstall for why not `npm ci`); without one, `npm install` writes it (commit it).
 * Kafka's native client would download sources during its install script, so scripts are skipped and
 * only sqlite3 (n8n's database driver) is rebuilt for the runtime (runtimeFor: Node 24, or Node 20
 * for 2.8.x). Fast when already installed: a stamp in node_modules records the package.json +
 * lockfile it came from. `options.dir` installs elsewhere (to try the procedure from scratch without
 * touching the real one).
 */
export async function ensureN8n(
	version = DEFAULT_N8N_VERSION,
	options: { dir?: string; runtime?: NodeRuntime } = {},
): Promise<N8nInstall> {
	const dir = options.dir ?? n8nDir(version);
	// npm, the sqlite3 build and n8n itself all on one runtime (2.8.x: the machine's Node 20).
	const runtime = options.runtime ?? runtimeFor(version);
	const bin = join(dir, 'node_modules', 'n8n', 'bin', 'n8n');
	if (isInstallCurrent(dir, version)) return { version, dir, bin, runtime, installed: false };

	mkdirSync(dir, { recursive: true });
	return await withDirLock(join(dir, '.install-lock'), async () => {
		if (isInstallCurrent(dir, version)) return { version, dir, bin, runtime, installed: false };
		return { version, dir, bin, runtime, installed: installInto(dir, version, runtime) };
	});
}
