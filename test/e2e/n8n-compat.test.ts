/**
 * Compatibility: the same built package in the n8n versions that run on Node 20 — 2.8.4, the newest
 * n8n that does, and 1.123.x, the last 1.x line — on the machine's Node 20 (not the project's Node 24
 * that Jest runs on), for users who have not upgraded. The same checks for each version
 * (NODE20_N8N_VERSIONS).
 *
 * Two ways of loading it, each in its own n8n process:
 * 1. As n8n installs a community package: what `npm pack` ships (package.json without its dev, peer
 *    and optional dependencies — n8n strips them too — and dist/) copied to
 *    `~/.n8n/nodes/node_modules/n8n-nodes-whilter`, its dependencies in the package's own
 *    node_modules. No link back to the repository, so `n8n-workflow` is that n8n's own (found
 *    through the NODE_PATH n8n sets), as for a user: an API that this n8n lacks fails here.
 *    Checks: every node and credential type served, no load error in the log, the credential tests,
 *    example (1) examples/batch-campaign.json run unchanged (only the credential ids filled in)
 *    against the sandbox — task, rows, token fetched once by n8n's own preAuthentication, the
 *    Status result once the task completes, a token refresh after a 401 — example (3)
 *    examples/realtime-flow.json (3), which polls (sleep and the execution's cancel signal), stopping such a
 *    wait, the Insider and TimePay nodes once each, the Whilter Trigger's production webhook (forged
 *    callbacks refused, the genuine one starting the workflow) and Whilter Batch waiting for
 *    Whilter's callback and resuming (forged ones refused).
 * 2. From `N8N_CUSTOM_EXTENSIONS=dist/` (types `CUSTOM.<name>`; n8n-workflow resolves to the
 *    repository's dev dependency here): types served, log clean, example (1) runs.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readlinkSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import type { INode } from 'n8n-workflow';

import { createSandboxCredentials, EXAMPLE_CREDENTIAL_NAMES, finishedExecutions, nodeOutput, PACKAGE_PREFIX, readExample } from '../../e2e/examples';
import { ensureN8n, node20Runtime, NODE20_N8N_VERSIONS, REPO_ROOT, startN8n } from '../../e2e/n8n';
import type { N8nHandle, N8nInstall, WorkflowJson } from '../../e2e/n8n';
import { builtCredentials, builtNodes, DIST_DIR, ensurePackageBuilt, packageJson } from '../../e2e/package';
import type { BuiltCredential, BuiltNode } from '../../e2e/package';
import { activateTrigger, batchWaitWorkflow, executionReaching, messageOf, postJson, seededTaskAt, startManualRun, taskOfCampaign, triggerWorkflow } from '../../e2e/whilterFlows';
import type { CredentialRef } from '../../e2e/whilterFlows';
import { startSandbox } from '../servers/sandbox';
import type { Sandbox } from '../servers/sandbox';
import { ROW_ERROR } from '../servers/whilter';

jest.setTimeout(180_000);

let sandbox: Sandbox;
/** Its tasks move only when a test says so: their callbacks come when the test expects them, never early. */
let manual: Sandbox;
let nodes: BuiltNode[];
let credentials: BuiltCredential[];

const say = (line: string): void => {
	process.stderr.write(`[n8n-compat] ${line}\n`);
};

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
	await ensurePackageBuilt();
	nodes = builtNodes();
	credentials = builtCredentials();
	// Tasks move a step every 400 ms: pending → in-progress → completed (output CSV in S3) in about 1 s.
	sandbox = await startSandbox({ autoAdvanceMs: 400 });
	manual = await startSandbox();
}, 900_000);

afterAll(async () => {
	await sandbox?.close();
	await manual?.close();
});

/**
 * What n8n 2.8's community package install leaves in `~/.n8n/nodes/node_modules/<name>`: the packed
 * files, package.json without dev/peer/optional dependencies, and the dependencies installed inside
 * the package (here: links to the repository's copies of the direct dependencies, which find their
 * own dependencies from there). Returns the package folder.
 */
