/**
 * `npx tsx bench/profileBlocks.ts <file.cpuprofile> [minMs]`: the stretches of a V8 CPU profile
 * (node --cpu-prof) during which the event loop never went idle for at least minMs (default 40), and
 * for each the functions that took its time (self time, and the package's own frames inclusive).
 * What blocks the loop shows in a profile taken on a busy machine too, even when the milliseconds do not.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
	id: number;
	callFrame: { functionName: string; url: string; lineNumber: number };
	children?: number[];
	parent?: number;
}
interface Profile {
	nodes: ProfileNode[];
	samples: number[];
	timeDeltas: number[];
	startTime: number;
}

const [file, minText] = process.argv.slice(2);
const minMs = Number(minText ?? 40);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
for (const n of profile.nodes) for (const c of n.children ?? []) byId.get(c)!.parent = n.id;

const name = (n: ProfileNode) => {
	const url = n.callFrame.url.replace(/^.*\/(node_modules\/)?/, '');
	return `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`;
};
const idle = (n: ProfileNode) => ['(idle)', '(program)'].includes(n.callFrame.functionName);
const ours = (n: ProfileNode) => /\/nodes\/(Whilter|shared)\//.test(n.callFrame.url);

interface Stretch {
	start: number;
	ms: number;
	samples: Array<{ id: number; ms: number }>;
}
const stretches: Stretch[] = [];
let current: Stretch | undefined;
let t = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
	t += profile.timeDeltas[i];
	const node = byId.get(profile.samples[i])!;
	const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
	if (idle(node)) {
		if (current && current.ms >= minMs) stretches.push(current);
		current = undefined;
		continue;
	}
	current ??= { start: t, ms: 0, samples: [] };
	current.ms += ms;
	current.samples.push({ id: node.id, ms });
}
if (current && current.ms >= minMs) stretches.push(current);

for (const s of stretches.sort((a, b) => b.ms - a.ms).slice(0, 12)) {
	const self = new Map<string, number>();
	const inclusive = new Map<string, number>();
	for (const { id, ms } of s.samples) {
		const leaf = byId.get(id)!;
		self.set(name(leaf), (self.get(name(leaf)) ?? 0) + ms);
		const seen = new Set<string>();
		for (let n: ProfileNode | undefined = leaf; n; n = n.parent ? byId.get(n.parent) : undefined) {
			if (!ours(n) && !/n8n-core|@aws-sdk|@smithy|yazl|buffer-crc32|zlib/.test(n.callFrame.url)) continue;
			const key = name(n);
			if (seen.has(key)) continue;
			seen.add(key);
			inclusive.set(key, (inclusive.get(key) ?? 0) + ms);
		}
	}
	const top = (m: Map<string, number>, k: number) =>
		[...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([f, ms]) => `      ${ms.toFixed(1).padStart(8)} ms  ${f}`).join('\n');
	process.stdout.write(`stretch of ${s.ms.toFixed(1)} ms at +${((s.start - profile.startTime) / 1000).toFixed(0)} ms\n    self:\n${top(self, 8)}\n    inclusive (package, n8n-core, streams):\n${top(inclusive, 10)}\n`);
}
