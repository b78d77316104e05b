/**
 * The Community Nodes install in queue mode (n8n 2.41.1): main, two workers and a webhook
 * processor, none of them with the package, every one with the local registry's `npm` wrapper first
 * on its PATH (e2e/registry.ts). The package is installed, updated and uninstalled through main's
 * own REST calls (what Settings → Community Nodes sends), and each process's user folder and log
 * show what it did.
 *
 * What n8n 2.41 does: main installs, records the package in the database and publishes a pubsub
 * command (`community-package-install`, `-update`, `-uninstall`); every worker and webhook
 * processor that is running and subscribed then runs the same npm calls itself for the version
 * recorded in the database, and loads or unloads the nodes without a restart. A process that was
 * not running then (a worker added or recreated later with an empty nodes folder) does not get the
 * package: at start it only warns that packages are missing, unless N8N_REINSTALL_MISSING_PACKAGES
 * is true, in which case it installs them at start.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IDataObject } from 'n8n-workflow';

import { activateWebhookWorkflow, createSandboxCredentials, finishedExecutions, nodeOutput, PACKAGE_PREFIX, readExample, triggerUrl } from '../../e2e/examples';
import type { Execution } from '../../e2e/n8n';
import { builtNodes, packageJson } from '../../e2e/package';
import { startQueueCluster } from '../../e2e/queue';
import type { QueueCluster, QueueProcess, QueueRole } from '../../e2e/queue';
import { ensureVerdaccio, packPackage, registryInstallEnv, startRegistry } from '../../e2e/registry';
import type { LocalRegistry, PackedPackage } from '../../e2e/registry';
import { startSandbox } from '../servers/sandbox';
import type { Sandbox } from '../servers/sandbox';
import { recordDeployFigures } from './figures';

jest.setTimeout(300_000);

const NAME = packageJson().name;
const UPDATE_VERSION = '0.1.1-test';
/** The line n8n logs in each process once it has installed (or updated) the package and loaded its nodes. */
const INSTALLED_LINE = `Community package installed: ${NAME}`;
const UNINSTALLED_LINE = `Community package uninstalled: ${NAME}`;
/** What a process logs when it refuses or fails to follow main's command. */
const REFUSED_LINES = ['Skipped installing community package', 'Failed to install community package', 'Skipped uninstalling community package', 'Failed to uninstall community package'];
/** n8n's start-up lines when the database records a package that is not on disk. */
const MISSING_WARNING = 'n8n detected that some packages are missing';
const REINSTALLING = 'Attempting to reinstall missing packages';
/** A worker's, npm's and n8n's work for one install on two shared cores: generous, never a measure. */
const FOLLOW_TIMEOUT_MS = 240_000;

let workDir: string;
let sandbox: Sandbox;
let registry: LocalRegistry;
let cluster: QueueCluster;
let first: PackedPackage;
/** Each process's own npm calls log (one wrapper folder per process). */
const npmCallsLogs = new Map<string, string>();
let batchWorkflowId: string;

const say = (line: string): void => {
	process.stderr.write(`[queue-community-install] ${line}\n`);
};
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms));

function processName(role: QueueRole, index: number): string {
	return role === 'main' ? 'main' : `${role}-${index + 1}`;
}

/** The wrapper and registry environment for one process, its npm calls logged apart from the others'. */
function installEnv(role: QueueRole, index: number): Record<string, string> {
	const name = processName(role, index);
	const { env, callsLog } = registryInstallEnv(join(workDir, 'bin', name), registry.url);
	npmCallsLogs.set(name, callsLog);
	return env;
}

beforeAll(async () => {
	workDir = mkdtempSync(join(tmpdir(), 'whilter-queue-install-'));
	const verdaccio = await ensureVerdaccio();
	if (verdaccio.installed) say(`installed verdaccio in ${Math.round(verdaccio.ms / 1000)} s`);
	first = await packPackage(join(workDir, 'tarballs'));
	// Tasks move a step every 400 ms: pending → in-progress → completed (output CSV in S3) in about 1 s.
	sandbox = await startSandbox({ autoAdvanceMs: 400 });
	registry = await startRegistry();
	registry.publish(first.file);
	cluster = await startQueueCluster({
		withoutPackage: true,
		workers: 2,
		webhookProcessors: 1,
		mainEnv: installEnv('main', 0),
		// worker-2 reinstalls at start what the database records and its disk lacks; worker-1 keeps n8n's default (false).
		workerEnv: (index) => ({ ...installEnv('worker', index), ...(index === 1 ? { N8N_REINSTALL_MISSING_PACKAGES: 'true' } : {}) }),
		webhookEnv: (index) => installEnv('webhook', index),
	});
	say(`cluster ready in ${cluster.startupMs.total} ms: ${cluster.processes.map((p) => `${p.name} ${p.startupMs} ms`).join(', ')}`);
}, 900_000);

