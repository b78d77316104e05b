/**
 * A real n8n (the pinned version, e2e/n8n-<major.minor>) loads the built package from
 * N8N_CUSTOM_EXTENSIONS=dist/: every credential and node that package.json's `n8n` section lists is
 * served to the editor (`/types/*.json`, as the editor fetches them), with icons that resolve, and
 * n8n's log has no error about the package.
 */
import { basename } from 'node:path';

import type { INodeProperties, INodeTypeDescription } from 'n8n-workflow';

import { startN8n } from '../../e2e/n8n';
import type { N8nHandle } from '../../e2e/n8n';
import { builtCredentials, builtNodes, DIST_DIR, ensurePackageBuilt, packageJson } from '../../e2e/package';
import type { BuiltCredential, BuiltNode } from '../../e2e/package';

jest.setTimeout(120_000);

type IconUrl = string | { light: string; dark: string };

interface ServedNode {
	name: string;
	displayName: string;
	version: number | number[];
	iconUrl?: IconUrl;
	credentials?: Array<{ name: string }>;
}

interface ServedCredential {
	name: string;
	displayName: string;
	iconUrl?: IconUrl;
	properties: INodeProperties[];
}

let n8n: N8nHandle;
let nodes: BuiltNode[];
let credentials: BuiltCredential[];
let servedNodes: ServedNode[];
let servedCredentials: ServedCredential[];

beforeAll(async () => {
	const build = await ensurePackageBuilt();
	if (build.built) process.stderr.write(`[n8n-e2e] built the package in ${build.ms} ms (${build.reason})\n`);
	nodes = builtNodes();
	credentials = builtCredentials();
	n8n = await startN8n({ extensionsDir: DIST_DIR });
	process.stderr.write(`[n8n-e2e] n8n ready in ${n8n.startupMs} ms at ${n8n.url}\n`);
	// What the editor loads at start (with the session cookie).
	servedNodes = (await n8n.raw('GET', '/types/nodes.json')).body as ServedNode[];
	servedCredentials = (await n8n.raw('GET', '/types/credentials.json')).body as ServedCredential[];
}, 600_000);

afterAll(async () => {
	await n8n?.stop();
});

function urls(iconUrl: IconUrl | undefined): string[] {
	if (!iconUrl) return [];
	return typeof iconUrl === 'string' ? [iconUrl] : [iconUrl.light, iconUrl.dark];
}

test('the built files export every node and credential package.json lists', () => {
	const section = packageJson().n8n;
	expect(new Set(nodes.map((n) => n.file))).toEqual(new Set(section.nodes));
	expect(new Set(credentials.map((c) => c.file))).toEqual(new Set(section.credentials));
	expect(credentials.map((c) => c.name).sort()).toEqual(expect.arrayContaining(['insiderApi', 'timePayApi', 'whilterApi']));
});

test('n8n serves every credential type of the package, with its fields', () => {
	expect(Array.isArray(servedCredentials)).toBe(true);
	for (const credential of credentials) {
		const served = servedCredentials.find((c) => c.name === credential.name);
		expect(served).toBeDefined();
		expect(served?.displayName).toBe(credential.type.displayName);
		// n8n appends fields of its own (allowedHttpRequestDomains, allowedDomains in 2.41).
		const ours = credential.type.properties.map((p) => p.name);
		expect(served?.properties.map((p) => p.name).filter((name) => ours.includes(name))).toEqual(ours);
	}
});

test('n8n serves every node of the package as CUSTOM.<name>, with its versions and credentials', () => {
	expect(Array.isArray(servedNodes)).toBe(true);
	for (const node of nodes) {
		const description: INodeTypeDescription = node.description;
		const served = servedNodes.filter((n) => n.name === `CUSTOM.${node.name}`);
		expect(served.map((n) => n.name)).toContain(`CUSTOM.${node.name}`);
		const versions = served.flatMap((n) => (Array.isArray(n.version) ? n.version : [n.version]));
		const wanted = Array.isArray(description.version) ? description.version : [description.version];
		expect(versions).toEqual(expect.arrayContaining(wanted));
		for (const servedVersion of served) {
			expect(servedVersion.displayName).toBe(description.displayName);
			expect((servedVersion.credentials ?? []).map((c) => c.name)).toEqual((description.credentials ?? []).map((c) => c.name));
		}
		// A node usable as an AI tool gets a generated "<name>Tool" twin.
		if (description.usableAsTool) {
			expect(servedNodes.map((n) => n.name)).toContain(`CUSTOM.${node.name}Tool`);
		}
	}
});

test('every icon of the package resolves to an SVG (no broken image in the editor)', async () => {
	const ours = [
		...servedNodes.filter((n) => nodes.some((b) => n.name === `CUSTOM.${b.name}` || n.name === `CUSTOM.${b.name}Tool`)),
		...servedCredentials.filter((c) => credentials.some((b) => b.name === c.name)),
	];
	expect(ours.length).toBeGreaterThanOrEqual(nodes.length + credentials.length);
	const checked: string[] = [];
	for (const type of ours) {
		// A `fa:` icon or none at all gives no iconUrl: the editor then shows a placeholder.
		expect({ type: type.name, iconUrl: type.iconUrl }).toEqual({ type: type.name, iconUrl: expect.anything() });
		for (const url of urls(type.iconUrl)) {
			const res = await n8n.raw('GET', `/${url}`);
			expect({ url, status: res.status }).toEqual({ url, status: 200 });
			expect(String(res.headers['content-type'])).toMatch(/^image\/svg\+xml/);
			expect(res.text).toMatch(/<svg[\s>]/);
			checked.push(url);
		}
	}
	expect(checked.length).toBeGreaterThanOrEqual(2 * (nodes.length + credentials.length));
});

test("n8n's log has no error or warning about the package", () => {
	const log = n8n.log();
	expect(log).toContain('Editor is now accessible');
	const ours = [
		DIST_DIR,
		packageJson().name,
		'CUSTOM.',
		...nodes.map((n) => basename(n.file)),
		...credentials.map((c) => basename(c.file)),
		...nodes.map((n) => n.name),
		...credentials.map((c) => c.name),
	];
	const suspicious = log
		.split('\n')
		.filter((line) => ours.some((word) => line.includes(word)) || /custom|extension|community/i.test(line))
		.filter((line) => /error|warn|fail|could not|cannot|unable|invalid|deprecat/i.test(line));
	expect(suspicious).toEqual([]);
	// Loader failures that would not name the file.
	expect(log).not.toMatch(/Cannot find module|Error loading|Failed to load|Could not load|is not a constructor/i);
});
