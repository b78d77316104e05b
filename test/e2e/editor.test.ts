/**
 * The editor check: a real n8n (the pinned version) with the built package, its editor in Debian's
 * Chromium driven by playwright-core (e2e/editor.ts). For every node package.json lists, the node is
 * on the canvas with its icon loaded, its parameter panel opens on a double click, and the panel
 * shows every parameter n8n should display for the node's values (labels and inputs, derived from
 * the built description) with the node's icon in its header. Screenshots go to
 * .tmp/editor-screenshots/ (scripts/screenshots.ts writes the committed ones in docs/screenshots/).
 * Negative controls show that the same checks fail on a parameter the panel does not have, on a
 * broken icon and on a node that is not there.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import {
	closeNodePanel,
	nodeProblems,
	openNodePanel,
	readPanel,
	startEditorCheck,
	VIEWPORT,
} from '../../e2e/editor';
import type { EditorCheck, NodeReport } from '../../e2e/editor';
import { REPO_ROOT } from '../../e2e/n8n';
import { ensurePackageBuilt, packageJson } from '../../e2e/package';

jest.setTimeout(120_000);

const SCREENSHOTS = join(REPO_ROOT, '.tmp', 'editor-screenshots');
/** Read when Jest collects the tests, so every node listed (now or later) gets its own test. */
const LISTED_NODES = packageJson().n8n.nodes;

let check: EditorCheck;
let reports: NodeReport[];
let canvas: string;
let canvasNodes: Array<{ name: string; type: string }>;

beforeAll(async () => {
	const build = await ensurePackageBuilt();
	if (build.built) process.stderr.write(`[editor] built the package in ${build.ms} ms (${build.reason})\n`);
	rmSync(SCREENSHOTS, { recursive: true, force: true });
	check = await startEditorCheck({ screenshotsDir: SCREENSHOTS, log: (line) => process.stderr.write(`${line}\n`) });
	({ reports, canvas, canvasNodes } = await check.checkAll());
}, 600_000);

afterAll(async () => {
	await check?.close();
});

/** Width and height from a PNG's IHDR chunk. */
function pngSize(file: string): { width: number; height: number } {
	const bytes = readFileSync(file);
	expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
	return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

test('every node and credential file package.json lists loads', () => {
	expect(check.staged.failures).toEqual([]);
	expect(check.nodes.map((n) => n.file).sort()).toEqual([...LISTED_NODES].sort());
	expect(check.credentials.map((c) => c.type).sort()).toEqual(check.staged.credentials.map((c) => c.name).sort());
});

test('the canvas shows one node of each type, each with its icon loaded', () => {
	expect(canvasNodes.map((n) => n.type).sort()).toEqual(check.nodes.map((n) => `CUSTOM.${n.name}`).sort());
	for (const report of reports) {
		expect({ node: report.name, icon: report.canvasIcon }).toEqual({
			node: report.name,
			icon: { src: expect.stringMatching(new RegExp(`^/icons/CUSTOM/.*/${report.iconFile}$`)), complete: true, naturalWidth: expect.any(Number) },
		});
		expect(report.canvasIcon?.naturalWidth).toBeGreaterThan(0);
	}
	expect(pngSize(canvas)).toEqual(VIEWPORT);
});

test.each(LISTED_NODES)('%s: its panel opens with its parameters and its icon', (file) => {
	const failure = check.staged.failures.find((f) => f.file === file);
	if (failure) throw new Error(`${file} does not load, so n8n cannot show it: ${failure.error}`);
	const report = reports.find((r) => r.file === file);
	if (!report) throw new Error(`${file} loaded but exported no node type`);

	// Every problem, named: panel not open, parameter missing, icon broken, type not served.
	expect(nodeProblems(report)).toEqual([]);
	expect(report.served).toBe(true);
	expect(report.panel?.title).toBe(report.nodeName);
	// The description gives the parameters to look for; none would make the check hollow.
	expect(report.expected.length).toBeGreaterThan(0);
	expect(report.panel?.labels).toEqual(expect.arrayContaining(report.expected.map((p) => p.displayName)));
	expect(report.panel?.inputs).toEqual(expect.arrayContaining(report.expected.filter((p) => p.input).map((p) => p.name)));
	expect(report.iconFile).toBeDefined();
	expect(report.panel?.icon?.src).toMatch(new RegExp(`/${report.iconFile}$`));
	expect(report.panel?.icon?.naturalWidth).toBeGreaterThan(0);
	expect(report.screenshot).toBe(join(SCREENSHOTS, `${report.name}.png`));
	expect(existsSync(report.screenshot ?? '')).toBe(true);
	expect(pngSize(report.screenshot ?? '')).toEqual(VIEWPORT);
});

test('negative controls: the checks fail on a missing parameter, a broken icon and a node that is not there', async () => {
	const { page } = check.browser;
	const good = reports.find((r) => nodeProblems(r).length === 0);
	if (!good) throw new Error('no node passed, so there is nothing to break');

	await openNodePanel(page, good.nodeName);
	try {
		// The icon URL swapped for one n8n does not serve: the same reading must see a broken image.
		await page.evaluate(() => {
			const img = (globalThis as unknown as { document: { querySelector(s: string): { setAttribute(n: string, v: string): void } | null } })
				.document.querySelector('[data-test-id="ndv"] header .n8n-node-icon img');
			img?.setAttribute('src', '/icons/CUSTOM/icons/no-such-icon.svg');
		});
		const panel = await readPanel(page);
		const broken: NodeReport = {
			...good,
			panel,
			expected: [...good.expected, { name: 'noSuchParameter', displayName: 'No Such Parameter', input: true }],
		};
		const problems = nodeProblems(broken);
		expect(problems).toEqual(
			expect.arrayContaining([
				expect.stringContaining('the panel has no label "No Such Parameter"'),
				expect.stringContaining('the panel has no input for parameter noSuchParameter'),
				expect.stringMatching(/broken icon in the panel header: \/icons\/CUSTOM\/icons\/no-such-icon\.svg did not load/),
			]),
		);
		expect(problems).toHaveLength(3);
	} finally {
		await closeNodePanel(page);
	}
	await expect(openNodePanel(page, 'No Such Node', 2_000)).rejects.toThrow('the parameter panel of "No Such Node" did not open');
});