afterAll(async () => {
	await cluster?.stop();
	await registry?.stop();
	await sandbox?.close();
	if (workDir) rmSync(workDir, { recursive: true, force: true });
});

const packageDir = (proc: QueueProcess): string => join(proc.userFolder, '.n8n', 'nodes', 'node_modules', NAME);

/** The package version in a process's nodes folder, or undefined when the folder holds none. */
function versionOnDisk(proc: QueueProcess): string | undefined {
	const manifest = join(packageDir(proc), 'package.json');
	return existsSync(manifest) ? (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version : undefined;
}

function logLines(proc: QueueProcess, needle: string): string[] {
	return proc
		.log()
		.split('\n')
		.filter((line) => line.includes(needle));
}

function npmCalls(proc: QueueProcess): string[] {
	const file = npmCallsLogs.get(proc.name);
	return file && existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

/** Each process by name → what `fact` says of it. */
function byProcess<T>(fact: (proc: QueueProcess) => T): Record<string, T> {
	return Object.fromEntries(cluster.processes.map((proc) => [proc.name, fact(proc)]));
}

/** Polls until `done` holds (returns true) or the time is up; the caller then asserts what holds. */
async function until(done: () => boolean, timeoutMs = FOLLOW_TIMEOUT_MS): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!done() && Date.now() < deadline) await sleep(500);
}

const followers = (): QueueProcess[] => [...cluster.workers, ...cluster.webhookProcessors];
const isWorker = (name: string): boolean => /^worker-\d+$/.test(name);

