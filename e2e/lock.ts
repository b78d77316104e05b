import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A lock between processes (two Jest workers, or a test and `npm test`'s setup step) that would
 * otherwise install n8n or build the package at the same time. `mkdir` is atomic; the owner's pid is
 * written inside so a lock left by a dead process is taken over.
 */
export async function withDirLock<T>(lockDir: string, work: () => Promise<T>, timeoutMs = 20 * 60_000): Promise<T> {
	const started = Date.now();
	for (;;) {
		try {
			mkdirSync(lockDir);
			writeFileSync(join(lockDir, 'pid'), String(process.pid));
			break;
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
			if (lockIsStale(lockDir)) {
				rmSync(lockDir, { recursive: true, force: true });
				continue;
			}
			if (Date.now() - started > timeoutMs) throw new Error(`Timed out waiting for the lock ${lockDir}`);
			await new Promise((resolve) => setTimeout(resolve, 500));
		}
	}
	try {
		return await work();
	} finally {
		rmSync(lockDir, { recursive: true, force: true });
	}
}

function lockIsStale(lockDir: string): boolean {
	let pid: number;
	try {
		pid = Number(readFileSync(join(lockDir, 'pid'), 'utf8'));
	} catch {
		// Created but the pid not written yet: stale only when old.
		try {
			return Date.now() - statSync(lockDir).mtimeMs > 10_000;
		} catch {
			return false;
		}
	}
	if (!Number.isInteger(pid) || pid <= 0) return true;
	try {
		process.kill(pid, 0);
		return false;
	} catch (error) {
		return (error as NodeJS.ErrnoException).code === 'ESRCH';
	}
}
