/**
 * n8n dies mid-campaign: SIGKILL to the n8n process group at three points of a Whilter Batch run, then
 * n8n started again on the same user folder (same sqlite database, same encryption key, same port),
 * and what the user sees and what the servers' ledgers hold afterwards:
 * (a) during the multipart upload (an UploadPart held unanswered by the S3 server), then the workflow
 *     run again;
 * (b) while the execution waits for Whilter's completion callback, then the callback sent;
 * (c) after Whilter acted on the task POST (its answer held by a proxy in front of Whilter), then the
 *     workflow run again.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { dirname, join } from 'node:path';

import type { INode } from 'n8n-workflow';

import { CUSTOM_PREFIX, nodeOutput } from '../e2e/examples';
import { DEFAULT_N8N_VERSION, startN8n } from '../e2e/n8n';
import type { Execution, N8nHandle, WorkflowJson } from '../e2e/n8n';
import { ensureN8n } from '../e2e/n8n/install';
import { freePortOtherThan, launchN8n, n8nEnv, signalGroup, untrackGroup, waitUntilReady } from '../e2e/n8n/process';
import { publicApiCalls } from '../e2e/n8n/publicApi';
import { createSession, E2E_OWNER } from '../e2e/n8n/rest';
import { workflowRuns } from '../e2e/n8n/runs';
import { DIST_DIR, ensurePackageBuilt } from '../e2e/package';
import { startManualRun } from '../e2e/whilterFlows';
import type { CredentialRef } from '../e2e/whilterFlows';
import { REQUEST_TIMEOUT_SECONDS, startServers, whilterCredentialData } from './campaign';
import type { Servers } from './campaign';
import { planCampaign } from './plan';
import type { CampaignPlan } from './plan';

export interface KillResult {
	name: string;
	held: boolean;
	findings: string[];
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const found = await probe();
		if (found !== undefined) return found;
		if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
		await sleep(200);
	}
}

function groupAlive(pgid: number): boolean {
	try {
		process.kill(-pgid, 0);
		return true;
	} catch {
		return false;
	}
}

/** SIGKILL to n8n's process group (the task runner with it); resolves once the group is gone. */
async function killN8n(n8n: N8nHandle): Promise<void> {
	signalGroup(n8n.pid, 'SIGKILL');
	await until('n8n process group gone after SIGKILL', 30_000, () => (groupAlive(n8n.pid) ? undefined : true));
	untrackGroup(n8n.pid);
}

/** n8n started again on the killed one's user folder, port and API key; signed in as the owner. */
async function restartN8n(killed: N8nHandle): Promise<N8nHandle> {
	const install = await ensureN8n(DEFAULT_N8N_VERSION);
	const env = n8nEnv(killed.userFolder, killed.port, await freePortOtherThan(killed.port), DIST_DIR, install.runtime);
	const launch = { node: join(install.runtime.binDir, 'node'), bin: install.bin, tempDir: dirname(killed.userFolder), logFile: killed.logFile, env };
	const n8n = launchN8n(launch);
	try {
		await waitUntilReady(n8n, killed.url);
		const session = createSession(killed.url);
		session.useApiKey(killed.apiKey);
		await session.rest('POST', '/login', { emailOrLdapLoginId: E2E_OWNER.email, password: E2E_OWNER.password });
		return {
			...killed,
			pid: n8n.pgid,
			startupMs: Date.now() - n8n.startedAt,
			log: n8n.log,
			api: session.api,
			rest: session.rest,
			raw: session.raw,
			stop: n8n.stop,
			...publicApiCalls(session.api, install.version),
			...workflowRuns(session, install.version, launch),
		};
	} catch (error) {
		await n8n.stop();
		throw error;
	}
}

