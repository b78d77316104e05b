/**
 * The editor check: a real n8n editor in Debian's Chromium (driven by playwright-core, no browser
 * download) shows every node of the package. It stages the built package (only what package.json
 * lists), starts n8n with it, creates one credential of each of the package's types (dummy values on
 * 127.0.0.1), imports a workflow holding one node of each type, signs in, opens each node's parameter
 * panel, checks that the panel shows the node's parameters and that the node's icon loaded, and saves
 * screenshots. test/e2e/editor.test.ts asserts on the reports; scripts/screenshots.ts writes them
 * into docs/screenshots/.
 *
 * What it relies on in the editor (checked against n8n 2.41.1's): the editor marks elements with
 * `data-test-id` (canvas nodes carry `data-node-name`/`data-node-type`, the panel is
 * `<dialog data-test-id="ndv">`, each parameter `parameter-input-<name>` and a label `input-label`);
 * a double click on a canvas node opens its panel; custom-extension icons are
 * `<img src="/icons/CUSTOM/...">`.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';

import { NodeHelpers } from 'n8n-workflow';
import type {
	ICredentialType,
	INode,
	INodeCredentials,
	INodeParameters,
	INodeProperties,
	INodeTypeDescription,
} from 'n8n-workflow';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';

import { REPO_ROOT, startN8n } from './n8n';
import type { N8nHandle, StoredCredential } from './n8n';
import { atDefaultVersion, credentialTypesIn, DIST_DIR, nodeTypesIn, packageJson } from './package';
import type { PackageNode } from './package';

export type { PackageNode } from './package';

// ---------------------------------------------------------------------------------------------
// The browser

/** Debian's Chromium (scripts/ensure-chromium.sh installs it); CHROMIUM_PATH points elsewhere. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Headless on a machine with a closed network: without the background-networking flags Chromium
 * keeps trying Google's hosts. Playwright adds `--headless` and its own automation flags.
 */
export const CHROMIUM_ARGS = [
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
	// Debian's wrapper adds it only when /dev/shm is small; a crash mid-screenshot is worse than /tmp.
	'--disable-dev-shm-usage',
];

export const VIEWPORT = { width: 1440, height: 900 };

export interface EditorBrowser {
	context: BrowserContext;
	page: Page;
	/** Console errors and page errors so far (for failure messages). */
	errors(): string[];
	close(): Promise<void>;
}

/** Headless Chromium with a fresh user-data-dir (removed on close) and one 1440×900 page. */
export async function launchBrowser(): Promise<EditorBrowser> {
	if (!existsSync(CHROMIUM_PATH)) {
		throw new Error(`${CHROMIUM_PATH} is missing: run scripts/ensure-chromium.sh (apt-get install chromium) first`);
	}
	const userDataDir = mkdtempSync(join(tmpdir(), 'whilter-chromium-'));
	let context: BrowserContext;
	try {
		context = await chromium.launchPersistentContext(userDataDir, {
			executablePath: CHROMIUM_PATH,
			headless: true,
			args: CHROMIUM_ARGS,
			viewport: VIEWPORT,
			deviceScaleFactor: 1,
			colorScheme: 'light',
			locale: 'en-US',
			timezoneId: 'UTC',
			timeout: 60_000,
		});
	} catch (error) {
		rmSync(userDataDir, { recursive: true, force: true });
		throw error;
	}
	// tsx (esbuild with keepNames) wraps named functions in `__name(...)`; the in-page functions
	// below are serialised from such code, so the page needs the helper too.
	await context.addInitScript({ content: 'globalThis.__name = globalThis.__name || ((fn) => fn);' });
	const page = context.pages()[0] ?? (await context.newPage());
	const errors: string[] = [];
	page.on('console', (message) => {
		if (message.type() === 'error') errors.push(`console: ${message.text().slice(0, 300)}`);
	});
	page.on('pageerror', (error) => errors.push(`page error: ${error.message.slice(0, 300)}`));
	return {
		context,
		page,
		errors: () => [...errors],
		async close() {
			await context.close().catch(() => undefined);
			rmSync(userDataDir, { recursive: true, force: true });
		},
	};
}

