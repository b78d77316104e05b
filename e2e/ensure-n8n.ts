/**
 * `npx tsx e2e/ensure-n8n.ts [version]`: installs the pinned n8n for the end-to-end tests into
 * e2e/n8n-<major.minor>/ unless it is already there (scripts/test.sh runs this before Jest).
 * Prints the folder and the CLI path.
 */
import { DEFAULT_N8N_VERSION, ensureN8n } from './n8n';

const version = process.argv[2] ?? DEFAULT_N8N_VERSION;
const started = Date.now();
ensureN8n(version)
	.then((install) => {
		const what = install.installed ? `installed in ${Math.round((Date.now() - started) / 1000)} s` : 'already installed';
		process.stdout.write(`n8n ${install.version} ${what}: ${install.dir}\n${install.bin}\n`);
	})
	.catch((error: unknown) => {
		process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
		process.exit(1);
	});