/** A proxy in front of Whilter that forwards everything, but holds the answer to the task POST once Whilter has acted on it. */
async function holdingProxy(target: string): Promise<{ url: string; held: () => boolean; close: () => Promise<void> }> {
	let held = false;
	const sockets = new Set<Socket>();
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			const upstream = http.request(`${target}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (answer) => {
				const body: Buffer[] = [];
				answer.on('data', (c: Buffer) => body.push(c));
				answer.on('end', () => {
					if (req.method === 'POST' && /\/task$/.test(req.url ?? '') && !held) {
						held = true;
						return;
					}
					res.writeHead(answer.statusCode ?? 502, answer.headers);
					res.end(Buffer.concat(body));
				});
			});
			upstream.on('error', () => res.destroy());
			upstream.end(Buffer.concat(chunks));
		});
	});
	server.on('connection', (s: Socket) => {
		sockets.add(s);
		s.on('close', () => sockets.delete(s));
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
		held: () => held,
		close: async () => {
			for (const s of sockets) s.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

function batchWorkflow(name: string, plan: CampaignPlan, whilterApi: CredentialRef, rowsCode: string, waitForCallback: boolean): WorkflowJson {
	const nodes: INode[] = [
		{ id: randomUUID(), name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
		{ id: randomUUID(), name: 'Rows', type: 'n8n-nodes-base.code', typeVersion: 2, position: [200, 0], parameters: { jsCode: rowsCode } },
		{
			id: randomUUID(),
			name: 'Whilter Batch',
			type: `${CUSTOM_PREFIX}whilterBatch`,
			typeVersion: 1,
			position: [400, 0],
			parameters: { inputSource: 'items', identifierColumn: 'phone', templateId: 'T-KILL', campaignId: plan.id, options: waitForCallback ? { waitForCallback: true, callbackTimeout: 10 } : {} },
			credentials: { whilterApi },
		},
	];
	return {
		name,
		nodes,
		connections: { Start: { main: [[{ node: 'Rows', type: 'main', index: 0 }]] }, Rows: { main: [[{ node: 'Whilter Batch', type: 'main', index: 0 }]] } },
		settings: {},
	};
}

/** Rows with a large pseudo-random field, made inside n8n: a ZIP past one 5 MiB S3 part. */
const LARGE_ROWS = `const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
let x = 12345;
const out = [];
for (let i = 0; i < 400; i++) {
	const note = [];
	for (let j = 0; j < 36000; j++) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; note.push(A[x >>> 26]); }
	out.push({ json: { phone: '+9170000' + String(i).padStart(5, '0'), name: 'Row ' + i, note: note.join('') } });
}
return out;`;

const SMALL_ROWS = `return Array.from({ length: 12 }, (_, i) => ({ json: { phone: '+9171000' + String(i).padStart(5, '0'), name: 'Row ' + i } }));`;

async function whilterCredential(n8n: N8nHandle, plan: CampaignPlan, servers: Servers, baseUrl: string): Promise<CredentialRef> {
	return await n8n.createCredential(
		`Whilter ${plan.id}`,
		'whilterApi',
		whilterCredentialData(plan, servers, { baseUrl, tokenUrlTimeout: 10, requestTimeout: 10 * REQUEST_TIMEOUT_SECONDS }),
	);
}

async function statusOf(n8n: N8nHandle, executionId: string): Promise<Execution> {
	return await n8n.execution(executionId);
}

function errorText(execution: Execution): string {
	const error = execution.data?.resultData.error as { message?: string; description?: string | null } | undefined;
	return error ? `${error.message ?? ''}${error.description ? ` — ${error.description}` : ''}` : '(no error)';
}

/** SIGKILL, then n8n again on the same database (see killN8n, restartN8n). */
async function killAndRestart(n8n: N8nHandle): Promise<N8nHandle> {
	await killN8n(n8n);
	return await restartN8n(n8n);
}

/** The killed execution as the restarted n8n's public API shows it, once it is no longer new or running (or as it is after a minute). */
async function killedExecution(n8n: N8nHandle, executionId: string): Promise<Execution> {
	return await until('the killed execution in the public API', 60_000, async () => {
		const e = await statusOf(n8n, executionId);
		return ['new', 'running'].includes(e.status) ? undefined : e;
	}).catch(async () => await statusOf(n8n, executionId));
}

/** A calm plan (no storm): the scenario's fault is the kill alone. */
function calmPlan(index: number): CampaignPlan {
	return { ...planCampaign(20261203, 10_000 + index), rate: 0, tokenUses: undefined, tokenTtlSeconds: 3600, callbacks: 'once', large: false };
}

async function scenario(name: string, log: (line: string) => void, body: (findings: string[]) => Promise<boolean>): Promise<KillResult> {
	const findings: string[] = [];
	const began = Date.now();
	try {
		const held = await body(findings);
		findings.push(`${Math.round((Date.now() - began) / 1000)} s`);
		log(`kill ${name}: ${held ? 'held' : 'BROKEN'}: ${findings.join('; ')}`);
		return { name, held, findings };
	} catch (error) {
		findings.push(`the scenario failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
		log(`kill ${name}: BROKEN: ${findings.join('; ')}`);
		return { name, held: false, findings };
	}
}

