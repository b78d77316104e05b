/**
 * Queue-mode scenarios (n8n 2.41.1, e2e/queue.ts): one cluster of main, two workers and two webhook
 * processors, PostgreSQL 17 and Redis of its own, against the sandbox.
 *
 * 1. A 1M-row CSV file read from disk on a worker lands in n8n's binary storage, which in queue mode
 *    is the database (`database` mode: a bytea row in PostgreSQL), and Whilter Batch streams it from
 *    there into a ZIP in S3. n8n's database mode does not stream: storing reads the whole file into
 *    one Buffer, and reading hands back a stream over one Buffer loaded whole from PostgreSQL
 *    (n8n/dist/binary-data/database.manager.js). The worker's RSS (its process group, task runner
 *    included) is sampled during the run: baseline and peak are reported; the task is created once
 *    with row-count 1,000,000 and its ZIP holds the 1M rows.
 * 2. Several Whilter Batch executions started together run on both workers while the contract
 *    server ends tokens early (after a few uses and after a short lifetime, answering 403 or 401):
 *    every execution creates exactly one task, every row of every campaign is in the ZIP Whilter
 *    received, and the number of token requests is reported.
 * 3. Exactly once across two webhook processors. The Whilter Trigger remembers a started callback
 *    in its process's memory and in the workflow's static data, which the webhook processor loads
 *    per request and saves after the node's webhook(). Measured with n8n 2.41.1: a repeat to a
 *    processor that started the callback is always answered "already handled"; the first callback
 *    the node ever stores reaches the other processor through the database, later ones do not
 *    (n8n 2.41 saves the node's static data only when it creates the node's entry; 2.8 saves every
 *    change), so a later callback delivered to each processor in turn starts once per processor;
 *    delivered to both at the same moment it started twice in every trial here. Asserted: never more
 *    than once per processor, one execution per "Workflow started" answer; the counts are reported.
 *    Whilter Batch's resume URL delivered to both processors at once resumes the execution once:
 *    n8n moves it out of `waiting` with a conditional update, and the other processor's call fails.
 */
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Papa from 'papaparse';
import type { IBinaryData, IDataObject, INode } from 'n8n-workflow';

import { activateWebhookWorkflow, createSandboxCredentials, nodeOutput } from '../../e2e/examples';
import { DEFAULT_N8N_VERSION, httpCall } from '../../e2e/n8n';
import type { Execution, WorkflowJson } from '../../e2e/n8n';
import { DIST_DIR, ensurePackageBuilt } from '../../e2e/package';
import { memoryLine, startQueueCluster } from '../../e2e/queue';
import type { QueueCluster, WhoRan } from '../../e2e/queue';
import { batchWaitWorkflow, executionReaching, postJson, seededTaskAt, startManualRun, taskOfCampaign, triggerWorkflow } from '../../e2e/whilterFlows';
import type { CredentialRef } from '../../e2e/whilterFlows';
import { SANDBOX_CREDENTIALS, startSandbox } from '../servers/sandbox';
import type { Sandbox } from '../servers/sandbox';
import type { Task } from '../servers/whilter';
import { readZipEntries } from '../servers/zipEntries';
import { recordDeployFigures } from './figures';

jest.setTimeout(900_000);

const PREFIX = 'CUSTOM.';
const BUCKET = SANDBOX_CREDENTIALS.bucket;
const CLIENT = SANDBOX_CREDENTIALS.whilter.client;
const SECRET = 'queue-callback-secret-3b8e61f0';
const HEADER = 'X-Whilter-Secret';
/** Extra file sizes to measure besides 1M (e.g. QUEUE_FILE_EXTRA_ROWS=250000,2000000): figures only, nothing asserted. */
const EXTRA_ROWS = (process.env.QUEUE_FILE_EXTRA_ROWS ?? '')
	.split(',')
	.filter((value) => value.trim() !== '')
	.map(Number);

let sandbox: Sandbox;
let cluster: QueueCluster;
let workDir: string;
let whilterApi: CredentialRef;
let header: CredentialRef;

const say = (line: string) => process.stderr.write(`[queue-scenarios] ${line}\n`);
const sleep = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms));
const isWorker = (name: string) => /^worker-\d+$/.test(name);

