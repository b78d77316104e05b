/**
 * Regenerates docs/screenshots/: the parameter panel of every node package.json lists
 * (`<type name>.png`) and the canvas with all of them (`canvas.png`), from a real n8n editor in
 * Debian's Chromium (see e2e/editor.ts).
 *
 *   npx tsx scripts/screenshots.ts [--out <dir>]
 *
 * Builds the package when dist/ is stale (N8N_E2E_SKIP_BUILD=1: use dist/ as it is), installs
 * Chromium through scripts/ensure-chromium.sh when missing. Takes about 45 s. Exits 1 when a node
 * failed to load, a panel did not open, a parameter was missing or an icon was broken: the good
 * screenshots are still written, the failing node's is left out (what the page showed instead
 * stays in .tmp/screenshots-*). Prints the README block for the screenshots.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

import { CHROMIUM_PATH, nodeProblems, startEditorCheck } from '../e2e/editor';
import type { NodeReport } from '../e2e/editor';
import { REPO_ROOT } from '../e2e/n8n';
import { ensurePackageBuilt } from '../e2e/package';

function outDir(): string {
	const index = process.argv.indexOf('--out');
	return index > 0 && process.argv[index + 1] ? resolve(process.argv[index + 1]) : join(REPO_ROOT, 'docs', 'screenshots');
}

function ensureChromium(): void {
	if (existsSync(CHROMIUM_PATH)) return;
	const result = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'ensure-chromium.sh')], { stdio: 'inherit' });
	if (result.status !== 0) throw new Error('scripts/ensure-chromium.sh could not install Chromium');
}

/** The README block: the canvas, then each panel (alt text and caption name the node). */
function readmeBlock(dir: string, reports: NodeReport[]): string {
	const rel = (file: string): string => relative(REPO_ROOT, join(dir, file));
	const lines = [`![All nodes of the package on the n8n canvas](${rel('canvas.png')})`, ''];
	for (const report of reports) {
		lines.push(`**${report.nodeName}** (\`${report.name}\`)`, '', `![${report.nodeName} parameters in the n8n editor](${rel(`${report.name}.png`)})`, '');
	}
	return lines.join('\n');
}

async function main(): Promise<number> {
	const started = Date.now();
	const dir = outDir();
	ensureChromium();
	const build = await ensurePackageBuilt();
	if (build.built) console.log(`[editor] built the package (${build.reason}) in ${build.ms} ms`);
	// Shots go to a scratch folder first: a run that breaks off leaves the committed ones alone.
	mkdirSync(join(REPO_ROOT, '.tmp'), { recursive: true });
	const scratch = mkdtempSync(join(REPO_ROOT, '.tmp', 'screenshots-'));
	const check = await startEditorCheck({ screenshotsDir: scratch, log: (line) => console.log(line) });
	let failed = check.staged.failures.length;
	let good: NodeReport[] = [];
	try {
		const { reports, canvasNodes } = await check.checkAll();
		for (const report of reports) {
			const problems = nodeProblems(report);
			if (problems.length > 0) failed++;
			console.log(`${problems.length === 0 ? 'ok  ' : 'FAIL'} ${report.name}: ${report.expected.length} parameters checked`);
			for (const problem of problems) console.log(`     ${problem}`);
			if (problems.length > 0 && report.screenshot) console.log(`     what the page showed: ${relative(REPO_ROOT, report.screenshot)}`);
		}
		for (const failure of check.staged.failures) console.log(`FAIL ${failure.file}: does not load: ${failure.error}`);
		const missing = reports.filter((r) => !canvasNodes.some((n) => n.type === r.type));
		for (const report of missing) console.log(`FAIL ${report.name}: not on the canvas`);
		failed += missing.length;
		good = reports.filter((r) => nodeProblems(r).length === 0);
	} finally {
		await check.close();
	}
	// Replace the old set (panels of nodes that are gone or now fail must not linger).
	mkdirSync(dir, { recursive: true });
	for (const file of readdirSync(dir)) if (file.endsWith('.png')) rmSync(join(dir, file));
	for (const file of ['canvas.png', ...good.map((r) => `${r.name}.png`)]) copyFileSync(join(scratch, file), join(dir, file));
	if (failed === 0) rmSync(scratch, { recursive: true, force: true });
	console.log(`\nWrote ${1 + good.length} screenshots to ${relative(REPO_ROOT, dir) || dir}. For the README:\n\n${readmeBlock(dir, good)}`);
	console.log(`[editor] ${failed === 0 ? 'all nodes ok' : `${failed} problem(s)`} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
	return failed === 0 ? 0 : 1;
}

main().then(
	(code) => process.exit(code),
	(error: unknown) => {
		console.error(error instanceof Error ? (error.stack ?? error.message) : error);
		process.exit(1);
	},
);
