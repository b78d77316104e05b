import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

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
		const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
		const files = (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path);
		const outside = files.filter((f) => !f.startsWith('dist/') && !['README.md', 'LICENSE', 'package.json'].includes(f));
		expect(outside).toEqual([]);
		expect(files).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'package.json', pkg.main]));
		for (const file of [...pkg.n8n.nodes, ...pkg.n8n.credentials]) expect(files).toContain(file);
		expect(files.filter((f) => f.endsWith('.svg')).length).toBeGreaterThanOrEqual(6);
		expect(files.filter((f) => f.endsWith('.node.json')).length).toBe(pkg.n8n.nodes.length);
	});
});

describe('Whilter Batch options', () => {
	it('hides Callback URL while Wait for Completion Callback is on (the execution sends its own resume URL)', () => {
		const options = new WhilterBatch().description.properties.find((p) => p.name === 'options')?.options as Array<{ name: string; displayOptions?: unknown }>;
		expect(options.find((o) => o.name === 'callbackUrl')?.displayOptions).toEqual({ hide: { waitForCallback: [true] } });
	});
});
