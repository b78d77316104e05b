/**
 * The install most users make: Settings → Community Nodes → Install, from a registry. A local
 * registry (verdaccio, e2e/registry.ts) holds the package as `npm publish` ships it; a fresh n8n
 * 2.41 in its normal mode installs it through the dialog's own call, runs example (1) with it,
 * reports and applies an update (0.1.1-test), runs example (1) again, and uninstalls it.
 *
 * n8n keeps its default registry setting: 2.41 accepts another one only with a licence feature
 * (feat:communityNodes:customRegistry). An `npm` first on n8n's PATH rewrites the `--registry`
 * argument n8n passes to the local registry instead, and `npm_config_registry` in n8n's environment
 * points the one call without that argument (`npm outdated`, behind `updateAvailable`) there too.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IDataObject } from 'n8n-workflow';

import { createSandboxCredentials, nodeOutput, PACKAGE_PREFIX, readExample } from '../../e2e/examples';
import { startN8n, REPO_ROOT } from '../../e2e/n8n';
import type { Execution, N8nHandle } from '../../e2e/n8n';
import { node24Env } from '../../e2e/n8n/runtime';
import { builtNodes, packageJson } from '../../e2e/package';
import { diskKb, ensureVerdaccio, packPackage, startRegistry, writeNpmWrapper } from '../../e2e/registry';
import type { LocalRegistry, PackedPackage } from '../../e2e/registry';
import { startSandbox } from '../servers/sandbox';
import type { Sandbox } from '../servers/sandbox';
import { recordDeployFigures } from './figures';

jest.setTimeout(300_000);

const NAME = packageJson().name;
const UPDATE_VERSION = '0.1.1-test';
/**
 * The installed package with its runtime dependencies (the AWS SDK's S3 client and upload, papaparse)
 * measured 31.9 MB; a dev dependency pulled in (n8n-core alone is several times that) or a
 * second copy of the SDK would cross this.
 */
const MAX_INSTALLED_MB = 60;

interface InstalledPackage {
	packageName: string;
	installedVersion: string;
	installedNodes: Array<{ name: string; type: string }>;
	updateAvailable?: string;
	failedLoading?: boolean;
}

const say = (line: string): void => {
	process.stderr.write(`[registry-install] ${line}\n`);
};

let workDir: string;
let sandbox: Sandbox;
let registry: LocalRegistry;
let n8n: N8nHandle;
let npmCallsLog: string;
let first: PackedPackage;
let credentialIds: Record<string, string>;
let batchWorkflowId: string;

const packageDir = (): string => join(n8n.userFolder, '.n8n', 'nodes', 'node_modules', NAME);

beforeAll(async () => {
	workDir = mkdtempSync(join(tmpdir(), 'whilter-registry-test-'));
	const verdaccio = await ensureVerdaccio();
	if (verdaccio.installed) say(`installed verdaccio in ${Math.round(verdaccio.ms / 1000)} s`);
	first = await packPackage(join(workDir, 'tarballs'));
	say(`tarball ${first.file}: ${(first.bytes / 1024).toFixed(1)} KB, ${first.files.length} files`);
	// Tasks move a step every 400 ms: pending → in-progress → completed (output CSV in S3) in about 1 s.
	sandbox = await startSandbox({ autoAdvanceMs: 400 });
	registry = await startRegistry();
	registry.publish(first.file);
	const wrapper = writeNpmWrapper(join(workDir, 'bin'), registry.url);
	npmCallsLog = wrapper.callsLog;
	n8n = await startN8n({
		env: {
			PATH: `${wrapper.dir}:${node24Env().PATH ?? ''}`,
			npm_config_registry: registry.url,
		},
	});
}, 900_000);

afterAll(async () => {
	await n8n?.stop();
	await registry?.stop();
	await sandbox?.close();
	if (workDir) rmSync(workDir, { recursive: true, force: true });
});

async function installedPackages(): Promise<InstalledPackage[]> {
	return (await n8n.rest<{ data: InstalledPackage[] }>('GET', '/community-packages')).data;
}

async function servedTypes(): Promise<string[]> {
	return ((await n8n.raw('GET', '/types/nodes.json')).body as Array<{ name: string }>).map((n) => n.name);
}

