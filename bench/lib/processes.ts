/**
 * The bench's processes. A measured case runs in a fresh process, so its peak RSS is its own; the
 * servers run in a process of their own, so their work and memory are not the node's.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/** Extra flags for a case's process, e.g. BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile. */
function extraFlags(): string[] {
	return (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
}

/** Runs `file args` as a measured case and returns what it printed on its `RESULT <json>` line. */
export function runCaseProcess<T>(file: string, args: string[], label: string): T {
	const output = execFileSync(process.execPath, ['--import', 'tsx', '--expose-gc', ...extraFlags(), file, ...args], {
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'inherit'],
		maxBuffer: 64 * 1024 * 1024,
		// n8n's own heap settings: none. A larger --max-old-space-size also lets V8 grow the young
		// generation further (32 MB semi-spaces against 16), which a node that allocates fast fills.
		env: { ...process.env, NODE_OPTIONS: '' },
	});
	const line = output.split('\n').find((l) => l.startsWith('RESULT '));
	if (!line) throw new Error(`bench case ${label} printed no result`);
	return JSON.parse(line.slice(7)) as T;
}

/**
 * Starts `file args` as a server process: returns the first line it prints (its addresses) and
 * `stop()`, which closes its standard input and waits for it to exit.
 */
export async function startServerProcess(file: string, args: string[] = []): Promise<{ line: string; stop: () => Promise<void> }> {
	const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
	const line = await new Promise<string>((resolve, reject) => {
		const lines = createInterface({ input: child.stdout! });
		lines.once('line', (first) => {
			lines.close();
			resolve(first);
		});
		child.once('exit', (code) => reject(new Error(`the server process ${file} exited (${code}) before it was ready`)));
	});
	return {
		line,
		stop: async () => {
			if (child.exitCode !== null) return;
			child.stdin!.end();
			await once(child, 'exit');
		},
	};
}

/** The server process's side: prints `line`, then runs `close` and exits once standard input ends. */
export function serveUntilStdinEnds(line: string, close: () => Promise<unknown>): void {
	process.stdout.write(`${line}\n`);
	process.stdin.resume();
	process.stdin.on('end', () => {
		void close().then(() => process.exit(0));
	});
}
