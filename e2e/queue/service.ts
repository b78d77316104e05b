/**
 * A helper process of the cluster (PostgreSQL, Redis): started in a process group of its own with
 * its output in a log file, remembered by the exit hook of e2e/n8n/process.ts, and stopped with its
 * own shutdown signal (SIGKILL to the group after a grace).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';

import { signalGroup, sleep, trackGroup, untrackGroup } from '../n8n/process';

export interface ServiceSpec {
	name: string;
	command: string;
	args: string[];
	cwd: string;
	logFile: string;
	env?: NodeJS.ProcessEnv;
	/** Run as this user (PostgreSQL refuses to run as root). */
	uid?: number;
	gid?: number;
	/** The signal that shuts it down cleanly (PostgreSQL: SIGINT, its "fast" shutdown). */
	stopSignal: NodeJS.Signals;
}

export interface Service {
	name: string;
	/** The process id, which is also its process group. */
	pgid: number;
	logFile: string;
	log(): string;
	exited(): boolean;
	/** `stopSignal` to the group, SIGKILL after `graceMs`; resolves once it has exited. */
	stop(graceMs?: number): Promise<void>;
}

export function startService(spec: ServiceSpec): Service {
	const logFd = openSync(spec.logFile, 'a');
	let child;
	try {
		child = spawn(spec.command, spec.args, {
			cwd: spec.cwd,
			env: spec.env ?? process.env,
			detached: true,
			stdio: ['ignore', logFd, logFd],
			...(spec.uid !== undefined ? { uid: spec.uid, gid: spec.gid } : {}),
		});
	} finally {
		closeSync(logFd);
	}
	const pgid = child.pid;
	if (pgid === undefined) throw new Error(`${spec.name} did not start (no pid)`);
	trackGroup(pgid);
	let done = false;
	const exitPromise = new Promise<void>((resolvePromise) => {
		child.on('exit', () => {
			done = true;
			resolvePromise();
		});
	});
	let stopping: Promise<void> | undefined;
	return {
		name: spec.name,
		pgid,
		logFile: spec.logFile,
		log: () => (existsSync(spec.logFile) ? readFileSync(spec.logFile, 'utf8') : ''),
		exited: () => done,
		stop(graceMs = 15_000) {
			stopping ??= (async () => {
				if (!done) {
					signalGroup(pgid, spec.stopSignal);
					const timer = setTimeout(() => signalGroup(pgid, 'SIGKILL'), graceMs);
					await exitPromise;
					clearTimeout(timer);
				}
				// Children (PostgreSQL's backends) may outlive the leader by a moment.
				signalGroup(pgid, 'SIGKILL');
				untrackGroup(pgid);
			})();
			return stopping;
		},
	};
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`; throws when `service` exits or the time is up. */
export async function waitForPort(service: Service, port: number, timeoutMs: number, check?: () => Promise<boolean>): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		if (service.exited()) throw new Error(`${service.name} exited during startup; ${service.logFile}:\n${service.log().split('\n').slice(-30).join('\n')}`);
		if (Date.now() > deadline) throw new Error(`${service.name} not ready on port ${port} within ${timeoutMs} ms`);
		if ((await portOpen(port)) && (!check || (await check()))) return;
		await sleep(100);
	}
}

async function portOpen(port: number): Promise<boolean> {
	return await new Promise((resolvePromise) => {
		const socket = connect(port, '127.0.0.1');
		socket.setTimeout(2_000);
		socket.once('connect', () => {
			socket.destroy();
			resolvePromise(true);
		});
		socket.once('timeout', () => {
			socket.destroy();
			resolvePromise(false);
		});
		socket.once('error', () => resolvePromise(false));
	});
}