describe('the Community Nodes install on main in queue mode (n8n 2.41)', () => {
	test('no process has the package before the install', () => {
		expect(byProcess(versionOnDisk)).toEqual({ main: undefined, 'worker-1': undefined, 'worker-2': undefined, 'webhook-1': undefined });
	});

	test("main installs it; each worker and the webhook processor installs the same version itself on main's pubsub command", async () => {
		const installed = (await cluster.main.rest<{ data: { packageName: string; installedVersion: string; installedNodes: Array<{ type: string }> } }>('POST', '/community-packages', { name: NAME, verify: false })).data;
		expect(installed).toMatchObject({ packageName: NAME, installedVersion: first.version });
		expect(installed.installedNodes.map((n) => n.type).sort()).toEqual(builtNodes().map((n) => `${PACKAGE_PREFIX}${n.name}`).sort());

		await until(() => cluster.processes.every((proc) => logLines(proc, INSTALLED_LINE).length === 1));
		for (const proc of cluster.processes) say(`${proc.name}: ${logLines(proc, INSTALLED_LINE).join(' | ')}; npm: ${npmCalls(proc).filter((c) => c.startsWith('pack ')).join(' | ')}`);

		expect(byProcess(versionOnDisk)).toEqual({ main: first.version, 'worker-1': first.version, 'worker-2': first.version, 'webhook-1': first.version });
		expect(byProcess((proc) => logLines(proc, INSTALLED_LINE).length)).toEqual({ main: 1, 'worker-1': 1, 'webhook-1': 1, 'worker-2': 1 });
		expect(byProcess((proc) => REFUSED_LINES.flatMap((line) => logLines(proc, line)))).toEqual({ main: [], 'worker-1': [], 'worker-2': [], 'webhook-1': [] });
		// Main packs what the dialog asked for (latest); the others pack the version main recorded in the database.
		expect(npmCalls(cluster.main)).toContainEqual(expect.stringMatching(new RegExp(`^pack ${NAME}@latest --quiet --registry=`)));
		for (const proc of followers()) {
			expect({ name: proc.name, calls: npmCalls(proc) }).toEqual({ name: proc.name, calls: expect.arrayContaining([expect.stringMatching(new RegExp(`^pack ${NAME}@${first.version} --quiet --registry=`))]) });
		}
		recordDeployFigures('queue', { community_install: `${Object.values(byProcess(versionOnDisk)).filter((v) => v === first.version).length}/4` });
	});

	test('example (1) runs on a worker with the installed nodes, and its completion callback starts (2) through the webhook processor', async () => {
		const credentialIds = await createSandboxCredentials(cluster.main, sandbox);
		const options = { prefix: PACKAGE_PREFIX, credentialIds };

		const callbackJson = readExample('callback-flow.json', options);
		const callbackWorkflow = await cluster.main.importWorkflow(callbackJson);
		const callbackUrl = triggerUrl(cluster.webhookUrl, callbackJson);
		expect(callbackUrl.startsWith(cluster.webhookProcessors[0].url)).toBe(true);
		await activateWebhookWorkflow(cluster.main, callbackWorkflow.id, callbackUrl, 120_000);

		const batchJson = readExample('batch-campaign.json', options);
		const batchNode = batchJson.nodes.find((node) => node.type === `${PACKAGE_PREFIX}whilterBatch`);
		if (!batchNode) throw new Error('example (1) has no Whilter Batch');
		batchNode.parameters = { ...batchNode.parameters, options: { ...(batchNode.parameters.options as IDataObject), callbackUrl } };
		batchWorkflowId = (await cluster.main.importWorkflow(batchJson)).id;
		const batch = await cluster.main.runManually(batchWorkflowId, { triggerName: 'Start', timeoutMs: 240_000 });
		expect(batch.data?.resultData.error?.message).toBeUndefined();
		expect(batch.status).toBe('success');
		const [task] = nodeOutput(batch, 'Whilter Batch');
		expect(task).toMatchObject({ 'row-count': 25, 'campaign-id': 'diwali-2026' });
		const rows = nodeOutput(batch, 'Whilter Status');
		expect(rows).toHaveLength(25);
		expect(rows.filter((row) => row.error)).toHaveLength(5);
		expect(nodeOutput(batch, 'TimePay Initiate')).toEqual([expect.objectContaining({ 'campaign-id': 'camp-loans', 'status-code': 207 })]);
		const batchWho = await cluster.waitForWhoRan(batch.id);
		say(`example (1), execution ${batch.id}: ${JSON.stringify(batchWho)}`);
		expect(batchWho.enqueuedBy).toEqual(['main']);
		expect(batchWho.startedOn).toEqual([expect.stringMatching(/^worker-\d+$/)]);

		// The sandbox's completion callback went to (2)'s production URL on the webhook processor, whose
		// Whilter Trigger (the package's node, loaded there) accepted it and enqueued (2) for a worker.
		const [callback]: Execution[] = await finishedExecutions(cluster.main, callbackWorkflow.id, 1, 120_000);
		expect(callback).toMatchObject({ status: 'success', mode: 'webhook' });
		expect(sandbox.whilter.callbacks.filter((c) => c.taskId === String(task['task-id']))).toEqual([expect.objectContaining({ status: 200 })]);
		expect(nodeOutput(callback, 'Result rows')).toHaveLength(25);
		const callbackWho = await cluster.waitForWhoRan(callback.id);
		say(`example (2), execution ${callback.id}: ${JSON.stringify(callbackWho)}`);
		expect(callbackWho.enqueuedBy).toEqual(['webhook-1']);
		expect(callbackWho.startedOn.every(isWorker)).toBe(true);
		expect(callbackWho.startedOn).toHaveLength(1);
		recordDeployFigures('queue', { community_install_runs: 'ok' });
	});

	test('a worker started later with an empty nodes folder gets the package only with N8N_REINSTALL_MISSING_PACKAGES=true', async () => {
		const [worker1, worker2] = cluster.workers;
		// As a worker container recreated without a persistent ~/.n8n would start: the database records
		// the package, the disk has none. worker-2 first: its reinstall publishes an install command
		// that a running worker lacking the package would follow, so worker-1 starts after it.
		for (const worker of [worker2, worker1]) {
			await worker.kill('SIGTERM');
			rmSync(packageDir(worker), { recursive: true, force: true });
			await worker.restart();
		}
		say(`worker-1 at start: ${logLines(worker1, MISSING_WARNING).join(' | ')}`);
		say(`worker-2 at start: ${logLines(worker2, REINSTALLING).join(' | ')}; ${logLines(worker2, INSTALLED_LINE).join(' | ')}`);

		expect(logLines(worker1, MISSING_WARNING)).toHaveLength(1);
		expect(logLines(worker1, REINSTALLING)).toEqual([]);
		expect(versionOnDisk(worker1)).toBeUndefined();

		expect(logLines(worker2, REINSTALLING)).toHaveLength(1);
		expect(logLines(worker2, INSTALLED_LINE)).toHaveLength(2);
		expect(versionOnDisk(worker2)).toBe(first.version);

		// With worker-2 stopped, the next run can only go to worker-1, which has not loaded the nodes.
		await worker2.kill('SIGTERM');
		const failed = await cluster.main.runManually(batchWorkflowId, { triggerName: 'Start', timeoutMs: 120_000 });
		const who = await cluster.waitForWhoRan(failed.id);
		say(`example (1) with worker-1 only, execution ${failed.id}: ${failed.status}, ${failed.data?.resultData.error?.message ?? 'no error'}; ${JSON.stringify(who)}`);
		expect(who.startedOn).toEqual(['worker-1']);
		expect(failed.status).toBe('error');
		expect(failed.data?.resultData.error?.message).toContain(`Unrecognized node type: ${PACKAGE_PREFIX}`);
		// Its folder still holds the package: it loads it at start like any installed package.
		await worker2.restart();
		expect(logLines(worker2, REINSTALLING)).toHaveLength(1);
		recordDeployFigures('queue', { community_restart_without_reinstall: versionOnDisk(worker1) ?? 'none', community_restart_with_reinstall: versionOnDisk(worker2) ?? 'none' });
	});

	test("the update on main (PATCH) reaches every process, worker-1's empty folder included", async () => {
		const next = await packPackage(join(workDir, 'tarballs'), UPDATE_VERSION);
		registry.publish(next.file);
		const before = byProcess((proc) => logLines(proc, INSTALLED_LINE).length);

		const updated = (await cluster.main.rest<{ data: { installedVersion: string } }>('PATCH', '/community-packages', { name: NAME })).data;
		expect(updated.installedVersion).toBe(UPDATE_VERSION);

		await until(() => cluster.processes.every((proc) => versionOnDisk(proc) === UPDATE_VERSION && logLines(proc, INSTALLED_LINE).length > before[proc.name]));
		expect(byProcess(versionOnDisk)).toEqual({ main: UPDATE_VERSION, 'worker-1': UPDATE_VERSION, 'worker-2': UPDATE_VERSION, 'webhook-1': UPDATE_VERSION });
		expect(byProcess((proc) => logLines(proc, INSTALLED_LINE).length - before[proc.name])).toEqual({ main: 1, 'worker-1': 1, 'worker-2': 1, 'webhook-1': 1 });
		for (const proc of followers()) {
			expect({ name: proc.name, calls: npmCalls(proc) }).toEqual({ name: proc.name, calls: expect.arrayContaining([expect.stringMatching(new RegExp(`^pack ${NAME}@${UPDATE_VERSION} --quiet --registry=`))]) });
		}
		expect(byProcess((proc) => REFUSED_LINES.flatMap((line) => logLines(proc, line)))).toEqual({ main: [], 'worker-1': [], 'worker-2': [], 'webhook-1': [] });
		recordDeployFigures('queue', { community_update: `${Object.values(byProcess(versionOnDisk)).filter((v) => v === UPDATE_VERSION).length}/4` });
	});

	test('the uninstall on main (DELETE) removes the package from every process', async () => {
		const res = await cluster.main.raw('DELETE', `/rest/community-packages?name=${encodeURIComponent(NAME)}`);
		expect(res.status).toBe(200);

		await until(() => cluster.processes.every((proc) => versionOnDisk(proc) === undefined && logLines(proc, UNINSTALLED_LINE).length === 1));
		for (const proc of cluster.processes) say(`${proc.name}: ${logLines(proc, UNINSTALLED_LINE).join(' | ')}`);
		expect(byProcess(versionOnDisk)).toEqual({ main: undefined, 'worker-1': undefined, 'worker-2': undefined, 'webhook-1': undefined });
		expect(byProcess((proc) => logLines(proc, UNINSTALLED_LINE).length)).toEqual({ main: 1, 'worker-1': 1, 'worker-2': 1, 'webhook-1': 1 });
		expect(byProcess((proc) => REFUSED_LINES.flatMap((line) => logLines(proc, line)))).toEqual({ main: [], 'worker-1': [], 'worker-2': [], 'webhook-1': [] });
		recordDeployFigures('queue', { community_uninstall: `${Object.values(byProcess(versionOnDisk)).filter((v) => v === undefined).length}/4` });
	});
});