function placeCommunityPackage(userFolder: string): string {
	const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as Record<string, unknown> & {
		name: string;
		files: string[];
		dependencies?: Record<string, string>;
	};
	const dir = join(userFolder, '.n8n', 'nodes', 'node_modules', manifest.name);
	mkdirSync(dir, { recursive: true });
	for (const entry of manifest.files) cpSync(join(REPO_ROOT, entry), join(dir, entry), { recursive: true });
	const { devDependencies, peerDependencies, optionalDependencies, scripts, ...shipped } = manifest;
	void [devDependencies, peerDependencies, optionalDependencies, scripts];
	writeFileSync(join(dir, 'package.json'), `${JSON.stringify(shipped, null, 2)}\n`);
	for (const dependency of Object.keys(manifest.dependencies ?? {})) {
		const target = join(REPO_ROOT, 'node_modules', dependency);
		if (!existsSync(target)) throw new Error(`dependency ${dependency} is not installed in ${REPO_ROOT}/node_modules`);
		const link = join(dir, 'node_modules', dependency);
		mkdirSync(dirname(link), { recursive: true });
		symlinkSync(target, link, 'dir');
	}
	// n8n's nodes folder manifest, as its installer keeps it.
	writeFileSync(
		join(userFolder, '.n8n', 'nodes', 'package.json'),
		`${JSON.stringify({ name: 'installed-nodes', private: true, dependencies: { [manifest.name]: String(manifest.version) } }, null, 2)}\n`,
	);
	return dir;
}

/** An example workflow as a user imports it: the credential ids filled in, the type prefix of this loading mode. */
function example(file: string, prefix: string, ids: Record<string, string>): WorkflowJson {
	return readExample(file, { prefix, credentialIds: ids });
}

function tokenCallsSince(from: number): number {
	return sandbox.whilter.requests.slice(from).filter((r) => r.path === '/getToken/token').length;
}