const tid = (id: string): string => `[data-test-id="${id}"]`;

/**
 * The little of the DOM the in-page functions use. The project compiles without the DOM library
 * (it would clash with Node's types elsewhere), so they reach it through `globalThis` as this.
 */
interface DomElement {
	textContent: string | null;
	getBoundingClientRect(): { width: number; height: number };
	getAttribute(name: string): string | null;
	closest(selector: string): DomElement | null;
	querySelector(selector: string): DomElement | null;
	querySelectorAll(selector: string): ArrayLike<DomElement>;
	click(): void;
	/** On images. */
	complete?: boolean;
	naturalWidth?: number;
}

interface BrowserGlobals {
	document: { querySelector(selector: string): DomElement | null; querySelectorAll(selector: string): ArrayLike<DomElement> };
	getComputedStyle(element: DomElement): { visibility: string; display: string };
}

const canvasNode = (name: string): string => `${tid('canvas-node')}[data-node-name=${JSON.stringify(name)}]`;

/**
 * Opens a workflow in the editor, signing in on the way: the editor sends an unknown session to
 * /signin?redirect=… and back after the sign-in, so the app loads once. Returns the popups it closed.
 */
export async function openWorkflow(
	page: Page,
	n8nUrl: string,
	owner: { email: string; password: string },
	workflowId: string,
): Promise<string[]> {
	await page.goto(`${n8nUrl}/workflow/${workflowId}`, { waitUntil: 'commit' });
	const email = page.locator('input[name="emailOrLdapLoginId"]');
	const firstNode = page.locator(tid('canvas-node')).first();
	await Promise.race([email.waitFor({ timeout: 60_000 }), firstNode.waitFor({ timeout: 60_000 })]);
	if (await email.isVisible()) {
		await email.fill(owner.email);
		await page.locator('input[name="password"]').fill(owner.password);
		await page.locator(tid('form-submit-button')).click();
		await page.waitForURL((url) => !url.pathname.startsWith('/signin'), { timeout: 30_000, waitUntil: 'commit' });
		if (!page.url().includes(`/workflow/${workflowId}`)) {
			await page.goto(`${n8nUrl}/workflow/${workflowId}`, { waitUntil: 'commit' });
		}
	}
	await firstNode.waitFor({ timeout: 60_000 });
	return await dismissPopups(page);
}

/**
 * Closes whatever floats over the editor: modal dialogs (n8n 2.41 may show a "Production Checklist"
 * or a survey) and toasts. The node panel (`<dialog data-test-id="ndv">`) is left alone.
 * Returns what it closed.
 */
export async function dismissPopups(page: Page): Promise<string[]> {
	const closed: string[] = [];
	for (let round = 0; round < 5; round++) {
		const found = await page.evaluate(() => {
			const w = globalThis as unknown as BrowserGlobals;
			const visible = (el: DomElement): boolean => {
				const box = el.getBoundingClientRect();
				const style = w.getComputedStyle(el);
				return box.width > 0 && box.height > 0 && style.visibility !== 'hidden' && style.display !== 'none';
			};
			const popups = Array.from(
				w.document.querySelectorAll('.el-dialog, [role="dialog"], [role="alertdialog"], .el-notification, .el-message'),
			).filter((el) => visible(el) && !el.closest('[data-test-id="ndv"]'));
			const popup = popups[0];
			if (!popup) return undefined;
			const title = (popup.querySelector('.el-dialog__title, [class*="title"], h1, h2, h3')?.textContent ?? popup.textContent ?? '')
				.trim()
				.slice(0, 80);
			const close = popup.querySelector(
				'.el-dialog__headerbtn, .el-notification__closeBtn, .el-message__closeBtn, [aria-label="Close"], [aria-label="close"], [data-test-id*="close"]',
			);
			if (close) {
				close.click();
				return { title, how: 'close button' };
			}
			return { title, how: 'Escape' };
		});
		if (!found) break;
		if (found.how === 'Escape') await page.keyboard.press('Escape');
		closed.push(`${found.title} (${found.how})`);
		await page.waitForTimeout(300);
	}
	return closed;
}