/** `n8n-nodes-whilter.<node>` (and `<node>Tool` for nodes usable as AI tools), as n8n names a package's nodes. */
function expectedTypes(): string[] {
	return builtNodes().flatMap((node) => [
		`${PACKAGE_PREFIX}${node.name}`,
		...(node.description.usableAsTool ? [`${PACKAGE_PREFIX}${node.name}Tool`] : []),
	]);
}

/** Example (1) as a user imports it (types `n8n-nodes-whilter.*`, credential ids filled in); its id. */
async function importExampleOne(): Promise<string> {
	return (await n8n.importWorkflow(readExample('batch-campaign.json', { prefix: PACKAGE_PREFIX, credentialIds }))).id;
}

/** Runs example (1) and checks what it did: the task and its upload, the result rows, Insider and TimePay. */
async function runExampleOne(workflowId: string): Promise<Execution> {
	const execution = await n8n.runManually(workflowId, { triggerName: 'Start', timeoutMs: 240_000 });
	expect(execution.data?.resultData.error?.message).toBeUndefined();
	expect(execution.status).toBe('success');
	const [batch] = nodeOutput(execution, 'Whilter Batch');
	expect(batch).toMatchObject({ 'row-count': 25, 'campaign-id': 'diwali-2026' });
	expect(sandbox.whilter.tasks.get(String(batch['task-id']))).toBeDefined();
	expect(await sandbox.s3.listKeys(sandbox.credentials.whilterApi.s3Bucket)).toContain(String(batch['file-path']));
	const rows = nodeOutput(execution, 'Whilter Status');
	expect(rows).toHaveLength(25);
	expect(rows.filter((row: IDataObject) => row.error)).toHaveLength(5);
	expect(nodeOutput(execution, 'Insider WhatsApp Media')).toHaveLength(1);
	expect(nodeOutput(execution, 'TimePay Initiate')).toEqual([expect.objectContaining({ 'campaign-id': 'camp-loans', 'status-code': 207 })]);
	// The example runs again after the update: Whilter Batch refuses to replace a file already in the
	// drop, so the drop is left as a fresh one would be.
	await sandbox.s3.deleteObject(sandbox.credentials.whilterApi.s3Bucket, String(batch['file-path']));
	return execution;
}

function npmCalls(): string[] {
	return existsSync(npmCallsLog) ? readFileSync(npmCallsLog, 'utf8').split('\n').filter(Boolean) : [];
}

/** The package names in a node_modules folder (`@scope/name` for scoped ones). */
function installedNames(modules: string): string[] {
	if (!existsSync(modules)) return [];
	return readdirSync(modules)
		.filter((entry) => !entry.startsWith('.'))
		.flatMap((entry) => (entry.startsWith('@') ? readdirSync(join(modules, entry)).map((sub) => `${entry}/${sub}`) : [entry]));
}

/** Every package installed under a package folder, nested node_modules included (n8n installs with the shallow strategy). */
function installedTree(dir: string): string[] {
	const modules = join(dir, 'node_modules');
	return installedNames(modules).flatMap((name) => [name, ...installedTree(join(modules, name))]);
}

