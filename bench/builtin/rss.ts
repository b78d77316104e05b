/**
 * Memory of the n8n process tree, read from /proc: the main process and, separately, its
 * descendants (n8n 2.x runs Code nodes in a task runner child process). VmHWM is not used: it is the
 * process lifetime's peak, not one execution's.
 */
import { readdirSync, readFileSync } from 'node:fs';

import { SAMPLE_MS, sleep } from './config';

function rssKb(pid: number): number {
	try {
		const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
		return match ? Number(match[1]) : 0;
	} catch {
		return 0; // the process has just ended
	}
}

function childrenOf(pid: number): number[] {
	const found: number[] = [];
	try {
		for (const tid of readdirSync(`/proc/${pid}/task`)) {
			const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
			if (text) found.push(...text.split(/\s+/).map(Number));
		}
	} catch {
		// gone
	}
	return found;
}

export function descendantsOf(pid: number): number[] {
	const all: number[] = [];
	for (const child of childrenOf(pid)) all.push(child, ...descendantsOf(child));
	return all;
}

/** `<pid> <last word of its command line>` for each descendant (the task runner shows as its script). */
export function describeDescendants(pid: number): string[] {
	return descendantsOf(pid).map((child) => `${child} ${readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').filter(Boolean).pop() ?? ''}`);
}

export interface RssSample {
	mainKb: number;
	/** Every descendant of the main process (the task runner). */
	childrenKb: number;
}

export function sampleTree(mainPid: number): RssSample {
	return { mainKb: rssKb(mainPid), childrenKb: descendantsOf(mainPid).reduce((sum, pid) => sum + rssKb(pid), 0) };
}

/** Peaks in kB over a sampling period; `total` is the highest sum at one instant, not the sum of the peaks. */
export interface RssPeaks {
	main: number;
	children: number;
	total: number;
	samples: number;
}

/** Samples every SAMPLE_MS until the returned function is called, which answers the peaks. */
export function startSampler(mainPid: number): () => RssPeaks {
	const peaks: RssPeaks = { main: 0, children: 0, total: 0, samples: 0 };
	const take = (): void => {
		const s = sampleTree(mainPid);
		peaks.main = Math.max(peaks.main, s.mainKb);
		peaks.children = Math.max(peaks.children, s.childrenKb);
		peaks.total = Math.max(peaks.total, s.mainKb + s.childrenKb);
		peaks.samples++;
	};
	take();
	const timer = setInterval(take, SAMPLE_MS);
	return () => {
		clearInterval(timer);
		take();
		return { ...peaks };
	};
}

/**
 * Waits until the tree's RSS stops falling (no drop of 5 MB or more within 2 s; at most 20 s), so an
 * execution does not start while the previous one's memory is still being handed back. No GC is forced:
 * this is what V8 and n8n do when left idle. Returns the settled RSS in kB.
 */
export async function settle(mainPid: number): Promise<number> {
	const deadline = Date.now() + 20_000;
	let last = sampleTree(mainPid);
	let lowest = last.mainKb + last.childrenKb;
	for (;;) {
		await sleep(2000);
		last = sampleTree(mainPid);
		const now = last.mainKb + last.childrenKb;
		if (now > lowest - 5 * 1024 || Date.now() > deadline) return now;
		lowest = now;
	}
}