/** Double-clicks the node on the canvas and waits for its parameter panel. */
export async function openNodePanel(page: Page, nodeName: string, timeoutMs = 15_000): Promise<void> {
	const panelTitle = page.locator(`${tid('ndv')} ${tid('inline-edit-preview')}`);
	for (let attempt = 1; ; attempt++) {
		try {
			await page.locator(canvasNode(nodeName)).dblclick({ timeout: timeoutMs });
			await page.locator(tid('ndv')).waitFor({ state: 'visible', timeout: timeoutMs });
			await page.locator(`${tid('ndv')} ${tid('node-parameters')}`).waitFor({ state: 'visible', timeout: timeoutMs });
			const title = (await panelTitle.first().textContent({ timeout: timeoutMs }))?.trim();
			if (title !== nodeName) throw new Error(`the panel that opened is "${title}", not "${nodeName}"`);
			return;
		} catch (error) {
			// A popup that appeared late can swallow the double click: close it and try once more.
			if (attempt >= 2 || (await dismissPopups(page)).length === 0) {
				throw new Error(`the parameter panel of "${nodeName}" did not open: ${(error as Error).message.split('\n')[0]}`);
			}
		}
	}
}

/** Closes the node panel (Escape, as a user would) and waits until it is gone. */
export async function closeNodePanel(page: Page): Promise<void> {
	const panel = page.locator(tid('ndv'));
	if (!(await panel.isVisible())) return;
	await page.keyboard.press('Escape');
	try {
		await panel.waitFor({ state: 'hidden', timeout: 5_000 });
	} catch {
		await page.locator(`${tid('ndv')} [data-test-id="ndv-close-button"], ${tid('ndv')} header button:last-of-type`).first().click();
		await panel.waitFor({ state: 'hidden', timeout: 5_000 });
	}
}

export interface IconState {
	src: string;
	/** The image finished loading (or failed: then naturalWidth is 0). */
	complete: boolean;
	naturalWidth: number;
}

export interface PanelContent {
	/** The node name in the panel header. */
	title: string;
	/** Texts of the parameter labels on the Parameters tab. */
	labels: string[];
	/** Parameter names that have an input (`parameter-input-<name>`) on the Parameters tab. */
	inputs: string[];
	/** The icon in the panel header (undefined: no image, e.g. a fallback letter). */
	icon?: IconState;
}

/** Waits (up to timeoutMs) until every image matched by the selector has finished loading or failing. */
async function imagesSettled(page: Page, selector: string, timeoutMs = 5_000): Promise<void> {
	await page
		.waitForFunction(
			(sel) => Array.from((globalThis as unknown as BrowserGlobals).document.querySelectorAll(sel)).every((img) => img.complete),
			selector,
			{ timeout: timeoutMs },
		)
		.catch(() => undefined); // judged by the caller: complete=false is reported
}