describe('Community Nodes install from a registry (n8n 2.41, normal mode)', () => {
	test('the dialog\'s install call installs the published package, and n8n serves its nodes as n8n-nodes-whilter.*', async () => {
		expect(await registry.versions(NAME)).toEqual([first.version]);
		const before = await servedTypes();
		expect(before.filter((name) => name.startsWith(PACKAGE_PREFIX))).toEqual([]);

		const started = Date.now();
		const installed = (await n8n.rest<{ data: InstalledPackage }>('POST', '/community-packages', { name: NAME, verify: false })).data;
		say(`install: ${Date.now() - started} ms`);
		expect(installed).toMatchObject({ packageName: NAME, installedVersion: first.version });
		expect(installed.installedNodes.map((n) => n.type).sort()).toEqual(builtNodes().map((n) => `${PACKAGE_PREFIX}${n.name}`).sort());

		// The package went through the npm on n8n's PATH, with n8n's own registry argument rewritten.
		expect(npmCalls()).toContainEqual(expect.stringMatching(new RegExp(`^pack ${NAME}@latest --quiet --registry=`)));
		expect(JSON.parse(readFileSync(join(packageDir(), 'package.json'), 'utf8'))).toMatchObject({ name: NAME, version: first.version });

		const served = await servedTypes();
		expect(served).toEqual(expect.arrayContaining(expectedTypes()));
		expect((await installedPackages()).map((p) => [p.packageName, p.installedVersion, p.failedLoading ?? false])).toEqual([[NAME, first.version, false]]);
		recordDeployFigures('registry', { install: 'ok' });
	});

	test('the installed package carries its runtime dependencies only, no dev dependency; its size', () => {
		const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
			dependencies: Record<string, string>;
			devDependencies: Record<string, string>;
			peerDependencies: Record<string, string>;
		};
		const direct = installedNames(join(packageDir(), 'node_modules'));
		const inPackage = [...new Set(installedTree(packageDir()))].sort();
		const inNodesFolder = installedNames(join(n8n.userFolder, '.n8n', 'nodes', 'node_modules'));
		say(`installed in ${NAME}/node_modules: ${direct.join(' ')}; with theirs ${inPackage.length} packages: ${inPackage.join(' ')}`);
		say(`installed in nodes/node_modules: ${inNodesFolder.join(' ')}`);
		expect(direct.sort()).toEqual(Object.keys(manifest.dependencies).sort());
		// n8n-workflow is a peer dependency: the package uses n8n's own copy.
		const unwanted = [...Object.keys(manifest.devDependencies), ...Object.keys(manifest.peerDependencies)];
		expect(inPackage.filter((name) => unwanted.includes(name))).toEqual([]);
		// What landed next to the package in the nodes folder is the package itself only.
		expect(inNodesFolder).toEqual([NAME]);
		// The packed files only: no TypeScript sources, source maps or declarations.
		const shipped = readdirSync(join(packageDir(), 'dist'), { recursive: true, encoding: 'utf8' });
		expect(shipped.filter((file) => /\.(?:ts|map)$/.test(file))).toEqual([]);

		const installedMb = Math.round(diskKb(packageDir()) / 102.4) / 10;
		say(`installed size ${installedMb} MB (tarball ${(first.bytes / 1024).toFixed(1)} KB)`);
		expect(installedMb).toBeLessThan(MAX_INSTALLED_MB);
		recordDeployFigures('registry', { installed_mb: installedMb });
	});

	test('example (1) runs with the installed package', async () => {
		// The credential types exist in n8n only now that the package is installed.
		credentialIds = await createSandboxCredentials(n8n, sandbox);
		batchWorkflowId = await importExampleOne();
		await runExampleOne(batchWorkflowId);
	});

	test('a newer version in the registry shows as updateAvailable; the update installs it and example (1) runs again', async () => {
		const next = await packPackage(join(workDir, 'tarballs'), UPDATE_VERSION);
		expect(next.version).toBe(UPDATE_VERSION);
		// The repository's package.json keeps its version.
		expect(packageJson().version).toBe(first.version);
		registry.publish(next.file);
		expect((await registry.versions(NAME)).sort()).toEqual([first.version, UPDATE_VERSION].sort());

		expect(await installedPackages()).toEqual([expect.objectContaining({ packageName: NAME, installedVersion: first.version, updateAvailable: UPDATE_VERSION })]);

		const started = Date.now();
		const updated = (await n8n.rest<{ data: InstalledPackage }>('PATCH', '/community-packages', { name: NAME })).data;
		say(`update: ${Date.now() - started} ms`);
		expect(updated).toMatchObject({ packageName: NAME, installedVersion: UPDATE_VERSION });
		expect(JSON.parse(readFileSync(join(packageDir(), 'package.json'), 'utf8'))).toMatchObject({ version: UPDATE_VERSION });
		const listed = await installedPackages();
		expect(listed).toEqual([expect.objectContaining({ packageName: NAME, installedVersion: UPDATE_VERSION })]);
		expect(listed[0].updateAvailable).toBeUndefined();
		expect(await servedTypes()).toEqual(expect.arrayContaining(expectedTypes()));

		// The workflow imported before the update runs on the new version.
		await runExampleOne(batchWorkflowId);
		recordDeployFigures('registry', { update: 'ok' });
	});

	test('uninstall removes the package folder and its node types', async () => {
		const res = await n8n.raw('DELETE', `/rest/community-packages?name=${encodeURIComponent(NAME)}`);
		expect(res.status).toBe(200);
		expect(await installedPackages()).toEqual([]);
		expect(existsSync(packageDir())).toBe(false);
		expect((await servedTypes()).filter((name) => name.startsWith(PACKAGE_PREFIX))).toEqual([]);
		recordDeployFigures('registry', { uninstall: 'ok' });
	});
});