/** (a) SIGKILL while an UploadPart is in flight; restart; what the user sees; run again; the open upload. */
async function duringUpload(log: (line: string) => void): Promise<KillResult> {
	return await scenario('(a) during the multipart upload', log, async (findings) => {
		const plan = calmPlan(0);
		const servers = await startServers(plan);
		let n8n: N8nHandle | undefined = await startN8n({ extensionsDir: DIST_DIR });
		try {
			const whilterApi = await whilterCredential(n8n, plan, servers, servers.whilter.url);
			const saved = await n8n.importWorkflow(batchWorkflow(`kill upload ${plan.id}`, plan, whilterApi, LARGE_ROWS, false));
			servers.s3.silence({ method: 'PUT', query: 'partNumber', times: 1 });
			const executionId = await startManualRun(n8n, DEFAULT_N8N_VERSION, saved.id);
			await until('an UploadPart held by the S3 server', 240_000, () => (servers.s3.requests.some((r) => r.silenced) ? true : undefined));
			const killed = n8n;
			n8n = undefined;
			n8n = await killAndRestart(killed);
			const after = await killedExecution(n8n, executionId);
			findings.push(`after restart the execution is "${after.status}" (finished=${after.finished})`);
			const rerun = await n8n.runManually(saved.id, { timeoutMs: 300_000 });
			findings.push(`run again: ${rerun.status}${rerun.status === 'success' ? ` (task ${String(nodeOutput(rerun, 'Whilter Batch')[0]?.['task-id'] ?? '?')})` : `: ${errorText(rerun)}`}`);
			const tasks = servers.whilter.tasks.size;
			const uploads = [...servers.s3.multipart.values()];
			const open = uploads.filter((u) => u.state === 'open');
			findings.push(`Whilter tasks: ${tasks}`);
			findings.push(`multipart uploads: ${uploads.map((u) => `${u.state}${u.state === 'open' ? (u.idSent ? ' (id known to the killed run)' : ' (id never sent)') : ''}`).join(', ')}`);
			findings.push(
				open.length
					? `the next run did not abort the killed run's upload (the node does not list uploads): ${open.length} left open, listed for cleanup by the bucket's lifecycle rule (AbortIncompleteMultipartUpload)`
					: 'no upload left open',
			);
			return tasks === 1 && rerun.status === 'success' && after.status !== 'running' && open.length === 1;
		} finally {
			await n8n?.stop();
			await servers.close();
		}
	});
}

