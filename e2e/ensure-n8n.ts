/**
 * `npx tsx e2e/ensure-n8n.ts [version...|--all]`: installs the pinned n8n for the end-to-end tests into
 * e2e/n8n-<major.minor>/ unless it is already there. No argument: the default (DEFAULT_N8N_VERSION);
 * `--all`: every n8n the tests run (E2E_N8N_VERSIONS: 2.41.1 on Node 24, 2.8.4 and 1.123.81 on the
 * machine's Node 20), which scripts/test.sh installs before Jest.
 *
 * Several missing versions are installed at the same time, each by a child process of this script:
 * an install blocks its process (npm, then the sqlite3 build), and much of it waits on the registry,
 * so on two cores three installs together took about two thirds of the time of one after the other.
 * Each folder has its own lock. Prints, per version, one line (version, Node, folder), then the CLI
 * path (scripts/n8n.sh takes the last line).
 */
import { spawn } from 'node:child_process';

import { DEFAULT_N8N_VERSION, E2E_N8N_VERSIONS, ensureN8n, n8nDir } from './n8n';
import { isInstallCurrent } from './n8n/install';

async function ensureOne(version: string): Promise<string> {
	const started = Date.now();
	const install = await ensureN8n(version);
	const what = install.installed ? `installed in ${Math.round((Date.now() - started) / 1000)} s` : 'already installed';
	return `n8n ${install.version} on Node ${install.runtime.version} ${what}: ${install.dir}\n${install.bin}\n`;
}

/** Installs `version` in a child process of this script; resolves with its output. */
function ensureInChild(version: string): Promise<string> {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, [...process.execArgv, __filename, version], { stdio: ['ignore', 'pipe', 'inherit'] });
		let out = '';
		child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
		child.on('error', reject);
		child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`installing n8n ${version} failed (exit ${code})`))));
	});
}

async function main(args: string[]): Promise<void> {
	const versions = args.includes('--all') ? E2E_N8N_VERSIONS : args.length > 0 ? args : [DEFAULT_N8N_VERSION];
	const missing = versions.filter((version) => !isInstallCurrent(n8nDir(version), version));
	if (missing.length > 1) process.stderr.write(`[ensure-n8n] installing n8n ${missing.join(', ')} at the same time (a few minutes)…\n`);
	const lines = await Promise.all(versions.map((version) => (missing.length > 1 && missing.includes(version) ? ensureInChild(version) : ensureOne(version))));
	process.stdout.write(lines.join(''));
}

main(process.argv.slice(2)).catch((error: unknown) => {
	process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
	process.exit(1);
});