/** What the open node panel shows. */
export async function readPanel(page: Page): Promise<PanelContent> {
	const headerImg = `${tid('ndv')} header .n8n-node-icon img`;
	await imagesSettled(page, headerImg);
	return await page.evaluate(() => {
		const w = globalThis as unknown as BrowserGlobals;
		const ndv = w.document.querySelector('[data-test-id="ndv"]');
		if (!ndv) throw new Error('no node panel is open');
		const params = ndv.querySelector('[data-test-id="node-parameters"]');
		const shown = (el: DomElement): boolean => {
			const box = el.getBoundingClientRect();
			return box.width > 0 && box.height > 0 && w.getComputedStyle(el).visibility !== 'hidden';
		};
		// A label holds the name plus icons and hint text in child elements: the title element is the name.
		const labelText = (el: DomElement): string => {
			const titleEl = el.querySelector('[class*="title"]') ?? el;
			return (titleEl.textContent ?? '').replace(/\s+/g, ' ').replace(/\*\s*$/, '').trim();
		};
		const labels = params
			? Array.from(params.querySelectorAll('[data-test-id="input-label"], [data-test-id="credentials-label"]'))
					.filter(shown)
					.map(labelText)
			: [];
		const inputs = params
			? Array.from(params.querySelectorAll('[data-test-id^="parameter-input-"]'))
					.filter(shown)
					.map((el) => (el.getAttribute('data-test-id') ?? '').slice('parameter-input-'.length))
					.filter((name) => name !== 'field' && name !== 'item')
			: [];
		const img = ndv.querySelector('header .n8n-node-icon img');
		const title = (ndv.querySelector('[data-test-id="inline-edit-preview"]')?.textContent ?? '').trim();
		return {
			title,
			labels,
			inputs,
			icon: img ? { src: img.getAttribute('src') ?? '', complete: img.complete === true, naturalWidth: img.naturalWidth ?? 0 } : undefined,
		};
	});
}

/** The icon of a node on the canvas (undefined when the node shows no image). */
export async function readCanvasIcon(page: Page, nodeName: string): Promise<IconState | undefined> {
	const selector = `${canvasNode(nodeName)} img`;
	await imagesSettled(page, selector);
	return await page.evaluate((sel) => {
		const img = (globalThis as unknown as BrowserGlobals).document.querySelector(sel);
		return img ? { src: img.getAttribute('src') ?? '', complete: img.complete === true, naturalWidth: img.naturalWidth ?? 0 } : undefined;
	}, selector);
}

/** The names of the nodes on the canvas with their types. */
export async function readCanvasNodes(page: Page): Promise<Array<{ name: string; type: string }>> {
	return await page.locator(tid('canvas-node')).evaluateAll((els) =>
		els.map((el) => ({ name: el.getAttribute('data-node-name') ?? '', type: el.getAttribute('data-node-type') ?? '' })),
	);
}

/** A viewport screenshot without hover effects or animations. */
export async function screenshot(page: Page, path: string): Promise<void> {
	await page.mouse.move(VIEWPORT.width - 5, VIEWPORT.height - 5);
	await page.screenshot({ path, animations: 'disabled', caret: 'hide' });
}

// ---------------------------------------------------------------------------------------------
// The package as the editor check sees it

export interface LoadFailure {
	file: string;
	error: string;
}

export interface StagedPackage {
	/** A copy of dist/ holding only what package.json lists (N8N_CUSTOM_EXTENSIONS points here). */
	dir: string;
	nodes: PackageNode[];
	credentials: ICredentialType[];
	/** Listed files that are missing or throw when loaded (left out of the copy so n8n still starts). */
	failures: LoadFailure[];
	remove(): void;
}

/**
 * Copies dist/ into `.tmp/` (inside the repository, so the copy still resolves the package's
 * node_modules) without the `*.node.js` / `*.credentials.js` files package.json does not list
 * (half-finished nodes of other work in progress) and without listed files that fail to load, and
 * loads the listed types from the copy. A rebuild of dist/ during the check cannot pull files from
 * under n8n.
 */
