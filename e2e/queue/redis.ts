/**
 * Redis for one cluster: Debian's redis-server (installed by scripts/ensure-redis.sh on first use),
 * on a free loopback port, nothing saved to disk, in the foreground in a process group of its own.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

import { withDirLock } from '../lock';
import { freePort } from '../n8n/process';
import { REPO_ROOT } from '../n8n/runtime';
import { groupRssMb } from './procfs';
import { startService, waitForPort } from './service';
import type { Service } from './service';

const hasRedis = (): boolean => spawnSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' }).status === 0;

/** Installs Debian's redis-server when it is missing (apt-get as root or through sudo), once even with two Jest workers. */
export async function ensureRedis(): Promise<void> {
	if (hasRedis()) return;
	const locks = join(REPO_ROOT, '.tmp');
	mkdirSync(locks, { recursive: true });
	await withDirLock(join(locks, 'ensure-redis.lock'), async () => {
		if (hasRedis()) return;
		const result = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'ensure-redis.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
		if (result.status !== 0) throw new Error(`scripts/ensure-redis.sh failed (exit ${result.status ?? result.signal})`);
	});
}

export interface RedisServer {
	port: number;
	pid: number;
	logFile: string;
	rssMb(): number;
	stop(): Promise<void>;
}

/** Answers whether Redis on `port` says PONG to a PING (it answers LOADING while it starts). */
async function pong(port: number): Promise<boolean> {
	return await new Promise((resolvePromise) => {
		const socket = connect(port, '127.0.0.1');
		let answer = '';
		socket.setTimeout(2_000);
		socket.once('connect', () => socket.write('PING\r\n'));
		socket.on('data', (chunk: Buffer) => {
			answer += chunk.toString('utf8');
			if (answer.includes('\r\n')) {
				socket.destroy();
				resolvePromise(answer.startsWith('+PONG'));
			}
		});
		socket.once('timeout', () => {
			socket.destroy();
			resolvePromise(false);
		});
		socket.once('error', () => resolvePromise(false));
	});
}

/** Starts redis-server in `dir` (its working directory and log) and waits until it answers PING. */
export async function startRedis(dir: string, readyTimeoutMs = 30_000): Promise<RedisServer> {
	await ensureRedis();
	mkdirSync(dir, { recursive: true });
	const port = await freePort();
	const service: Service = startService({
		name: 'redis',
		command: 'redis-server',
		// In the foreground (no --daemonize), so it stays in the group the cluster stops; no RDB/AOF files.
		args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes'],
		cwd: dir,
		logFile: join(dir, 'redis.log'),
		stopSignal: 'SIGTERM',
	});
	try {
		await waitForPort(service, port, readyTimeoutMs, async () => await pong(port));
	} catch (error) {
		await service.stop();
		throw error;
	}
	return { port, pid: service.pgid, logFile: service.logFile, rssMb: () => groupRssMb(service.pgid), stop: async () => await service.stop() };
}