/** (b) SIGKILL while the execution waits for the callback; restart; the callback comes. */
async function whileWaiting(log: (line: string) => void): Promise<KillResult> {
	return await scenario('(b) while waiting for the callback', log, async (findings) => {
		const plan = calmPlan(1);
		const servers = await startServers(plan, { autoAdvanceMs: 0 });
		let n8n: N8nHandle | undefined = await startN8n({ extensionsDir: DIST_DIR });
		try {
			const whilterApi = await whilterCredential(n8n, plan, servers, servers.whilter.url);
			const saved = await n8n.importWorkflow(batchWorkflow(`kill wait ${plan.id}`, plan, whilterApi, SMALL_ROWS, true));
			const executionId = await startManualRun(n8n, DEFAULT_N8N_VERSION, saved.id);
			await until('the execution waiting', 120_000, async () => ((await statusOf(n8n as N8nHandle, executionId)).status === 'waiting' ? true : undefined));
			const killed = n8n;
			n8n = undefined;
			n8n = await killAndRestart(killed);
			const after = await statusOf(n8n, executionId);
			findings.push(`after restart the execution is "${after.status}"`);
			const task = [...servers.whilter.tasks.values()][0];
			if (!task) throw new Error('no task was created');
			await servers.whilter.advance(task.id);
			await servers.whilter.advance(task.id);
			const callback = servers.whilter.callbacks.find((c) => c.taskId === task.id);
			findings.push(`Whilter's callback to the resume URL answered ${callback?.status ?? callback?.error ?? 'nothing'}`);
			const done = await until('the execution resumed', 120_000, async () => {
				const e = await statusOf(n8n as N8nHandle, executionId);
				return ['success', 'error', 'crashed', 'canceled'].includes(e.status) && e.stoppedAt ? e : undefined;
			}).catch(async () => await statusOf(n8n as N8nHandle, executionId));
			const rows = nodeOutput(done, 'Whilter Batch');
			findings.push(`then "${done.status}" with ${rows.length} result rows${done.status === 'success' ? '' : `: ${errorText(done)}`}`);
			findings.push(`Whilter tasks: ${servers.whilter.tasks.size}`);
			return done.status === 'success' && rows.length === 12 && servers.whilter.tasks.size === 1;
		} finally {
			await n8n?.stop();
			await servers.close();
		}
	});
}

/** (c) SIGKILL after Whilter created the task, before its answer reached n8n; restart; run again. */
async function afterTaskPost(log: (line: string) => void): Promise<KillResult> {
	return await scenario('(c) after the task POST was acted on', log, async (findings) => {
		const plan = calmPlan(2);
		const servers = await startServers(plan);
		const proxy = await holdingProxy(servers.whilter.url);
		let n8n: N8nHandle | undefined = await startN8n({ extensionsDir: DIST_DIR });
		try {
			const whilterApi = await whilterCredential(n8n, plan, servers, proxy.url);
			const saved = await n8n.importWorkflow(batchWorkflow(`kill task ${plan.id}`, plan, whilterApi, SMALL_ROWS, false));
			const executionId = await startManualRun(n8n, DEFAULT_N8N_VERSION, saved.id);
			await until('the task created and its answer held', 120_000, () => (proxy.held() && servers.whilter.tasks.size === 1 ? true : undefined));
			const killed = n8n;
			n8n = undefined;
			n8n = await killAndRestart(killed);
			const after = await killedExecution(n8n, executionId);
			findings.push(`after restart the execution is "${after.status}" (finished=${after.finished})`);
			const rerun = await n8n.runManually(saved.id, { timeoutMs: 120_000 });
			const message = errorText(rerun);
			findings.push(`run again: ${rerun.status}: ${message.split(' — ')[0].replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<time>')}`);
			findings.push(`Whilter tasks: ${servers.whilter.tasks.size}`);
			return rerun.status === 'error' && /earlier run may have created a Whilter task/.test(message) && servers.whilter.tasks.size === 1;
		} finally {
			await n8n?.stop();
			await proxy.close();
			await servers.close();
		}
	});
}

/** The three scenarios, one after another (each with an n8n of its own). */
export async function runKillScenarios(log: (line: string) => void): Promise<KillResult[]> {
	await ensurePackageBuilt();
	return [await duringUpload(log), await whileWaiting(log), await afterTaskPost(log)];
}
