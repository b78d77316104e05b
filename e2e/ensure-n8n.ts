/**
 * `npx tsx e2e/ensure-n8n.ts [version...|--all]`: installs the pinned n8n for the end-to-end tests into
 * e2e/n8n-<major.minor>/ unless it is already there. No argument: the default (DEFAULT_N8N_VERSION);
 * `--all`: every n8n the tests run (E2E_N8N_VERSIONS: 2.41.1 on Node 24, 2.8.4 and 1.123.81 on the
 * machine's Node 20), which scripts/test.sh installs before Jest. One after the other (two npm installs at once
 * are no faster on two cores). Prints, per version, one line (version, Node, folder), then the CLI path
 * (scripts/n8n.sh takes the last line).
 */
import { DEFAULT_N8N_VERSION, E2E_N8N_VERSIONS, ensureN8n } from './n8n';

async function main(args: string[]): Promise<void> {
	const versions = args.includes('--all') ? E2E_N8N_VERSIONS : args.length > 0 ? args : [DEFAULT_N8N_VERSION];
	for (const version of versions) {
		const started = Date.now();
		const install = await ensureN8n(version);
		const what = install.installed ? `installed in ${Math.round((Date.now() - started) / 1000)} s` : 'already installed';
		process.stdout.write(`n8n ${install.version} on Node ${install.runtime.version} ${what}: ${install.dir}\n${install.bin}\n`);
	}
}

main(process.argv.slice(2)).catch((error: unknown) => {
	process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
	process.exit(1);
});