beforeAll(async () => {
	workDir = mkdtempSync(join(tmpdir(), 'whilter-queue-scenarios-'));
	await ensurePackageBuilt();
	sandbox = await startSandbox();
	cluster = await startQueueCluster({
		extensionsDir: DIST_DIR,
		workers: 2,
		webhookProcessors: 2,
		// n8n 2.x reads files only under ~/.n8n-files by default; the test's CSVs are in its own folder.
		env: { N8N_RESTRICT_FILE_ACCESS_TO: workDir },
	});
	const { startupMs } = cluster;
	say(`cluster ready in ${startupMs.total} ms; memory: ${memoryLine(cluster.memory())}`);
	const ids = await createSandboxCredentials(cluster.main, sandbox);
	whilterApi = { id: ids.whilterApi, name: 'Whilter (sandbox)' };
	header = { id: (await cluster.main.createCredential('Whilter callback secret', 'whilterCallbackHeaderAuthApi', { headerName: HEADER, secret: SECRET })).id, name: 'Whilter callback secret' };
}, 900_000);

afterAll(async () => {
	if (cluster) say(`memory at the end: ${memoryLine(cluster.memory())}`);
	await cluster?.stop();
	await sandbox?.close();
	if (workDir) rmSync(workDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Shared pieces

const CSV_COLUMNS = ['phone', 'name', 'city', 'segment', 'offer', 'amount'];

/** The phone of customer `i` of campaign number `campaign` (unique across campaigns). */
function phoneOf(campaign: number, i: number): string {
	return `+91${9_000_000_000 + campaign * 1_000_000 + i}`;
}

/** Customer rows as the benchmarks make them (bench/batch.ts), about 60 bytes each as CSV; "offer" needs quoting. */
function csvLineOf(campaign: number, i: number): string {
	return `${phoneOf(campaign, i)},Customer ${i},City ${i % 500},seg-${i % 7},"offer ${i % 13}, limited",${(i % 997) * 1.5}\r\n`;
}

async function writeCustomerCsv(name: string, campaign: number, rows: number): Promise<string> {
	const path = join(workDir, name);
	const out = createWriteStream(path);
	out.write(`${CSV_COLUMNS.join(',')}\r\n`);
	for (let i = 0; i < rows; i += 2000) {
		let text = '';
		for (let j = i; j < Math.min(rows, i + 2000); j++) text += csvLineOf(campaign, j);
		if (!out.write(text)) await once(out, 'drain');
	}
	out.end();
	await once(out, 'finish');
	return path;
}

function node(id: number, name: string, type: string, parameters: INode['parameters'], extra: Partial<INode> = {}): INode {
	return { id: `c0000000-0000-4000-8000-${String(id).padStart(12, '0')}`, name, type, typeVersion: 1, position: [id * 220, 0], parameters, ...extra };
}

function chain(name: string, nodes: INode[]): WorkflowJson {
	const connections: WorkflowJson['connections'] = {};
	for (let i = 0; i + 1 < nodes.length; i++) connections[nodes[i].name] = { main: [[{ node: nodes[i + 1].name, type: 'main', index: 0 }]] };
	return { name, nodes, connections, settings: {} };
}

const readFileNode = (path: string): INode => node(2, 'Read CSV', 'n8n-nodes-base.readWriteFile', { operation: 'read', fileSelector: path, options: {} });

function batchNode(campaign: string, input: 'items' | 'file'): INode {
	return node(4, 'Whilter Batch', `${PREFIX}whilterBatch`, {
		inputSource: input,
		...(input === 'file' ? { binaryPropertyName: 'data' } : {}),
		identifierColumn: 'phone',
		templateId: 'T-Q',
		campaignId: campaign,
		options: {},
	}, { credentials: { whilterApi } });
}

function tasksOf(campaign: string): Task[] {
	return [...sandbox.whilter.tasks.values()].filter((task) => task.body['campaign-id'] === campaign);
}

/** The identifier column of the CSV inside a task's ZIP, as Whilter reads it. */
async function phonesInZip(task: Task): Promise<string[]> {
	const entries = await readZipEntries(await sandbox.s3.getObjectBuffer(BUCKET, task.inputKey));
	expect(entries).toHaveLength(1);
	const parsed = Papa.parse<Record<string, string>>(entries[0].text, { header: true, skipEmptyLines: true });
	return parsed.data.map((row) => row.phone);
}

async function finished(executionId: string, timeoutMs = 600_000): Promise<Execution> {
	return await executionReaching(cluster.main, executionId, ['success'], timeoutMs);
}

// ---------------------------------------------------------------------------------------------
// 1. A 1M-row CSV file from n8n's database binary storage

interface FileRun {
	rows: number;
	fileMb: number;
	worker: string;
	baselineMb: number;
	peakMb: number;
	postgresBaselineMb: number;
	postgresPeakMb: number;
	binaryId: string;
	task: Task;
	execution: Execution;
}

async function runFile(rows: number, campaignNumber: number): Promise<FileRun> {
	const campaign = `file-${rows}`;
	const path = await writeCustomerCsv(`${campaign}.csv`, campaignNumber, rows);
	const fileMb = Math.round(statSync(path).size / 1024 / 1024);
	const saved = await cluster.main.importWorkflow(chain(campaign, [node(1, 'Start', 'n8n-nodes-base.manualTrigger', {}), readFileNode(path), batchNode(campaign, 'file')]));

	// Idle figures first, then samples every 100 ms until the execution ends.
	await sleep(2000);
	const baseline = cluster.workers.map((w) => w.rssMb());
	const postgresBaselineMb = cluster.postgres.pssMb();
	const peaks = [...baseline];
	let postgresPeakMb = postgresBaselineMb;
	let ticks = 0;
	const sampler = setInterval(() => {
		cluster.workers.forEach((w, i) => (peaks[i] = Math.max(peaks[i], w.rssMb())));
		if (ticks++ % 10 === 0) postgresPeakMb = Math.max(postgresPeakMb, cluster.postgres.pssMb());
	}, 100);
	let execution: Execution;
	try {
		const executionId = await startManualRun(cluster.main, DEFAULT_N8N_VERSION, saved.id);
		execution = await finished(executionId);
	} finally {
		clearInterval(sampler);
	}
	const who = await cluster.waitForWhoRan(execution.id);
	const index = cluster.workers.findIndex((w) => w.name === who.startedOn[0]);
	const read = execution.data?.resultData.runData['Read CSV']?.[0]?.data?.main?.[0]?.[0]?.binary?.data as IBinaryData | undefined;
	const [task] = tasksOf(campaign);
	rmSync(path, { force: true });
	return {
		rows,
		fileMb,
		worker: who.startedOn[0],
		baselineMb: baseline[index] ?? 0,
		peakMb: peaks[index] ?? 0,
		postgresBaselineMb,
		postgresPeakMb,
		binaryId: String(read?.id ?? ''),
		task,
		execution,
	};
}

/** The workflow's executions as n8n's public API lists them, once the list shows at least one (it can lag a moment). */
async function listedExecutions(workflowId: string, timeoutMs = 30_000): Promise<Execution[]> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const listed = await cluster.main.executions(workflowId);
		if (listed.length > 0 || Date.now() > deadline) return listed;
		await sleep(500);
	}
}

describe('1. a 1M-row CSV file from n8n\'s database binary storage, on a worker', () => {
	const ROWS = 1_000_000;
	let run: FileRun;

	beforeAll(async () => {
		run = await runFile(ROWS, 1);
		say(`1M file (${run.fileMb} MB) on ${run.worker}: worker RSS baseline ${run.baselineMb} MB, peak ${run.peakMb} MB (+${run.peakMb - run.baselineMb} MB); PostgreSQL PSS ${run.postgresBaselineMb} → ${run.postgresPeakMb} MB`);
		recordDeployFigures('queue', { file_1M_worker_peak_mb: run.peakMb, file_1M_worker_baseline_mb: run.baselineMb, file_1M_mb: run.fileMb });
		for (const [k, rows] of EXTRA_ROWS.entries()) {
			const extra = await runFile(rows, 2 + k);
			say(`${rows}-row file (${extra.fileMb} MB) on ${extra.worker}: worker RSS baseline ${extra.baselineMb} MB, peak ${extra.peakMb} MB (+${extra.peakMb - extra.baselineMb} MB); PostgreSQL PSS ${extra.postgresBaselineMb} → ${extra.postgresPeakMb} MB; task row-count ${String(extra.task?.body['row-count'])}`);
		}
	}, 1_800_000);

	test('ran on a worker; the file was kept in the database binary mode', async () => {
		expect(run.execution.status).toBe('success');
		expect(isWorker(run.worker)).toBe(true);
		expect(run.binaryId).toMatch(/^database:/);
	});

	test('one task with row-count 1,000,000, and its ZIP in S3 holds the 1M rows', async () => {
		const tasks = tasksOf(`file-${ROWS}`);
		expect(tasks).toHaveLength(1);
		expect(sandbox.whilter.requests.filter((r) => r.method === 'POST' && r.path === `/${CLIENT}/task` && r.status === 200 && (r.body as IDataObject)['campaign-id'] === `file-${ROWS}`)).toHaveLength(1);
		expect(tasks[0].body['row-count']).toBe(ROWS);
		expect(nodeOutput(run.execution, 'Whilter Batch')[0]).toMatchObject({ 'task-id': tasks[0].id, 'row-count': ROWS });
		const phones = await phonesInZip(tasks[0]);
		expect(phones).toHaveLength(ROWS);
		expect(phones[0]).toBe(phoneOf(1, 0));
		expect(phones[ROWS - 1]).toBe(phoneOf(1, ROWS - 1));
		expect(new Set(phones).size).toBe(ROWS);
	});

	test('the worker held the file in memory (database mode does not stream): its peak grew by at least the file size', async () => {
		// A lower bound only: n8n's DatabaseManager keeps the whole file as one Buffer when storing it and
		// again when reading it back, so the growth is at least one copy of the file.
		expect(run.peakMb - run.baselineMb).toBeGreaterThanOrEqual(run.fileMb);
	});
});

// ---------------------------------------------------------------------------------------------
// 2. Two workers, campaigns at the same time, tokens ending early

interface Campaign {
	name: string;
	number: number;
	rows: number;
	input: 'items' | 'file';
	executionId?: string;
}

function campaignWorkflow(campaign: Campaign, path?: string): WorkflowJson {
	const { name, number, rows } = campaign;
	const source =
		campaign.input === 'file' && path
			? readFileNode(path)
			: node(2, 'Customers', 'n8n-nodes-base.code', {
					jsCode: `const rows = []; for (let i = 0; i < ${rows}; i++) rows.push({ json: { phone: '+91' + (${9_000_000_000 + number * 1_000_000} + i), name: 'Customer ' + i } }); return rows;`,
				}, { typeVersion: 2 });
	return chain(name, [
		node(1, 'Start', 'n8n-nodes-base.manualTrigger', {}),
		source,
		batchNode(name, campaign.input),
		// Held in the worker (n8n waits under 65 s in-process): each execution keeps a worker slot a
		// while, so both workers take some, and the status call comes after a short-lived token's time.
		node(5, 'Pause', 'n8n-nodes-base.wait', { resume: 'timeInterval', amount: 4, unit: 'seconds' }, { typeVersion: 1.1 }),
		node(6, 'Status', `${PREFIX}whilterStatus`, { operation: 'get' }, { credentials: { whilterApi } }),
	]);
}

interface Round {
	label: string;
	executions: number;
	workers: string[];
	tokenRequests: number;
	refused: Record<string, number>;
	duplicates: number;
}

async function runRound(label: string, first: number, count: number, setUp: () => void): Promise<{ round: Round; campaigns: Campaign[] }> {
	const campaigns: Campaign[] = Array.from({ length: count }, (_, k) => ({
		name: `tokens-${label}-${k + 1}`,
		number: first + k,
		rows: 200 + 50 * k,
		input: k % 3 === 2 ? 'file' : 'items',
	}));
	const workflowIds: string[] = [];
	for (const campaign of campaigns) {
		const path = campaign.input === 'file' ? await writeCustomerCsv(`${campaign.name}.csv`, campaign.number, campaign.rows) : undefined;
		workflowIds.push((await cluster.main.importWorkflow(campaignWorkflow(campaign, path))).id);
	}
	setUp();
	const requestsBefore = sandbox.whilter.requests.length;
	const ids = await Promise.all(workflowIds.map(async (id) => await startManualRun(cluster.main, DEFAULT_N8N_VERSION, id)));
	ids.forEach((id, k) => (campaigns[k].executionId = id));
	await Promise.all(ids.map(async (id) => await finished(id, 600_000)));
	const who: WhoRan[] = await Promise.all(ids.map(async (id) => await cluster.waitForWhoRan(id)));
	const requests = sandbox.whilter.requests.slice(requestsBefore);
	const refused: Record<string, number> = {};
	for (const r of requests.filter((r) => r.status === 401 || r.status === 403)) refused[`${r.method} ${r.path.replace(/\/[^/]+$/, '/…')} ${r.status}`] = (refused[`${r.method} ${r.path.replace(/\/[^/]+$/, '/…')} ${r.status}`] ?? 0) + 1;
	const round: Round = {
		label,
		executions: ids.length,
		workers: [...new Set(who.flatMap((w) => w.startedOn))].sort(),
		tokenRequests: requests.filter((r) => r.method === 'POST' && r.path === '/getToken/token' && r.status === 200).length,
		refused,
		duplicates: campaigns.reduce((sum, c) => sum + Math.max(0, tasksOf(c.name).length - 1), 0),
	};
	say(`round ${label}: ${JSON.stringify(round)}; per execution: ${JSON.stringify(who.map((w, k) => `${ids[k]}@${w.startedOn.join('+')}`))}`);
	return { round, campaigns };
}

describe('2. two workers, campaigns at the same time, tokens ending early', () => {
	const rounds: Array<{ round: Round; campaigns: Campaign[] }> = [];

	beforeAll(async () => {
		// A token serves 3 calls, then the server answers 403 (n8n renews and repeats the call).
		rounds.push(
			await runRound('403-after-3-uses', 100, 8, () => {
				sandbox.whilter.expiredTokenStatus = 403;
				sandbox.whilter.expireTokenAfterUses(3);
			}),
		);
		// A token lives 4 s (used for 2 s, then renewed before use); a late one gets 401.
		rounds.push(
			await runRound('401-ttl-4s', 200, 8, () => {
				sandbox.whilter.expireTokenAfterUses(Number.POSITIVE_INFINITY);
				sandbox.whilter.expiredTokenStatus = 401;
				sandbox.whilter.tokenTtlSeconds = 4;
				sandbox.whilter.expireTokens();
			}),
		);
		sandbox.whilter.tokenTtlSeconds = 3600;
		const all = rounds.map((r) => r.round);
		recordDeployFigures('queue', {
			duplicate_tasks: all.reduce((sum, r) => sum + r.duplicates, 0),
			token_requests: all.map((r) => `${r.label}:${r.tokenRequests}/${r.executions}exec`).join(' '),
		});
	}, 1_800_000);

	test('both workers ran executions in each round', () => {
		for (const { round } of rounds) expect({ label: round.label, workers: round.workers }).toEqual({ label: round.label, workers: ['worker-1', 'worker-2'] });
	});

	test('exactly one task per execution: no duplicate task despite refused tokens', () => {
		for (const { campaigns } of rounds) {
			for (const campaign of campaigns) expect({ campaign: campaign.name, tasks: tasksOf(campaign.name).length }).toEqual({ campaign: campaign.name, tasks: 1 });
		}
		expect(rounds.map((r) => r.round.duplicates)).toEqual([0, 0]);
	});

	test('tokens did end during the runs (403 after the uses, 401 past the lifetime), and n8n fetched new ones', () => {
		const refusedWith = (round: Round, status: number) => Object.entries(round.refused).filter(([key]) => key.endsWith(` ${status}`)).reduce((sum, [, n]) => sum + n, 0);
		expect(refusedWith(rounds[0].round, 403)).toBeGreaterThan(0);
		// Every token was ended before the second round: its first call is refused at least.
		expect(refusedWith(rounds[1].round, 401)).toBeGreaterThan(0);
		for (const { round } of rounds) expect(round.tokenRequests).toBeGreaterThanOrEqual(1);
	});

	test('every row of every campaign is in the ZIP Whilter received', async () => {
		for (const { campaigns } of rounds) {
			for (const campaign of campaigns) {
				const [task] = tasksOf(campaign.name);
				const expected = Array.from({ length: campaign.rows }, (_, i) => phoneOf(campaign.number, i));
				expect({ campaign: campaign.name, rowCount: task.body['row-count'] }).toEqual({ campaign: campaign.name, rowCount: campaign.rows });
				expect({ campaign: campaign.name, phones: await phonesInZip(task) }).toEqual({ campaign: campaign.name, phones: expected });
			}
		}
	});
});

// ---------------------------------------------------------------------------------------------
// 3. Exactly once across two webhook processors

function onProcessor(url: string, processor: number): string {
	const target = new URL(url);
	target.host = new URL(cluster.webhookProcessors[processor].url).host;
	return target.toString();
}

describe('3. exactly once across two webhook processors', () => {
	const auth = { [HEADER]: SECRET };

	interface Trigger {
		workflowId: string;
		/** The production URL on webhook-1 and on webhook-2. */
		urls: [string, string];
	}

	async function activeTrigger(name: string, webhookId: string): Promise<Trigger> {
		const workflow = triggerWorkflow({ name, webhookId, prefix: PREFIX, parameters: { event: 'batchTask', authentication: 'headerAuth', options: {} }, whilterApi, header });
		const saved = await cluster.main.importWorkflow(workflow);
		const path = `/webhook/${webhookId}/whilter`;
		const urls: [string, string] = [`${cluster.webhookProcessors[0].url}${path}`, `${cluster.webhookProcessors[1].url}${path}`];
		await activateWebhookWorkflow(cluster.main, saved.id, urls[0]);
		// The other processor reads the same database: it serves the webhook once main registered it.
		while ((await httpCall('POST', urls[1])).status === 404) await sleep(250);
		return { workflowId: saved.id, urls };
	}

	const callback = async (url: string, taskId: string) => await postJson(url, { 'task-id': taskId, status: 'completed' }, auth);
	// The body has a `status` of its own (the task's): the HTTP status goes beside it.
	const answerOf = (res: { status: number; text: string }): IDataObject => ({ ...(JSON.parse(res.text) as IDataObject), httpStatus: res.status });
	const started = (answer: IDataObject) => answer.message === 'Workflow started';

	/** The finished executions the callback of `taskId` started, once `atLeast` are there and a late one had time to show. */
	async function executionsOfTask(trigger: Trigger, taskId: string, atLeast: number): Promise<number> {
		const ofTask = async () => (await cluster.main.executions(trigger.workflowId)).filter((e) => e.stoppedAt && nodeOutput(e, 'Whilter Trigger')[0]?.['task-id'] === taskId).length;
		const deadline = Date.now() + 120_000;
		while ((await ofTask()) < atLeast && Date.now() < deadline) await sleep(250);
		await sleep(2000);
		return await ofTask();
	}

	test('one after the other across processes: the first callback the node stores starts once; n8n 2.41 keeps no later one in the static data, so a later callback can start once per processor (≤ 2); a repeat to a processor that started it is always "already handled"', async () => {
		const TRIALS = 6;
		const trigger = await activeTrigger('queue-trigger-in-turn', '2a0e9d8c-7b6a-4a5b-8c7d-000000000001');
		const trials: Array<{ executions: number; second: 'started' | 'duplicate' }> = [];
		const keys: string[] = [];
		for (let trial = 0; trial < TRIALS; trial++) {
			const taskId = await seededTaskAt(sandbox, 2);
			keys.push(`task/${taskId}/completed`);
			const [p, q] = trial % 2 === 0 ? [0, 1] : [1, 0];
			const first = answerOf(await callback(trigger.urls[p], taskId));
			const second = answerOf(await callback(trigger.urls[q], taskId));
			// Both processors now have it in memory: every further delivery is a repeat.
			const again = [answerOf(await callback(trigger.urls[p], taskId)), answerOf(await callback(trigger.urls[q], taskId))];
			expect(first).toMatchObject({ httpStatus: 200, message: 'Workflow started', 'task-id': taskId });
			expect(second).toMatchObject({ httpStatus: 200, 'task-id': taskId });
			for (const answer of again) expect(answer).toMatchObject({ httpStatus: 200, duplicate: true, 'task-id': taskId });
			const executions = await executionsOfTask(trigger, taskId, started(second) ? 2 : 1);
			expect({ trial, executions }).toEqual({ trial, executions: started(second) ? 2 : 1 });
			trials.push({ executions, second: started(second) ? 'started' : 'duplicate' });
		}
		say(`in turn across processes, ${TRIALS} trials: ${JSON.stringify(trials)}`);
		recordDeployFigures('queue', { trigger_in_turn_executions: trials.map((t) => t.executions).join(',') });
		// The workflow's static data was empty: the first write creates the node's entry, which n8n saves.
		expect(trials[0]).toEqual({ executions: 1, second: 'duplicate' });
		for (const t of trials) expect(t.executions).toBeLessThanOrEqual(2);

		// Why the later ones are not shared: n8n 2.41's WorkflowRunner builds a second Workflow over the
		// same static data object before the webhook's answer (establishContextForPersistence), which
		// marks it unchanged again, so LiveWebhooks does not save what the node's webhook() wrote once
		// the node had an entry. Only the first callback is in the database.
		const stored = await cluster.main.api<{ staticData: IDataObject | null }>('GET', `/workflows/${trigger.workflowId}`);
		const handled = ((stored.staticData?.['node:Whilter Trigger'] as IDataObject | undefined)?.handledCallbacks ?? {}) as IDataObject;
		say(`stored handled callbacks: ${JSON.stringify(Object.keys(handled))} of ${JSON.stringify(keys)}`);
		expect(Object.keys(handled)).toEqual([keys[0]]);
	});

	test('at the same moment to both processors: each loads the static data before the other saved, so it can start twice (≤ 2); the distribution is reported', async () => {
		const TRIALS = 10;
		const trigger = await activeTrigger('queue-trigger-at-once', '2a0e9d8c-7b6a-4a5b-8c7d-000000000002');
		const counts: number[] = [];
		for (let trial = 0; trial < TRIALS; trial++) {
			const taskId = await seededTaskAt(sandbox, 2);
			const answers = (await Promise.all(trigger.urls.map(async (url) => await callback(url, taskId)))).map(answerOf);
			expect(answers.map((a) => a.httpStatus)).toEqual([200, 200]);
			const startedAnswers = answers.filter(started).length;
			const executions = await executionsOfTask(trigger, taskId, startedAnswers);
			// The answers tell what happened: one "Workflow started" per execution, the rest "already handled".
			expect({ trial, executions }).toEqual({ trial, executions: startedAnswers });
			counts.push(executions);
		}
		const distribution = { once: counts.filter((c) => c === 1).length, twice: counts.filter((c) => c === 2).length };
		say(`at once, ${TRIALS} trials: executions per trial ${JSON.stringify(counts)} → ${JSON.stringify(distribution)}`);
		recordDeployFigures('queue', { trigger_at_once: `once ${distribution.once}, twice ${distribution.twice} of ${TRIALS}` });
		expect(counts.every((c) => c === 1 || c === 2)).toBe(true);
	});

	test("Whilter Batch's resume URL to both processors at once: resumed once (n8n moves the execution out of waiting with a conditional update; the other processor's call fails)", async () => {
		const ROWS = 3;
		const TRIALS = 4;
		const outcomes: Array<{ answers: number[]; resumes: number; status: string }> = [];
		for (let trial = 0; trial < TRIALS; trial++) {
			const name = `queue-resume-at-once-${trial + 1}`;
			const saved = await cluster.main.importWorkflow(batchWaitWorkflow({ name, prefix: PREFIX, whilterApi, customers: ROWS }));
			const executionId = await startManualRun(cluster.main, DEFAULT_N8N_VERSION, saved.id);
			await executionReaching(cluster.main, executionId, ['waiting'], 300_000);
			const { task, callbackUrl } = taskOfCampaign(sandbox, name);
			expect(callbackUrl).toContain(`/webhook-waiting/${executionId}`);
			// Completed without the server's own callback: the test delivers it, to both processors at once.
			delete (sandbox.whilter.tasks.get(task.id) as Task).body['callback-url'];
			await sandbox.whilter.advance(task.id);
			await sandbox.whilter.advance(task.id);
			const answers = await Promise.all([0, 1].map(async (p) => await sandbox.whilter.sendCallback({ taskId: task.id, url: onProcessor(callbackUrl, p) })));
			const done = await executionReaching(cluster.main, executionId, ['success'], 300_000);
			await cluster.waitForWhoRan(executionId, 2);
			// Long enough for a second resume to show in the workers' logs.
			await sleep(3000);
			const who = cluster.whoRan(executionId);
			outcomes.push({ answers: answers.map((a) => a.status ?? 0), resumes: who.startedOn.length - 1, status: (await cluster.main.execution(executionId)).status });
			expect(nodeOutput(done, 'Whilter Batch')).toHaveLength(ROWS);
			// No second execution either. The list can lag behind the execution itself: wait until it shows one.
			expect((await listedExecutions(saved.id)).map((e) => e.id)).toEqual([executionId]);
		}
		say(`resume at once, ${TRIALS} trials: ${JSON.stringify(outcomes)}`);
		recordDeployFigures('queue', { resume_at_once: outcomes.map((o) => o.resumes).join(',') });
		for (const outcome of outcomes) {
			expect(outcome.answers.filter((s) => s === 200)).toHaveLength(1);
			expect(outcome.answers.filter((s) => s !== 200).every((s) => s === 409 || s === 500)).toBe(true);
			expect(outcome.resumes).toBe(1);
			expect(outcome.status).toBe('success');
		}
	});
});