async function waitForTask(taskId: string): Promise<void> {
	const deadline = Date.now() + 30_000;
	while (sandbox.whilter.tasks.get(taskId)?.state !== 'completed') {
		if (Date.now() > deadline) throw new Error(`task ${taskId} is still ${sandbox.whilter.tasks.get(taskId)?.state} after 30 s`);
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
}

/** Manual Trigger → Code (the task id) → Whilter Status (get). */
function statusWorkflow(prefix: string, credentialId: string, taskId: string): WorkflowJson {
	return {
		name: `Status of ${taskId}`,
		nodes: [
			{ id: 'c0000000-0000-4000-8000-000000000001', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			{
				id: 'c0000000-0000-4000-8000-000000000002',
				name: 'Task',
				type: 'n8n-nodes-base.code',
				typeVersion: 2,
				position: [220, 0],
				parameters: { jsCode: `return [{ json: { taskId: ${JSON.stringify(taskId)} } }];` },
			},
			{
				id: 'c0000000-0000-4000-8000-000000000003',
				name: 'Whilter Status',
				type: `${prefix}whilterStatus`,
				typeVersion: 1,
				position: [440, 0],
				parameters: { operation: 'get', taskId: '={{ $json.taskId }}' },
				credentials: { whilterApi: { id: credentialId, name: EXAMPLE_CREDENTIAL_NAMES.whilterApi } },
			},
		],
		connections: {
			Start: { main: [[{ node: 'Task', type: 'main', index: 0 }]] },
			Task: { main: [[{ node: 'Whilter Status', type: 'main', index: 0 }]] },
		},
		settings: {},
	};
}

/** The type names the package's nodes get in this mode (`<prefix><name>`, plus `<name>Tool` for AI tools). */
function expectEveryTypeServed(served: Array<{ name: string; version: number | number[] }>, prefix: string): void {
	const names = served.map((n) => n.name);
	for (const node of nodes) {
		expect(names).toContain(`${prefix}${node.name}`);
		if (node.description.usableAsTool) expect(names).toContain(`${prefix}${node.name}Tool`);
	}
}

/**
 * n8n 1.123.66 and later default to the `vm` expression engine, which needs isolated-vm 6, a native
 * addon for Node 22+ only (no build for Node 20): on Node 20 such an n8n exits at startup ("Could not
 * initialize the vm expression engine") unless told to use the legacy engine, as its users on Node 20
 * must do too.
 */
function engineEnv(version: string): Record<string, string> {
	return version.startsWith('1.') ? { N8N_EXPRESSION_ENGINE: 'legacy' } : {};
}

const CALLBACK_HEADER = 'X-Whilter-Secret';
const CALLBACK_SECRET = 'compat-callback-secret-3e8a61d0c4';
const WAIT_CUSTOMERS = 5;

type IconUrl = string | { light: string; dark: string };

/** Every icon of the package's types resolves to an SVG in this n8n (light and dark for `{ light, dark }` icons). */
async function expectIconsServed(n8n: N8nHandle, prefix: string): Promise<void> {
	const servedNodes = (await n8n.raw('GET', '/types/nodes.json')).body as Array<{ name: string; iconUrl?: IconUrl }>;
	const servedCredentials = (await n8n.raw('GET', '/types/credentials.json')).body as Array<{ name: string; iconUrl?: IconUrl }>;
	const ours = [
		...servedNodes.filter((n) => nodes.some((b) => n.name === `${prefix}${b.name}`)),
		...servedCredentials.filter((c) => credentials.some((b) => b.name === c.name)),
	];
	expect(ours).toHaveLength(nodes.length + credentials.length);
	for (const type of ours) {
		expect({ type: type.name, iconUrl: type.iconUrl }).toEqual({ type: type.name, iconUrl: expect.anything() });
		const urls = typeof type.iconUrl === 'string' ? [type.iconUrl] : [type.iconUrl?.light, type.iconUrl?.dark];
		for (const url of urls) {
			const res = await n8n.raw('GET', `/${String(url)}`);
			expect({ url, status: res.status, svg: /<svg[\s>]/.test(res.text) }).toEqual({ url, status: 200, svg: true });
		}
	}
}

/** Lines of n8n's log that name the package (or custom/community loading) together with a problem. */
function problemsAboutPackage(log: string): string[] {
	const ours = [
		packageJson().name,
		'CUSTOM.',
		...nodes.map((n) => basename(n.file)),
		...credentials.map((c) => basename(c.file)),
		...nodes.map((n) => n.name),
		...credentials.map((c) => c.name),
	];
	const named = log
		.split('\n')
		.filter((line) => ours.some((word) => line.includes(word)) || /custom|extension|community/i.test(line))
		.filter((line) => /error|warn|fail|could not|cannot|unable|invalid|deprecat/i.test(line));
	// Loader failures that do not name the file.
	const unnamed = log.split('\n').filter((line) => /Cannot find module|Error loading|Failed to load|Could not load|is not a constructor|is not a function/i.test(line));
	return [...named, ...unnamed];
}

/**
 * Runtime warnings Node printed into n8n's log (`(node:<pid>) <Name>Warning: …`), by their first
 * line. On Node 20 the AWS SDK our S3 upload uses warns that its releases after early January 2027
 * need Node 22: expected (see the report); anything else (a DeprecationWarning from our code, say) is not.
 */
const EXPECTED_WARNINGS = [/^(?:Warning: )?NodeVersionSupportWarning: The AWS SDK for JavaScript \(v3\)$/];

function unexpectedWarnings(log: string): string[] {
	return log
		.split('\n')
		.map((line) => /^\(node:\d+\) (?:\[\w+\] )?(.*)$/.exec(line.trim())?.[1])
		.filter((warning): warning is string => warning !== undefined && !EXPECTED_WARNINGS.some((expected) => expected.test(warning)));
}

/**
 * Example (1): Start → Code (25 customers) → Whilter Batch → Whilter Status (wait, result rows) →
 * first ready video → HTTP Request → Insider WhatsApp Media → TimePay Initiate. Checks the execution
 * data, the task and the upload the sandbox received, and that n8n fetched exactly one token for both
 * Whilter nodes; then a separate Status run reports the task completed.
 */
async function runExampleOne(n8n: N8nHandle, version: string, prefix: string, ids: Record<string, string>): Promise<{ taskId: string; statusWorkflowId: string }> {
	const workflow = await n8n.importWorkflow(example('batch-campaign.json', prefix, ids));
	const from = sandbox.whilter.requests.length;
	const tokensBefore = sandbox.whilter.tokensIssued;
	const started = Date.now();
	const execution = await n8n.runManually(workflow.id, { triggerName: 'Start' });
	say(`example (1) in n8n ${version} (${prefix}): ${Date.now() - started} ms`);
	expect(execution.data?.resultData.error?.message).toBeUndefined();
	expect(execution).toMatchObject({ status: 'success', mode: 'manual', finished: true });

	const [batch] = nodeOutput(execution, 'Whilter Batch');
	const taskId = String(batch?.['task-id']);
	const task = sandbox.whilter.tasks.get(taskId);
	expect(task).toBeDefined();
	expect(batch).toMatchObject({ 'task-id': taskId, 'row-count': 25, 'campaign-id': 'diwali-2026', 'template-id': 'T-1001' });
	expect(task?.body).toMatchObject({ 'campaign-id': 'diwali-2026', 'template-id': 'T-1001', 'row-count': 25, 'file-path': batch['file-path'] });
	expect(await sandbox.s3.listKeys(sandbox.credentials.whilterApi.s3Bucket)).toContain(String(batch['file-path']));

	const rows = nodeOutput(execution, 'Whilter Status');
	expect(rows).toHaveLength(25);
	expect(rows[0]).toMatchObject({ phone: '+919810000000', 'media-url': `${sandbox.whilter.url}/media/${taskId}/0.mp4`, error: '' });
	expect(rows.filter((row) => row.error)).toHaveLength(5);
	const [insider] = nodeOutput(execution, 'Insider WhatsApp Media');
	expect(sandbox.insider.media.get(String(insider?.id))?.mimeType).toBe('video/mp4');
	expect(nodeOutput(execution, 'TimePay Initiate')).toEqual([expect.objectContaining({ 'campaign-id': 'camp-loans', 'status-code': 207, 'partial-success': true })]);

	// n8n's own CredentialsHelper: preAuthentication once, the token stored and used by both nodes.
	expect(sandbox.whilter.tokensIssued - tokensBefore).toBe(1);
	expect(tokenCallsSince(from)).toBe(1);
	const bearers = new Set(
		sandbox.whilter.requests
			.slice(from)
			// The media the HTTP Request node downloads are public URLs, fetched without a token.
			.filter((r) => r.path !== '/getToken/token' && !r.path.startsWith('/media/'))
			.map((r) => String(r.headers.authorization)),
	);
	expect(bearers.size).toBe(1);

	await waitForTask(taskId);
	const statusWorkflowId = (await n8n.importWorkflow(statusWorkflow(prefix, ids.whilterApi, taskId))).id;
	const statusRun = await n8n.runManually(statusWorkflowId);
	expect(statusRun.status).toBe('success');
	const done = sandbox.whilter.tasks.get(taskId);
	expect(nodeOutput(statusRun, 'Whilter Status')).toEqual([
		expect.objectContaining({ 'task-id': taskId, status: 'completed', count: 25, 'file-path': done?.outputKey }),
	]);
	// The stored token is reused.
	expect(sandbox.whilter.tokensIssued - tokensBefore).toBe(1);
	// The next n8n runs the same example against this sandbox: Whilter Batch refuses to replace a file
	// already in the drop, so the drop is left as a fresh one would be.
	await sandbox.s3.deleteObject(sandbox.credentials.whilterApi.s3Bucket, String(batch['file-path']));
	return { taskId, statusWorkflowId };
}

describe.each(NODE20_N8N_VERSIONS)('n8n %s on Node 20', (version) => {
	let install: N8nInstall;

	beforeAll(async () => {
		const started = Date.now();
		install = await ensureN8n(version);
		if (install.installed) say(`installed n8n ${install.version} in ${Math.round((Date.now() - started) / 1000)} s`);
	}, 900_000);

	describe('the package installed as a community package', () => {
		let n8n: N8nHandle;
		let packageDir = '';
		let ids: Record<string, string>;
		/** Credentials for the manual sandbox: its Whilter API, and the callback secret. */
		let manualWhilter: CredentialRef;
		let callbackSecret: CredentialRef;

		beforeAll(async () => {
			n8n = await startN8n({
				version,
				env: engineEnv(version),
				prepareUserFolder: (userFolder) => {
					packageDir = placeCommunityPackage(userFolder);
				},
			});
			say(`n8n ${install.version} ready in ${n8n.startupMs} ms at ${n8n.url}`);
			ids = await createSandboxCredentials(n8n, sandbox);
			manualWhilter = { id: (await n8n.createCredential('Whilter (manual sandbox)', 'whilterApi', { ...manual.credentials.whilterApi })).id, name: 'Whilter (manual sandbox)' };
			callbackSecret = { id: (await n8n.createCredential('Whilter callback secret', 'whilterCallbackHeaderAuthApi', { headerName: CALLBACK_HEADER, secret: CALLBACK_SECRET })).id, name: 'Whilter callback secret' };
		}, 300_000);

		afterAll(async () => {
			await n8n?.stop();
		});

		test("n8n runs on the machine's Node 20, not on the project's Node 24", () => {
			const runtime = node20Runtime();
			expect(install.runtime).toEqual(runtime);
			expect(runtime.version).toMatch(/^20\.(19|[2-9]\d)\./);
			expect(readlinkSync(`/proc/${n8n.pid}/exe`)).toBe(realpathSync(join(runtime.binDir, 'node')));
		});

		test("the package's nodes get this n8n's own n8n-workflow, not the repository's", () => {
			// n8n sets NODE_PATH to its own module paths before loading packages (load-nodes-and-credentials.js).
			const n8nDist = join(install.dir, 'node_modules', 'n8n', 'dist');
			const probe = `
				const Module = require('module');
				const file = process.argv[1];
				let alone;
				try { require(file); alone = 'loaded'; } catch (error) { alone = error.code; }
				process.env.NODE_PATH = Module._nodeModulePaths(process.argv[2]).join(':');
				Module._initPaths();
				for (const key of Object.keys(require.cache)) delete require.cache[key];
				require(file);
				const workflow = Object.keys(require.cache).find((key) => key.includes('/n8n-workflow/'));
				const root = workflow.slice(0, workflow.indexOf('/n8n-workflow/') + '/n8n-workflow/'.length);
				console.log(JSON.stringify({ alone, root, version: require(root + 'package.json').version }));
			`;
			const node = join(install.runtime.binDir, 'node');
			const file = join(packageDir, 'dist', 'nodes', 'Whilter', 'WhilterBatch.node.js');
			const result = spawnSync(node, ['-e', probe, file, n8nDist], { encoding: 'utf8', env: { PATH: process.env.PATH } });
			expect(result.stderr).toBe('');
			const n8nManifest = JSON.parse(readFileSync(join(install.dir, 'node_modules', 'n8n', 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
			expect(JSON.parse(result.stdout)).toEqual({
				alone: 'MODULE_NOT_FOUND',
				root: `${join(install.dir, 'node_modules', 'n8n-workflow')}/`,
				// 2.8.0 in n8n 2.8.4, 1.120.31 in 1.123.81
				version: n8nManifest.dependencies['n8n-workflow'],
			});
		});

		test('n8n serves every node and credential type of the package with its icons, and its log has no error about it', async () => {
			const served = (await n8n.raw('GET', '/types/nodes.json')).body as Array<{ name: string; version: number | number[] }>;
			expectEveryTypeServed(served, PACKAGE_PREFIX);
			await expectIconsServed(n8n, PACKAGE_PREFIX);
			const servedCredentials = (await n8n.raw('GET', '/types/credentials.json')).body as Array<{ name: string }>;
			expect(servedCredentials.map((c) => c.name)).toEqual(expect.arrayContaining(credentials.map((c) => c.name)));
			expect(n8n.log()).toContain('Editor is now accessible');
			expect(problemsAboutPackage(n8n.log())).toEqual([]);
		});

		let exampleOne: { taskId: string; statusWorkflowId: string } | undefined;

		test('example (1), the batch campaign, runs end to end: task, rows, one token, Status completed', async () => {
			exampleOne = await runExampleOne(n8n, version, PACKAGE_PREFIX, ids);
		});

		test('an expired token: one 401, exactly one new token from n8n, and the run succeeds', async () => {
			if (!exampleOne) throw new Error('example (1) did not run');
			sandbox.whilter.expireTokens();
			const from = sandbox.whilter.requests.length;
			const tokensBefore = sandbox.whilter.tokensIssued;
			const execution = await n8n.runManually(exampleOne.statusWorkflowId);
			expect(execution.data?.resultData.error?.message).toBeUndefined();
			expect(nodeOutput(execution, 'Whilter Status')).toEqual([expect.objectContaining({ 'task-id': exampleOne.taskId, status: 'completed' })]);
			expect(sandbox.whilter.tokensIssued - tokensBefore).toBe(1);
			const statusCalls = sandbox.whilter.requests.slice(from).filter((r) => r.path !== '/getToken/token');
			expect(statusCalls.map((r) => r.status)).toEqual([401, 200]);
			expect(tokenCallsSince(from)).toBe(1);
		});

		test('a token Whilter ends early with 403: this n8n renews after a 401 only, and the error says so and what to do', async () => {
			if (!exampleOne) throw new Error('example (1) did not run');
			sandbox.whilter.expiredTokenStatus = 403;
			try {
				sandbox.whilter.expireTokens();
				const from = sandbox.whilter.requests.length;
				const execution = await n8n.runManually(exampleOne.statusWorkflowId);
				expect(execution.status).toBe('error');
				const error = execution.data?.resultData.error as { message?: string; description?: string } | undefined;
				expect(`${error?.message ?? ''} ${error?.description ?? ''}`).toContain('this version of n8n fetches a new token after a 401 only, not after a 403');
				// Sent once, not repeated with the same refused token.
				expect(sandbox.whilter.requests.slice(from).filter((r) => r.path !== '/getToken/token').map((r) => r.status)).toEqual([403]);
			} finally {
				sandbox.whilter.expiredTokenStatus = 401;
				// The next test starts from a token the server accepts.
				sandbox.whilter.expireTokens();
			}
		});

		test('example (3), real-time media, runs end to end (waits for the media: polling, sleep, cancel signal)', async () => {
			const workflow = await n8n.importWorkflow(example('realtime-flow.json', PACKAGE_PREFIX, ids));
			const started = Date.now();
			const execution = await n8n.runManually(workflow.id, { triggerName: 'Start', timeoutMs: 120_000 });
			say(`example (3) in n8n ${version}: ${Date.now() - started} ms`);
			expect(execution.data?.resultData.error?.message).toBeUndefined();
			expect(execution.status).toBe('success');
			const items = nodeOutput(execution, 'Whilter Realtime');
			expect(items.map((item) => [item['user-id'], item.status])).toEqual([
				['u-1001', 'SUCCESS'],
				['u-1002', 'SUCCESS'],
				['u-1003', 'SUCCESS'],
			]);
			for (const item of items) {
				const id = String(item['whilter-request-id']);
				expect(sandbox.whilter.realtime.get(id)?.status).toBe('SUCCESS');
				expect(String(item['video-url'])).toContain(id);
			}
		});

		test('the Insider and TimePay nodes run too: a PDF uploaded, its URL, downloaded back; a WhatsApp initiation', async () => {
			const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(2048, 7)]);
			const node = (name: string, type: string, position: [number, number], parameters: INode['parameters'], credentials?: INode['credentials']): INode => ({
				id: randomUUID(),
				name,
				type,
				typeVersion: 1,
				position,
				parameters,
				...(credentials ? { credentials } : {}),
			});
			const insider = { insiderApi: { id: ids.insiderApi, name: EXAMPLE_CREDENTIAL_NAMES.insiderApi } };
			const workflow = await n8n.importWorkflow({
				name: 'Insider and TimePay nodes',
				nodes: [
					node('Start', 'n8n-nodes-base.manualTrigger', [0, 0], {}),
					{
						...node('PDF', 'n8n-nodes-base.code', [200, 0], {
							jsCode: `return [{ json: {}, binary: { data: { data: ${JSON.stringify(pdf.toString('base64'))}, mimeType: 'application/pdf', fileName: 'offer.pdf' } } }];`,
						}),
						typeVersion: 2,
					},
					node('Insider Upload', `${PACKAGE_PREFIX}insiderWhatsAppMedia`, [400, 0], { operation: 'uploadAndGetUrl' }, insider),
					node('Insider Download', `${PACKAGE_PREFIX}insiderWhatsAppMedia`, [600, 0], { operation: 'download', media: '={{ $json.id }}' }, insider),
					node(
						'TimePay',
						`${PACKAGE_PREFIX}timePayInitiate`,
						[200, 200],
						{ campaign: { __rl: true, mode: 'id', value: 'camp-welcome' }, templateId: 'hfu7VL6sBhI6NPm', audience: 'wholeCampaign' },
						{ timePayApi: { id: ids.timePayApi, name: EXAMPLE_CREDENTIAL_NAMES.timePayApi } },
					),
				],
				connections: {
					Start: { main: [[{ node: 'PDF', type: 'main', index: 0 }, { node: 'TimePay', type: 'main', index: 0 }]] },
					PDF: { main: [[{ node: 'Insider Upload', type: 'main', index: 0 }]] },
					'Insider Upload': { main: [[{ node: 'Insider Download', type: 'main', index: 0 }]] },
				},
				settings: { executionOrder: 'v1' },
			});
			const execution = await n8n.runManually(workflow.id, { triggerName: 'Start' });
			expect(execution.data?.resultData.error?.message).toBeUndefined();
			expect(execution.status).toBe('success');

			const [uploaded] = nodeOutput(execution, 'Insider Upload');
			const id = String(uploaded?.id);
			expect(uploaded).toMatchObject({ 'mime-type': 'application/pdf', 'file-size': pdf.length, 'file-name': 'offer.pdf', url: expect.stringContaining(id), response: { upload: { id } } });
			expect(sandbox.insider.media.get(id)?.bytes.equals(pdf)).toBe(true);
			const downloaded = execution.data?.resultData.runData['Insider Download']?.[0]?.data?.main?.[0]?.[0];
			expect(downloaded?.binary?.data).toMatchObject({ mimeType: 'application/pdf', fileSize: expect.any(String) });
			expect(sandbox.insider.requests.filter((r) => r.method === 'GET' && r.status === 200).map((r) => r.path)).toContain(`/media-files/${id}`);

			expect(nodeOutput(execution, 'TimePay')).toEqual([
				expect.objectContaining({ success: true, 'status-code': 200, 'campaign-id': 'camp-welcome', channel: 'whatsapp', 'template-id': 'hfu7VL6sBhI6NPm' }),
			]);
			expect(sandbox.timepay.requests.filter((r) => r.method === 'POST').map((r) => r.path)).toContain('/api/v1/initiate/camp-welcome/whatsapp');
		});

		// What a user sees when stopping a long wait: the execution is canceled and the node stops
		// calling Whilter. (n8n-core also aborts a node's HTTP requests once the execution is cancelled, so
		// this holds even without the node's own use of getExecutionCancelSignal, which makes it stop at once.)
		test("stopping an execution cancels it and ends the real-time node's polling", async () => {
			const json = example('realtime-flow.json', PACKAGE_PREFIX, ids);
			json.name = 'Real-time media that never gets ready';
			const realtimeNode = json.nodes.find((node) => node.name === 'Whilter Realtime');
			if (!realtimeNode) throw new Error('examples/realtime-flow.json has no "Whilter Realtime" node');
			// The sandbox answers PROCESSING forever for this use case: the node would poll every second for two minutes.
			realtimeNode.parameters = { ...realtimeNode.parameters, useCaseId: 'never', checkInterval: 1, maxCheckInterval: 1, waitTimeout: 120 };
			const workflow = await n8n.importWorkflow(json);
			const from = sandbox.whilter.requests.length;
			const statusGets = (): number => sandbox.whilter.requests.slice(from).filter((r) => r.method === 'GET' && r.path.startsWith('/status/')).length;
			// Started as runManually does, without waiting for the end.
			const executionId = await startManualRun(n8n, version, workflow.id);
			const deadline = Date.now() + 30_000;
			while (statusGets() < 2) {
				if (Date.now() > deadline) throw new Error(`only ${statusGets()} status checks within 30 s`);
				await new Promise((resolve) => setTimeout(resolve, 100));
			}
			await n8n.rest('POST', `/executions/${executionId}/stop`);
			const stoppedAt = Date.now();
			let execution = await n8n.execution(executionId);
			while (!execution.stoppedAt) {
				if (Date.now() - stoppedAt > 30_000) throw new Error(`execution ${executionId} still ${execution.status} 30 s after stop`);
				await new Promise((resolve) => setTimeout(resolve, 100));
				execution = await n8n.execution(executionId);
			}
			expect(execution.status).toBe('canceled');
			// A check already on the wire may still land; after that, nothing for more than two poll intervals.
			await new Promise((resolve) => setTimeout(resolve, 500));
			const afterStop = statusGets();
			await new Promise((resolve) => setTimeout(resolve, 2_500));
			expect(statusGets()).toBe(afterStop);
			expect(problemsAboutPackage(n8n.log())).toEqual([]);
		});

		test("the Whilter Trigger's production webhook: forged callbacks are refused and start nothing; Whilter's genuine one starts the workflow", async () => {
			const trigger = await activateTrigger(
				n8n,
				triggerWorkflow({
					name: 'Whilter Trigger, header secret',
					webhookId: randomUUID(),
					prefix: PACKAGE_PREFIX,
					parameters: { event: 'batchTask', authentication: 'headerAuth', confirmWithApi: true, statuses: ['completed'], output: 'callback', options: {} },
					whilterApi: manualWhilter,
					header: callbackSecret,
				}),
			);
			const taskId = await seededTaskAt(manual, 2, 4);
			const running = await seededTaskAt(manual, 1);
			const auth = { [CALLBACK_HEADER]: CALLBACK_SECRET };

			const wrongSecret = await postJson(trigger.url, { 'task-id': taskId, status: 'completed' }, { [CALLBACK_HEADER]: `${CALLBACK_SECRET}-not` });
			expect([wrongSecret.status, messageOf(wrongSecret)]).toEqual([403, 'The x-whilter-secret header is wrong']);
			const unknownTask = await postJson(trigger.url, { 'task-id': 'task-forged-0001', status: 'completed' }, auth);
			expect([unknownTask.status, messageOf(unknownTask)]).toEqual([403, 'Whilter knows no task task-forged-0001']);
			const mismatch = await postJson(trigger.url, { 'task-id': running, status: 'completed' }, auth);
			expect([mismatch.status, messageOf(mismatch)]).toEqual([409, `The callback says task ${running} is "completed", but the Whilter status API says "in-progress"`]);
			await sleep(1500);
			expect(await n8n.executions(trigger.workflowId)).toEqual([]);

			const record = await manual.whilter.sendCallback({ taskId, url: trigger.url, headers: auth });
			expect(record.status).toBe(200);
			const [execution] = await finishedExecutions(n8n, trigger.workflowId, 1);
			expect(execution).toMatchObject({ status: 'success', mode: 'webhook' });
			expect(nodeOutput(execution, 'Whilter Trigger')).toEqual([
				expect.objectContaining({ 'task-id': taskId, status: 'completed', confirmed: true, count: 4, 'file-path': manual.whilter.outputKeyOf(taskId) }),
			]);
			expect(JSON.stringify(execution.data)).not.toContain(CALLBACK_SECRET);
		});

		test("Whilter Batch waits for Whilter's callback and resumes with the result rows; forged callbacks leave it waiting", async () => {
			const name = `wait-${version}`;
			const campaign = name.replace(/[^A-Za-z0-9-]/g, '-');
			const workflow = await n8n.importWorkflow(batchWaitWorkflow({ name, prefix: PACKAGE_PREFIX, whilterApi: manualWhilter, customers: WAIT_CUSTOMERS }));
			const executionId = await startManualRun(n8n, version, workflow.id);
			const waiting = await executionReaching(n8n, executionId, ['waiting'], 60_000);
			const { task, callbackUrl } = taskOfCampaign(manual, campaign);
			say(`n8n ${version}: resume URL ${callbackUrl.replace(/signature=[^&]+/, 'signature=…')}`);
			expect(callbackUrl).toMatch(new RegExp(`^${n8n.url}/webhook-waiting/${executionId}([?/]|$)`));
			expect(nodeOutput(waiting, 'Whilter Batch')[0]).toMatchObject({ 'task-id': task.id, 'row-count': WAIT_CUSTOMERS, 'waiting-for-callback': true });

			const unknown = await postJson(callbackUrl, { 'task-id': 'task-forged', status: 'completed', 'file-path': 'x.csv' });
			expect([unknown.status, messageOf(unknown)]).toEqual([403, 'The callback is for another task than the one this execution waits for']);
			// The right task, but the status API says it is not completed yet.
			const early = await postJson(callbackUrl, { 'task-id': task.id, status: 'completed' });
			expect(early.status).toBe(409);
			const still = await n8n.execution(executionId);
			expect(still.status).toBe('waiting');
			expect(nodeOutput(still, 'After')).toEqual([]);

			// pending → in-progress → completed: the completion POSTs Whilter's callback to the resume URL.
			await manual.whilter.advance(task.id);
			await manual.whilter.advance(task.id);
			expect(manual.whilter.callbacks.filter((c) => c.taskId === task.id).map((c) => c.status)).toEqual([200]);
			// The resumed run's data, not the waiting state's (the next node has output only after the resume).
			const done = await executionReaching(n8n, executionId, ['success'], 60_000, (e) => nodeOutput(e, 'After').length > 0);
			const rows = nodeOutput(done, 'Whilter Batch');
			expect(rows).toHaveLength(WAIT_CUSTOMERS);
			expect(rows[0]).toEqual({ phone: '+919800000000', name: 'Customer 0', 'media-url': `${manual.whilter.url}/media/${task.id}/0.mp4`, error: '' });
			expect(rows[4]).toMatchObject({ 'media-url': '', error: ROW_ERROR });
			expect(nodeOutput(done, 'After')).toEqual(rows);
		});

		// After the runs: a passing Whilter test stores a token in the credential, which example (1) would reuse.
		test("each credential's test (the editor's Test button) passes against the sandbox", async () => {
			const answers: Record<string, unknown> = {};
			for (const [type, data] of Object.entries(sandbox.credentials)) {
				answers[type] = (
					await n8n.rest<{ data: { status: string; message: string } }>('POST', '/credentials/test', {
						credentials: { id: ids[type], name: EXAMPLE_CREDENTIAL_NAMES[type], type, data },
					})
				).data;
			}
			expect(answers).toEqual({
				whilterApi: { status: 'OK', message: expect.any(String) },
				insiderApi: { status: 'OK', message: 'Insider accepted the auth key' },
				timePayApi: { status: 'OK', message: expect.any(String) },
			});
		});

		test("n8n's log stays free of errors about the package, and of runtime warnings but the AWS SDK's, after the runs", () => {
			expect(problemsAboutPackage(n8n.log())).toEqual([]);
			expect(unexpectedWarnings(n8n.log())).toEqual([]);
		});
	});

	describe('the package loaded from N8N_CUSTOM_EXTENSIONS=dist/', () => {
		let n8n: N8nHandle;
		let ids: Record<string, string>;

		beforeAll(async () => {
			n8n = await startN8n({ version, extensionsDir: DIST_DIR, env: engineEnv(version) });
			say(`n8n ${install.version} (custom extensions) ready in ${n8n.startupMs} ms`);
			ids = await createSandboxCredentials(n8n, sandbox);
		}, 300_000);

		afterAll(async () => {
			await n8n?.stop();
		});

		test('n8n serves every node as CUSTOM.<name> and every credential with its icons, and its log has no error about the package', async () => {
			const served = (await n8n.raw('GET', '/types/nodes.json')).body as Array<{ name: string; version: number | number[] }>;
			expectEveryTypeServed(served, 'CUSTOM.');
			await expectIconsServed(n8n, 'CUSTOM.');
			const servedCredentials = (await n8n.raw('GET', '/types/credentials.json')).body as Array<{ name: string }>;
			expect(servedCredentials.map((c) => c.name)).toEqual(expect.arrayContaining(credentials.map((c) => c.name)));
			expect(problemsAboutPackage(n8n.log())).toEqual([]);
		});

		test('example (1) runs end to end: task, rows, one token, Status completed', async () => {
			await runExampleOne(n8n, version, 'CUSTOM.', ids);
			expect(problemsAboutPackage(n8n.log())).toEqual([]);
			expect(unexpectedWarnings(n8n.log())).toEqual([]);
		});
	});
});
