import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

import type { Icon } from 'n8n-workflow';

import { credentialTypesIn, nodeTypesIn } from '../../e2e/package';
import { WhilterBatch } from '../../nodes/Whilter/WhilterBatch.node';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
	name: string;
	keywords: string[];
	license: string;
	main: string;
	peerDependencies: Record<string, string>;
	n8n: { nodes: string[]; credentials: string[] };
};

let packed: string[] | undefined;

/** The paths `npm pack` puts in the tarball (its dry run lists exactly those). */
function packedFiles(): string[] {
	if (!packed) {
		const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
		packed = (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path);
	}
	return packed;
}

/** The package paths of a type's `file:` icons (light and dark), relative to the built file that names them. */
function iconFiles(typeFile: string, icon: Icon | undefined): string[] {
	const icons = icon === undefined ? [] : typeof icon === 'string' ? [icon] : [icon.light, icon.dark];
	return icons.filter((i) => i.startsWith('file:')).map((i) => posix.join(posix.dirname(typeFile), i.slice('file:'.length)));
}

describe('package contract', () => {
	it('is a community node package with the public type names', () => {
		expect(pkg.name).toBe('n8n-nodes-whilter');
		expect(pkg.keywords).toContain('n8n-community-node-package');
		expect(pkg.license).toBe('MIT');
		expect(pkg.peerDependencies['n8n-workflow']).toBeDefined();
		expect(pkg.n8n.credentials.map((f) => f.replace(/^.*\/|\.credentials\.js$/g, ''))).toEqual(['WhilterApi', 'InsiderApi', 'TimePayApi', 'WhilterCallbackHeaderAuthApi', 'WhilterCallbackBasicAuthApi']);
		for (const file of [...pkg.n8n.nodes, ...pkg.n8n.credentials]) expect(file).toMatch(/^dist\/.+\.js$/);
	});

	it('packs dist/, README.md, LICENSE and package.json and nothing else', () => {
		const files = packedFiles();
		const outside = files.filter((f) => !f.startsWith('dist/') && !['README.md', 'LICENSE', 'package.json'].includes(f));
		expect(outside).toEqual([]);
		expect(files).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'package.json', pkg.main]));
		for (const file of [...pkg.n8n.nodes, ...pkg.n8n.credentials]) expect(files).toContain(file);
		expect(files.filter((f) => f.endsWith('.svg')).length).toBeGreaterThanOrEqual(6);
		expect(files.filter((f) => f.endsWith('.node.json')).length).toBe(pkg.n8n.nodes.length);
	});

	it("packs what the n8n section names: each node with its codex file, each node's and credential's icons", () => {
		const needed: string[] = [];
		const need = (file: string): void => {
			needed.push(file);
		};
		for (const file of pkg.n8n.nodes) {
			need(file);
			need(file.replace(/\.js$/, '.json'));
			for (const type of nodeTypesIn(file)) for (const icon of iconFiles(file, type.description.icon)) need(icon);
		}
		for (const file of pkg.n8n.credentials) {
			need(file);
			for (const type of credentialTypesIn(file)) for (const icon of iconFiles(file, type.icon)) need(icon);
		}
		// Every type here names a light and a dark icon.
		expect(needed.filter((f) => f.endsWith('.svg')).length).toBe(2 * (pkg.n8n.nodes.length + pkg.n8n.credentials.length));
		expect(needed.filter((f) => !packedFiles().includes(f))).toEqual([]);
	});

	it('ships no source maps or type declarations (n8n loads the .js; the maps would point at sources not shipped)', () => {
		expect(packedFiles().filter((f) => /\.(?:map|d\.ts)$/.test(f))).toEqual([]);
	});
});

describe('Whilter Batch options', () => {
	it('hides Callback URL while Wait for Completion Callback is on (the execution sends its own resume URL)', () => {
		const options = new WhilterBatch().description.properties.find((p) => p.name === 'options')?.options as Array<{ name: string; displayOptions?: unknown }>;
		expect(options.find((o) => o.name === 'callbackUrl')?.displayOptions).toEqual({ hide: { waitForCallback: [true] } });
	});
});