export function stagePackage(): StagedPackage {
	if (!existsSync(DIST_DIR)) throw new Error(`${DIST_DIR} is missing: run npm run build`);
	const section = packageJson().n8n;
	const parent = join(REPO_ROOT, '.tmp');
	mkdirSync(parent, { recursive: true });
	const dir = mkdtempSync(join(parent, 'editor-extensions-'));
	const failures: LoadFailure[] = [];
	const nodes: PackageNode[] = [];
	const credentials: ICredentialType[] = [];
	const listed = new Set([...section.nodes, ...section.credentials].map((file) => relative('dist', file)));
	const typeFile = /\.(node|credentials)\.js$/;
	cpSync(DIST_DIR, dir, {
		recursive: true,
		filter: (source) => !typeFile.test(source) || listed.has(relative(DIST_DIR, source)),
	});
	// A listed file that is missing or fails to load is left out of the copy, so n8n still starts.
	const load = <T>(file: string, discover: (staged: string) => T[]): T[] => {
		const staged = join(dir, relative('dist', file));
		try {
			if (!existsSync(staged)) throw new Error('not in dist/ (not built?)');
			const found = discover(staged);
			if (found.length === 0) throw new Error('exports no node or credential class');
			return found;
		} catch (error) {
			failures.push({ file, error: (error as Error).message.split('\n')[0] });
			rmSync(staged, { force: true });
			return [];
		}
	};
	for (const file of section.credentials) credentials.push(...load(file, credentialTypesIn));
	for (const file of section.nodes) nodes.push(...load(file, (staged) => nodeTypesIn(staged).map((type) => atDefaultVersion(file, type))));
	return { dir, nodes, credentials, failures, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const LOCAL_URL = 'http://127.0.0.1:9';

/**
 * Dummy values for every field of a credential type, so the editor shows a complete credential:
 * URLs point at 127.0.0.1 (keeping their path), options and booleans keep their defaults.
 */
export function dummyCredentialData(type: ICredentialType): Record<string, unknown> {
	const data: Record<string, unknown> = {};
	for (const property of type.properties) {
		if (property.type === 'notice' || property.type === 'hidden' || property.typeOptions?.expirable) continue;
		const fallback = property.default as unknown;
		if (property.type === 'string') {
			const text = typeof fallback === 'string' ? fallback : '';
			if (/url|endpoint/i.test(property.name)) {
				data[property.name] = /^https?:\/\//.test(text) ? `${LOCAL_URL}${new URL(text).pathname.replace(/\/$/, '')}` : LOCAL_URL;
			} else {
				data[property.name] = text !== '' && !text.startsWith('=') ? text : `e2e-${property.name}`;
			}
		} else if (fallback !== undefined && fallback !== null && fallback !== '') {
			data[property.name] = fallback;
		}
	}
	return data;
}

interface ExampleWorkflow {
	nodes?: Array<{ type?: string; parameters?: INodeParameters }>;
}

/**
 * Realistic parameters for the screenshots: the node's parameters in the first workflow of
 * examples/ that uses it; otherwise each required text field empty by default gets its placeholder
 * (or `example-<label>`).
 */
export function exampleParameters(node: PackageNode): INodeParameters {
	const examplesDir = join(REPO_ROOT, 'examples');
	const files = existsSync(examplesDir) ? readdirSync(examplesDir).filter((f) => f.endsWith('.json')).sort() : [];
	for (const file of files) {
		try {
			const workflow = JSON.parse(readFileSync(join(examplesDir, file), 'utf8')) as ExampleWorkflow;
			const found = (workflow.nodes ?? []).find((n) => n.type?.split('.').pop() === node.name);
			if (found?.parameters) return structuredClone(found.parameters);
		} catch {
			// not a workflow
		}
	}
	// Without an example: required text fields get a value, so the panel shows no "required" warnings.
	const parameters: INodeParameters = {};
	const example = (property: INodeProperties): string =>
		property.placeholder
			? property.placeholder.replace(/^e\.g\.\s*/i, '')
			: `example-${property.displayName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}`;
	for (const property of node.description.properties) {
		if (!property.required) continue;
		if (property.type === 'string' && property.default === '') parameters[property.name] = example(property);
		if (property.type === 'resourceLocator') {
			// A typed-in ID rather than "From list": a list would ask the (dummy) vendor when opened.
			const mode = property.modes?.find((m) => m.type !== 'list');
			if (mode) parameters[property.name] = { __rl: true, mode: mode.name, value: example({ ...property, placeholder: mode.placeholder }) };
		}
	}
	return parameters;
}

/** Types whose panel row has an input `parameter-input-<name>` (collections only have a label). */
const HAS_INPUT = new Set(['string', 'number', 'boolean', 'options', 'multiOptions', 'dateTime', 'color', 'json', 'resourceLocator']);
/** Types with no label of their own. */
const NO_LABEL = new Set(['notice', 'hidden', 'callout', 'button']);

export interface ExpectedParameter {
	name: string;
	displayName: string;
	/** Whether the row has an input named after the parameter (not for collections). */
	input: boolean;
}

/**
 * The parameters the panel must show: every top-level property of the node that n8n displays for
 * these parameter values (n8n-workflow's own displayOptions logic), except notices and hidden fields.
 */
export function expectedParameters(node: PackageNode, parameters: INodeParameters): ExpectedParameter[] {
	const { description, version } = node;
	const nodeRef: Pick<INode, 'typeVersion'> = { typeVersion: version };
	const values =
		NodeHelpers.getNodeParameters(description.properties, parameters, true, false, nodeRef, description) ?? parameters;
	return description.properties
		.filter((property: INodeProperties) => !NO_LABEL.has(property.type))
		.filter((property) => NodeHelpers.displayParameter(values, property, nodeRef, description, values))
		.map((property) => ({ name: property.name, displayName: property.displayName, input: HAS_INPUT.has(property.type) }));
}

/** The file name of the node's (light) icon, as the editor's `/icons/CUSTOM/...` URL ends. */
export function expectedIconFile(description: INodeTypeDescription): string | undefined {
	const icon = description.icon;
	const value = typeof icon === 'string' ? icon : icon && typeof icon === 'object' && 'light' in icon ? icon.light : undefined;
	return typeof value === 'string' && value.startsWith('file:') ? basename(value.slice('file:'.length)) : undefined;
}

// ---------------------------------------------------------------------------------------------
// The check

export interface NodeReport {
	file: string;
	/** Type name (`whilterBatch`); the screenshot is `<name>.png`. */
	name: string;
	type: string;
	/** The node's name on the canvas (its display name). */
	nodeName: string;
	/** n8n lists the type in /types/nodes.json. */
	served: boolean;
	expected: ExpectedParameter[];
	panel?: PanelContent;
	canvasIcon?: IconState;
	iconFile?: string;
	screenshot?: string;
	/** Why the panel could not be read (it did not open, …). */
	error?: string;
	ms: number;
}

/** Everything wrong with one node's panel, as sentences (empty: all good). */
export function nodeProblems(report: NodeReport): string[] {
	const problems: string[] = [];
	const what = `${report.nodeName} (${report.type}, ${report.file})`;
	if (!report.served) problems.push(`${what}: n8n does not serve this node type (it failed to load: see n8n's log)`);
	if (report.error) problems.push(`${what}: ${report.error}`);
	if (report.expected.length === 0) problems.push(`${what}: no parameters expected: the description has no visible property`);
	const iconOk = (icon: IconState | undefined, where: string): void => {
		if (!icon) problems.push(`${what}: no icon image ${where} (a placeholder instead of ${report.iconFile ?? 'an icon file'})`);
		else if (!icon.complete || icon.naturalWidth === 0) problems.push(`${what}: broken icon ${where}: ${icon.src} did not load`);
		else if (report.iconFile && !icon.src.endsWith(`/${report.iconFile}`)) {
			problems.push(`${what}: the icon ${where} is ${icon.src}, not ${report.iconFile}`);
		}
	};
	iconOk(report.canvasIcon, 'on the canvas');
	if (!report.panel) return problems;
	if (report.panel.title !== report.nodeName) problems.push(`${what}: the panel shows "${report.panel.title}"`);
	for (const parameter of report.expected) {
		if (!report.panel.labels.includes(parameter.displayName)) {
			problems.push(`${what}: the panel has no label "${parameter.displayName}" (parameter ${parameter.name})`);
		}
		if (parameter.input && !report.panel.inputs.includes(parameter.name)) {
			problems.push(`${what}: the panel has no input for parameter ${parameter.name} ("${parameter.displayName}")`);
		}
	}
	iconOk(report.panel.icon, 'in the panel header');
	return problems;
}

export interface EditorCheckOptions {
	/** Where the PNGs go (created if needed). */
	screenshotsDir: string;
	/** Progress lines (default: none). */
	log?: (line: string) => void;
}

export interface EditorCheck {
	n8n: N8nHandle;
	browser: EditorBrowser;
	staged: StagedPackage;
	workflowId: string;
	credentials: StoredCredential[];
	/** One per listed node that loaded (load failures are in staged.failures). */
	nodes: PackageNode[];
	/** Opens, reads, screenshots and closes one node's panel; never throws (errors go in the report). */
	checkNode(node: PackageNode, options?: { screenshot?: boolean }): Promise<NodeReport>;
	/** Every node in turn, then the canvas screenshot. */
	checkAll(): Promise<{ reports: NodeReport[]; canvas: string; canvasNodes: Array<{ name: string; type: string }> }>;
	close(): Promise<void>;
}

/** One workflow holding every node of the package, each with its example parameters and a credential of each type it shows. */
function editorCheckNodes(nodes: PackageNode[], credentials: StoredCredential[]): INode[] {
	const usedNames = new Set<string>();
	return nodes.map((node, index) => {
		const parameters = exampleParameters(node);
		const nodeCredentials: INodeCredentials = {};
		for (const wanted of node.description.credentials ?? []) {
			const stored = credentials.find((c) => c.type === wanted.name);
			if (stored && NodeHelpers.displayParameter(parameters, wanted, { typeVersion: node.version }, node.description)) {
				nodeCredentials[wanted.name] = { id: stored.id, name: stored.name };
			}
		}
		// Node names are unique in a workflow; two types with one default name get a number.
		let name = node.description.defaults.name ?? node.description.displayName;
		if (usedNames.has(name)) name = `${name} ${index + 1}`;
		usedNames.add(name);
		return {
			id: `editor-check-${index}`,
			name,
			type: `CUSTOM.${node.name}`,
			typeVersion: node.version,
			// Three to a row, so the canvas screenshot stays readable as nodes are added.
			position: [(index % 3) * 300, Math.floor(index / 3) * 220],
			parameters,
			...(Object.keys(nodeCredentials).length > 0 ? { credentials: nodeCredentials } : {}),
		};
	});
}

interface NodeCheckContext {
	page: EditorBrowser['page'];
	browser: EditorBrowser;
	nodes: PackageNode[];
	workflowNodes: INode[];
	storedNodes: INode[];
	servedTypes: Set<string>;
	screenshotsDir: string;
	log: (line: string) => void;
}

/** Opens one node's panel and reads what it shows; a failure is reported with a screenshot of what the page showed instead. */
function nodeChecker(ctx: NodeCheckContext): EditorCheck['checkNode'] {
	const { page } = ctx;
	return async (node: PackageNode, opts: { screenshot?: boolean } = {}): Promise<NodeReport> => {
		const nodeStarted = Date.now();
		const index = ctx.nodes.indexOf(node);
		const stored = ctx.storedNodes.find((n) => n.id === `editor-check-${index}`) ?? ctx.workflowNodes[index];
		const report: NodeReport = {
			file: node.file,
			name: node.name,
			type: stored.type,
			nodeName: stored.name,
			served: ctx.servedTypes.has(stored.type),
			expected: expectedParameters(node, stored.parameters),
			iconFile: expectedIconFile(node.description),
			ms: 0,
		};
		try {
			for (const popup of await dismissPopups(page)) ctx.log(`[editor] closed a popup: ${popup}`);
			report.canvasIcon = await readCanvasIcon(page, stored.name);
			await openNodePanel(page, stored.name);
			report.panel = await readPanel(page);
			if (opts.screenshot !== false) {
				report.screenshot = join(ctx.screenshotsDir, `${node.name}.png`);
				await screenshot(page, report.screenshot);
			}
		} catch (error) {
			report.error = (error as Error).message.split('\n')[0];
			const recent = ctx.browser.errors().slice(-3);
			if (recent.length > 0) report.error += ` (browser: ${recent.join(' | ')})`;
			report.screenshot = join(ctx.screenshotsDir, `${node.name}.failed.png`);
			await screenshot(page, report.screenshot).catch(() => undefined);
		} finally {
			await closeNodePanel(page).catch(() => undefined);
		}
		report.ms = Date.now() - nodeStarted;
		return report;
	};
}

/** Every node in turn, then the whole canvas, fitted, as one screenshot. */
function allNodesChecker(ctx: NodeCheckContext, checkNode: EditorCheck['checkNode'], lap: (what: string) => void): EditorCheck['checkAll'] {
	const { page } = ctx;
	return async () => {
		const reports: NodeReport[] = [];
		for (const node of ctx.nodes) {
			const report = await checkNode(node);
			const problems = nodeProblems(report);
			lap(`${node.name}: ${problems.length === 0 ? 'ok' : problems.join('; ')} (${report.ms} ms)`);
			reports.push(report);
		}
		await closeNodePanel(page).catch(() => undefined);
		await dismissPopups(page);
		// Deselect the last node opened (a click on an empty corner of the canvas), then fit all nodes.
		await page.locator('.vue-flow__pane').click({ position: { x: 10, y: 10 } }).catch(() => undefined);
		await page.locator(tid('zoom-to-fit')).click().catch(() => undefined);
		await page.waitForTimeout(500);
		const canvas = join(ctx.screenshotsDir, 'canvas.png');
		await screenshot(page, canvas);
		const canvasNodes = await readCanvasNodes(page);
		lap('canvas screenshot');
		return { reports, canvas, canvasNodes };
	};
}

/**
 * Stages the package, starts n8n with it, creates the credentials and the workflow, signs in and
 * opens the workflow. Close it (afterAll / finally).
 */
export async function startEditorCheck(options: EditorCheckOptions): Promise<EditorCheck> {
	const log = options.log ?? ((): void => undefined);
	const started = Date.now();
	const lap = (what: string): void => log(`[editor] ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
	mkdirSync(options.screenshotsDir, { recursive: true });

	const staged = stagePackage();
	for (const failure of staged.failures) log(`[editor] NOT LOADED ${failure.file}: ${failure.error}`);
	let n8n: N8nHandle | undefined;
	let browser: EditorBrowser | undefined;
	try {
		n8n = await startN8n({ extensionsDir: staged.dir });
		lap(`n8n ready at ${n8n.url}`);
		const handle = n8n;
		const credentials: StoredCredential[] = [];
		for (const type of staged.credentials) {
			credentials.push(await handle.createCredential(`${type.displayName} (e2e)`, type.name, dummyCredentialData(type)));
		}
		const servedTypes = new Set(((await handle.raw('GET', '/types/nodes.json')).body as Array<{ name: string }>).map((t) => t.name));
		const nodes = staged.nodes;
		const workflowNodes = editorCheckNodes(nodes, credentials);
		const workflow = await handle.importWorkflow({ name: 'Editor check', nodes: workflowNodes, connections: {} });

		browser = await launchBrowser();
		const popups = await openWorkflow(browser.page, handle.url, handle.owner, workflow.id);
		lap('signed in, workflow open');
		for (const popup of popups) log(`[editor] closed a popup: ${popup}`);

		const ctx: NodeCheckContext = {
			page: browser.page,
			browser,
			nodes,
			workflowNodes,
			storedNodes: workflow.nodes,
			servedTypes,
			screenshotsDir: options.screenshotsDir,
			log,
		};
		const checkNode = nodeChecker(ctx);
		const opened = browser;
		return {
			n8n: handle,
			browser: opened,
			staged,
			workflowId: workflow.id,
			credentials,
			nodes,
			checkNode,
			checkAll: allNodesChecker(ctx, checkNode, lap),
			async close() {
				await opened.close();
				await handle.stop();
				staged.remove();
			},
		};
	} catch (error) {
		await browser?.close();
		await n8n?.stop();
		staged.remove();
		throw error;
	}
}
