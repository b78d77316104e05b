/**
 * Memory of a process group, read from /proc: n8n's task runner, PostgreSQL's backends and the like
 * are children in the same group as the process the cluster started.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** The ids of the processes whose process group is `pgid` (none when it is gone). */
export function groupPids(pgid: number): number[] {
	const pids: number[] = [];
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
			// The command name (2nd field) may hold spaces and parentheses: the fields after it start at the last ')'.
			const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
			// After the name: state, ppid, pgrp.
			if (Number(fields[2]) === pgid) pids.push(Number(entry));
		} catch {
			// ended while we looked
		}
	}
	return pids;
}

/** A `kB` field of /proc/<pid>/status or smaps_rollup, in kB (0 when the process is gone or the field absent). */
function kbField(file: string, field: string): number {
	try {
		const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(file, 'utf8'));
		return match ? Number(match[1]) : 0;
	} catch {
		return 0;
	}
}

const mb = (kb: number): number => Math.round(kb / 1024);

/** The summed resident set (VmRSS) of a process group, in MB. */
export function groupRssMb(pgid: number): number {
	return mb(groupPids(pgid).reduce((sum, pid) => sum + kbField(`/proc/${pid}/status`, 'VmRSS'), 0));
}

/**
 * The summed proportional set size (Pss) of a process group, in MB: shared pages counted once, split
 * among the processes that map them. For PostgreSQL, whose backends all map the same shared
 * buffers, this is the honest total; summing their RSS counts those buffers once per backend.
 */
export function groupPssMb(pgid: number): number {
	return mb(groupPids(pgid).reduce((sum, pid) => sum + kbField(`/proc/${pid}/smaps_rollup`, 'Pss'), 0));
}
