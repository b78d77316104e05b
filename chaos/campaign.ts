/**
 * One campaign, in-process through n8n-core: its own servers (S3, Whilter, Insider, TimePay), a storm on
 * each, and the campaign path run as n8n runs it:
 * - execution "batch": rows (items or a CSV file) → Whilter Batch → Whilter Status (Get Results,
 *   waiting for completion) → the first made video as a file → Insider upload → TimePay initiate;
 * - the Whilter Trigger receiving the task's callbacks (late, twice, or out of order, as planned),
 *   as Whilter delivers them: again while the answer is not a 2xx;
 * - execution "realtime": Whilter Realtime creating media for a few users at its default concurrency.
 * What the servers received and acted on is handed back as the campaign's ledger; invariants.ts judges it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import type { CredentialStore, NodeSpec, RunResult } from '../test/harness/run';
import type { StoredWorkflow, WebhookResult } from '../test/harness/webhook';
import type { StormEvent } from '../test/servers/http';
import { startInsiderServer } from '../test/servers/insider';
import type { InsiderServer } from '../test/servers/insider';
import { S3_TEST_KEYS, startS3Server } from '../test/servers/s3';
import type { MultipartRecord, S3Server } from '../test/servers/s3';
import { startTimePayServer } from '../test/servers/timepay';
import type { InitiateRecord, TimePayServer } from '../test/servers/timepay';
import { startWhilterServer } from '../test/servers/whilter';
import type { CallbackRecord, RealtimeRequest, Task, WhilterServer } from '../test/servers/whilter';
import { taskCallbackBody } from '../test/servers/whilter/callbacks';
import { SAMPLE_MP4, singleCsvOf } from '../test/servers/whilter/files';
import { Draw, S3_KINDS, WHILTER_KINDS } from './plan';
import type { CampaignPlan } from './plan';
import { CampaignClock, onClock, realNow } from './virtualTime';

/** The harness, loaded by the runner after n8n-workflow's sleep is made virtual. */
export interface Harness {
	runChain: typeof import('../test/harness/run').runChain;
	CredentialStore: typeof import('../test/harness/run').CredentialStore;
	probeNode: typeof import('../test/harness/run').probeNode;
	callWebhook: typeof import('../test/harness/webhook').callWebhook;
	storedWorkflow: typeof import('../test/harness/webhook').storedWorkflow;
	n8nLogs: typeof import('../test/harness/webhook').n8nLogs;
}

export const BUCKET = 'chaos-drop';
/** The node's request timeout (s) in every chaos workflow: a slow fault answers past it. */
export const REQUEST_TIMEOUT_SECONDS = 1;
export const SLOW_MS = Number(process.env.CHAOS_SLOW_MS ?? 1_600);
/** Virtual seconds the Status and Realtime nodes wait for completion. */
export const WAIT_TIMEOUT_SECONDS = 900;
/** Real time an execution may take before it counts as hung: its deadlines are ≤ a few real seconds per call and virtual otherwise. */
export const HUNG_AFTER_MS = Number(process.env.CHAOS_HUNG_AFTER_MS ?? 180_000);
const CALLBACK_ATTEMPTS = 6;

export interface ExecutionOutcome {
	name: 'batch' | 'realtime' | 'trigger';
	ok: boolean;
	/** The error that ended it (message, then description). */
	error?: { message: string; description?: string };
	hung: boolean;
	realMs: number;
	virtualMs: number;
	/** Serialised outputs and errors, scanned for secrets. */
	text: string;
}

/** What the servers received and acted on, for one campaign. */
export interface CampaignLedger {
	tasks: Task[];
	/** The rows of each task's input ZIP as Whilter stored it: identifier column values. */
	zipRows: Map<string, string[]>;
	realtime: RealtimeRequest[];
	initiations: InitiateRecord[];
	insiderMedia: number;
	insiderUploadPosts: number;
	multipart: MultipartRecord[];
	callbacks: CallbackRecord[];
}

export interface TriggerDelivery {
	taskId: string;
	status: number;
	started: boolean;
	/** Rows the started workflow got. */
	rows: string[];
	error?: string;
}

export interface CampaignOutcome {
	plan: CampaignPlan;
	runner: string;
	/** Identifiers of the rows the campaign sent. */
	sent: string[];
	/** Identifiers that reached the batch execution's Status output. */
	output: string[];
	/** The Status node ran to completion (its rows are the campaign's output). */
	statusCompleted: boolean;
	executions: ExecutionOutcome[];
	triggerDeliveries: TriggerDelivery[];
	realtimeIds: string[];
	ledger: CampaignLedger;
	faults: Array<StormEvent & { server: string }>;
	/** Everything that must not appear in any output, error or log. */
	secrets: string[];
	/** The n8n log lines written while the campaign ran (shared with campaigns running beside it). */
	logText: string;
	/** Faults the runner itself caused (callbacks late, twice, out of order; tokens expiring). */
	extraFaults: string[];
}

/** How a campaign is run: in-process through n8n-core here; a real n8n process can implement the same. */
export interface CampaignRunner {
	readonly name: string;
	run(plan: CampaignPlan): Promise<CampaignOutcome>;
}

export interface Servers {
	s3: S3Server;
	whilter: WhilterServer;
	insider: InsiderServer;
	timepay: TimePayServer;
	close(): Promise<void>;
}

export function secretsOf(plan: CampaignPlan): { clientSecret: string; insiderKey: string; timepayToken: string } {
	return {
		clientSecret: `chaos-secret-${plan.id}-${plan.stormSeed.toString(16)}`,
		insiderKey: `ins-key-${plan.id}-SECRET`,
		timepayToken: `tp-token-${plan.id}-SECRET`,
	};
}

/** `autoAdvanceMs`: how fast Whilter moves a task on (a real n8n must be waiting before the callback comes; 0 = only when told). */
/**
 * A campaign's Whilter credential, the same in n8n-core and in a real n8n. `baseUrl` puts something
 * in front of the contract server (a proxy that holds answers); the timeouts are the node's, in seconds.
 */
export function whilterCredentialData(
	plan: CampaignPlan,
	servers: Servers,
	options: { baseUrl?: string; tokenUrlTimeout?: number; requestTimeout?: number } = {},
): IDataObject {
	const baseUrl = options.baseUrl ?? servers.whilter.url;
	return {
		baseUrl,
		client: 'acme',
		authentication: 'clientCredentials',
		clientId: 'acme-client',
		clientSecret: secretsOf(plan).clientSecret,
		tokenUrl: `${baseUrl}/getToken/token`,
		tokenUrlTimeout: options.tokenUrlTimeout ?? REQUEST_TIMEOUT_SECONDS,
		requestTimeout: options.requestTimeout ?? REQUEST_TIMEOUT_SECONDS,
		s3Bucket: BUCKET,
		s3Prefix: `incoming/${plan.id}`,
		s3Region: S3_TEST_KEYS.region,
		s3AccessKeyId: S3_TEST_KEYS.accessKeyId,
		s3SecretAccessKey: S3_TEST_KEYS.secretAccessKey,
		s3Endpoint: servers.s3.endpoint,
		s3ForcePathStyle: true,
	};
}

export async function startServers(plan: CampaignPlan, overrides: { autoAdvanceMs?: number } = {}): Promise<Servers> {
	const secrets = secretsOf(plan);
	// The store's signature check and Date header on the real clock: the AWS SDK signs with new Date(), not Date.now.
	const s3 = await startS3Server({ buckets: [BUCKET], clock: realNow });
	const whilter = await startWhilterServer({
		client: 'acme',
		clientId: 'acme-client',
		clientSecret: secrets.clientSecret,
		// Whilter's own reads and writes of the drop go past the proxy: the storm is on the client's calls.
		s3: { endpoint: s3.upstreamEndpoint, bucket: BUCKET, region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
		tokenTtlSeconds: plan.tokenTtlSeconds,
		expiredTokenStatus: plan.expiredTokenStatus,
		autoAdvanceMs: overrides.autoAdvanceMs ?? 20,
		failRowEvery: 5,
		checkRowCount: !plan.large,
	});
	if (plan.tokenUses !== undefined) whilter.expireTokenAfterUses(plan.tokenUses);
	const insider = await startInsiderServer({ authKey: secrets.insiderKey });
	const timepay = await startTimePayServer({ token: secrets.timepayToken });
	const storm = { seed: plan.stormSeed, rate: plan.rate, slowMs: SLOW_MS, retryAfterSeconds: 1 };
	whilter.faults.storm({ ...storm, name: 'whilter', kinds: WHILTER_KINDS });
	insider.faults.storm({ ...storm, name: 'insider', kinds: WHILTER_KINDS });
	timepay.faults.storm({ ...storm, name: 'timepay', kinds: WHILTER_KINDS });
	s3.faults.storm({ ...storm, name: 's3', kinds: S3_KINDS });
	return {
		s3,
		whilter,
		insider,
		timepay,
		close: async () => {
			for (const server of [whilter, insider, timepay, s3]) server.faults.calm();
			await Promise.allSettled([whilter.close(), insider.close(), timepay.close()]);
			await s3.close();
		},
	};
}

function phoneOf(plan: CampaignPlan, i: number): string {
	return `+91${String(7_000_000_000 + plan.index * 1000 + i)}`;
}

/** The campaign's rows: names with commas, quotes and non-Latin letters now and then; a large campaign carries a big incompressible field. */
export function rowsOf(plan: CampaignPlan): IDataObject[] {
	const draw = new Draw(plan.stormSeed ^ 0x5bd1e995);
	const names = ['Asha Kulkarni', 'प्रिया शर्मा', 'Rahul "RJ" Joshi', 'Meera, N.', 'தமிழ்ச்செல்வி', 'O\'Brien'];
	return Array.from({ length: plan.rows }, (_, i) => ({
		phone: phoneOf(plan, i),
		name: draw.pick(names),
		offer: i % 3 === 0 ? 'Flat 20% off' : 'Free delivery',
		...(plan.large ? { note: randomBytes(27_000).toString('base64') } : {}),
	}));
}

function csvField(value: unknown): string {
	const text = String(value ?? '');
	return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvOf(rows: IDataObject[]): string {
	const columns = Object.keys(rows[0] ?? { phone: '' });
	return [columns.join(','), ...rows.map((row) => columns.map((c) => csvField(row[c])).join(','))].join('\r\n') + '\r\n';
}

function errorOf(result: RunResult): ExecutionOutcome['error'] {
	const error = result.error;
	if (!error) return undefined;
	return { message: error.message, description: error.description ?? undefined };
}

/** Runs an execution with a real-time watchdog: one that does not end in time is cancelled and counted as hung. */
async function watched(name: ExecutionOutcome['name'], clock: CampaignClock, start: (onStart: (cancel: () => void) => void) => Promise<RunResult>): Promise<{ outcome: ExecutionOutcome; result?: RunResult }> {
	const began = realNow();
	const virtualBegan = clock.now;
	let cancel: (() => void) | undefined;
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<'hung'>((resolve) => {
		timer = setTimeout(() => resolve('hung'), HUNG_AFTER_MS);
	});
	const running = start((c) => (cancel = c));
	const first = await Promise.race([running, timeout]);
	clearTimeout(timer);
	if (first === 'hung') {
		cancel?.();
		await Promise.race([running.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 10_000))]);
		return { outcome: { name, ok: false, hung: true, realMs: realNow() - began, virtualMs: clock.now - virtualBegan, text: '', error: { message: `${name} execution did not end within ${HUNG_AFTER_MS} ms` } } };
	}
	const result = first;
	const error = errorOf(result);
	const text = JSON.stringify({ runData: result.run.data.resultData.runData, error: result.run.data.resultData.error, error2: error });
	return { outcome: { name, ok: !error, error, hung: false, realMs: realNow() - began, virtualMs: clock.now - virtualBegan, text }, result };
}

export class InProcessRunner implements CampaignRunner {
	readonly name = 'in-process';

	constructor(private readonly harness: Harness) {}

	async run(plan: CampaignPlan): Promise<CampaignOutcome> {
		const clock = new CampaignClock(realNow());
		return await onClock(clock, async () => await this.runOnClock(plan, clock));
	}

	private async runOnClock(plan: CampaignPlan, clock: CampaignClock): Promise<CampaignOutcome> {
		const h = this.harness;
		const secrets = secretsOf(plan);
		const servers = await startServers(plan);
		const { s3, whilter, insider, timepay } = servers;
		const logMark = h.n8nLogs.length;
		const dir = mkdtempSync(join(tmpdir(), 'whilter-chaos-'));
		const store = new h.CredentialStore();
		const whilterApi = store.add('whilterApi', whilterCredentialData(plan, servers));
		const insiderApi = store.add('insiderApi', { authKey: secrets.insiderKey, baseUrl: insider.url });
		const timePayApi = store.add('timePayApi', { token: secrets.timepayToken, baseUrl: timepay.url });
		const rows = rowsOf(plan);
		const sent = rows.map((r) => String(r.phone));
		const executions: ExecutionOutcome[] = [];
		const extraFaults: string[] = [];
		if (plan.tokenUses !== undefined) extraFaults.push(`token-expiry-${plan.expiredTokenStatus}`);
		let output: string[] = [];
		let statusCompleted = false;
		const triggerDeliveries: TriggerDelivery[] = [];
		const workflow = h.storedWorkflow();
		try {
			// Out of order: a "completed" callback reaches the Trigger while the task is still being made.
			let early: Promise<void> | undefined;
			let batchEnded = false;
			if (plan.callbacks === 'out-of-order') {
				early = (async () => {
					while (!whilter.tasks.size && !batchEnded) await new Promise((resolve) => setTimeout(resolve, 5));
					const task = [...whilter.tasks.values()][0];
					if (!task) return;
					extraFaults.push('callback-out-of-order');
					triggerDeliveries.push(await this.deliverOnce(store, whilterApi, workflow, task, { ...taskCallbackBody(task, 'lower'), status: 'completed' }));
				})();
			}
			const batch = await watched('batch', clock, (onStart) =>
				h.runChain({
					items: plan.input === 'items' ? rows.map((json) => ({ json })) : [{ json: { campaign: plan.id } }],
					files: plan.input === 'file' ? [this.csvFile(dir, rows)] : undefined,
					credentials: store,
					onStart,
					nodes: this.batchNodes(plan, whilterApi, insiderApi, timePayApi),
				}),
			);
			batchEnded = true;
			executions.push(batch.outcome);
			if (batch.result?.run.data.resultData.runData['Whilter Status']?.[0]?.executionStatus === 'success') {
				statusCompleted = true;
				output = batch.result.output('Whilter Status').map((item) => String(item.json.phone));
			}
			await early;
			await this.deliverCallbacks(plan, store, whilterApi, workflow, whilter, triggerDeliveries, extraFaults);
			const realtime = await watched('realtime', clock, (onStart) =>
				h.runChain({
					items: Array.from({ length: plan.realtimeItems }, (_, i) => ({ json: { user: `u${i}`, crid: `${plan.id}-rt-${i}` } })),
					credentials: store,
					onStart,
					nodes: [
						{
							name: 'Whilter Realtime',
							type: 'whilterRealtime',
							parameters: {
								useCaseId: 'uc-1',
								userId: '={{ $json.user }}',
								customerId: 'acme-cust',
								clientRequestId: '={{ $json.crid }}',
								waitForMedia: true,
								checkInterval: 1,
								maxCheckInterval: 5,
								waitTimeout: WAIT_TIMEOUT_SECONDS,
								options: { requestTimeout: REQUEST_TIMEOUT_SECONDS },
							},
							credentials: { whilterApi },
						},
					],
				}),
			);
			executions.push(realtime.outcome);
			// Let what the servers still do for this campaign finish (a completion, a callback) before the ledger is read.
			for (const server of [whilter, insider, timepay, s3]) server.faults.calm();
			const ledger = await ledgerOf(servers);
			if (process.env.CHAOS_DEBUG) {
				// What each server saw, for a replayed campaign.
				for (const r of s3.requests) process.stdout.write(`  s3 ${r.method} ${r.path}?${r.query.slice(0, 60)} ${r.fault ?? ''} ${r.status ?? '-'}\n`);
				for (const r of whilter.requests) process.stdout.write(`  whilter ${r.method} ${r.path} ${r.fault ?? ''} ${r.status ?? '-'}\n`);
			}
			const tokens = store.helper.updates.map((u) => String(u.data.sessionToken ?? '')).filter((t) => t.length > 8);
			const logs = h.n8nLogs.slice(logMark);
			return {
				plan,
				runner: this.name,
				sent,
				output,
				statusCompleted,
				executions,
				triggerDeliveries,
				realtimeIds: realtimeIdsOf(plan),
				ledger,
				faults: stormFaultsOf(servers),
				secrets: [secrets.clientSecret, secrets.insiderKey, secrets.timepayToken, S3_TEST_KEYS.secretAccessKey, ...tokens],
				logText: JSON.stringify(logs),
				extraFaults,
			};
		} finally {
			rmSync(dir, { recursive: true, force: true });
			await servers.close();
		}
	}

	private csvFile(dir: string, rows: IDataObject[]): { property: string; path: string; fileName: string; mimeType: string } {
		const path = join(dir, 'customers.csv');
		writeFileSync(path, csvOf(rows));
		return { property: 'data', path, fileName: 'customers.csv', mimeType: 'text/csv' };
	}

	private batchNodes(plan: CampaignPlan, whilterApi: { id: string; name: string }, insiderApi: { id: string; name: string }, timePayApi: { id: string; name: string }): NodeSpec[] {
		const h = this.harness;
		return [
			{
				name: 'Whilter Batch',
				type: 'whilterBatch',
				parameters: {
					inputSource: plan.input,
					...(plan.input === 'file' ? { binaryPropertyName: 'data' } : {}),
					identifierColumn: 'phone',
					templateId: 'T-CHAOS',
					campaignId: plan.id,
					options: {},
				},
				credentials: { whilterApi },
			},
			{
				name: 'Whilter Status',
				type: 'whilterStatus',
				parameters: {
					operation: 'getResults',
					taskId: '={{ $json["task-id"] }}',
					rowFilter: 'all',
					resultFormat: 'items',
					waitForCompletion: true,
					checkInterval: 1,
					maxCheckInterval: 5,
					waitTimeout: WAIT_TIMEOUT_SECONDS,
					onTimeout: 'error',
				},
				credentials: { whilterApi },
			},
			// Stands in for Filter + Limit + HTTP Request (download the first made video): not part of this package.
			h.probeNode('First Video', async (context) => {
				const first = context.getInputData().find((item) => item.json['media-url']);
				if (!first) return [];
				const binary = await context.helpers.prepareBinaryData(SAMPLE_MP4, 'media.mp4', 'video/mp4');
				return [{ json: { phone: first.json.phone }, binary: { data: binary }, pairedItem: { item: 0 } } as INodeExecutionData];
			}),
			{
				name: 'Insider',
				type: 'insiderWhatsAppMedia',
				parameters: { operation: 'upload', binaryPropertyName: 'data', options: { requestTimeout: REQUEST_TIMEOUT_SECONDS } },
				credentials: { insiderApi },
			},
			{
				name: 'TimePay',
				type: 'timePayInitiate',
				parameters: {
					// From the list, not By ID: n8n checks a By ID value with a regular expression under a 250 ms
					// wall-clock guard, which a GC pause on a loaded machine can trip (the execution then fails).
					campaign: { __rl: true, mode: 'list', value: 'camp-loans' },
					channel: 'whatsapp',
					templateId: 'hfu7VL6sBhI6NPm',
					initiate: 'once',
					audience: 'wholeCampaign',
					options: { requestTimeout: REQUEST_TIMEOUT_SECONDS },
				},
				credentials: { timePayApi },
			},
		];
	}

	/** One callback POST to the Trigger, as Whilter sends it: again (up to a few times) while the answer is not a 2xx. */
	private async deliverOnce(
		store: CredentialStore,
		whilterApi: { id: string; name: string },
		workflow: StoredWorkflow,
		task: Task,
		body: Record<string, unknown>,
	): Promise<TriggerDelivery> {
		let last: WebhookResult | undefined;
		let error: string | undefined;
		for (let attempt = 0; attempt < CALLBACK_ATTEMPTS; attempt++) {
			try {
				last = await this.harness.callWebhook({
					node: {
						type: 'whilterTrigger',
						parameters: { event: 'batchTask', authentication: 'none', confirmWithApi: true, statuses: ['completed'], output: 'rows', rowFilter: 'all', options: {} },
						credentials: { whilterApi },
					},
					credentials: store,
					workflow,
					request: { json: body },
				});
				error = last.error ? `${last.error.message}${last.error.description ? ` — ${last.error.description}` : ''}` : undefined;
			} catch (thrown) {
				error = thrown instanceof Error ? thrown.message : String(thrown);
			}
			if (last && last.status < 300) break;
			// Whilter's next attempt comes later; the campaign's clock moves on as it would.
			await new Promise<void>((resolve) => setTimeout(resolve, 10));
		}
		const started = last?.workflowData !== undefined;
		return {
			taskId: task.id,
			status: last?.status ?? 0,
			started,
			rows: started ? (last?.items ?? []).map((item) => String(item.phone)) : [],
			error: error ?? (last && last.status >= 300 ? `HTTP ${last.status}: ${JSON.stringify(last.json)}` : undefined),
		};
	}

	private async deliverCallbacks(
		plan: CampaignPlan,
		store: CredentialStore,
		whilterApi: { id: string; name: string },
		workflow: StoredWorkflow,
		whilter: WhilterServer,
		deliveries: TriggerDelivery[],
		extraFaults: string[],
	): Promise<void> {
		const task = [...whilter.tasks.values()][0];
		if (!task) return;
		// The task completes by itself (auto-advance); a callback is only sent for a completed one.
		const until = realNow() + 60_000;
		while (task.state !== 'completed' && realNow() < until) {
			await whilter.advance(task.id).catch(() => undefined);
			await new Promise((resolve) => setTimeout(resolve, 5));
		}
		if (task.state !== 'completed') return;
		const body = taskCallbackBody(task, 'lower');
		if (plan.callbacks === 'late') {
			// Late: after the tokens the run used have expired.
			whilter.expireTokens();
			extraFaults.push('callback-late');
		}
		deliveries.push(await this.deliverOnce(store, whilterApi, workflow, task, body));
		if (plan.callbacks === 'twice') {
			extraFaults.push('callback-twice');
			deliveries.push(await this.deliverOnce(store, whilterApi, workflow, task, body));
		}
	}
}

/** What the servers received and acted on for one campaign (a completion in flight ends first). */
/** Every fault the servers' storms injected during a campaign, each with its server. */
export function stormFaultsOf(servers: Servers): CampaignOutcome['faults'] {
	return (['whilter', 'insider', 'timepay', 's3'] as const).flatMap((name) => servers[name].faults.stormLog.map((e) => ({ ...e, server: name })));
}

/** The client-request-ids of a campaign's real-time items. */
export function realtimeIdsOf(plan: CampaignPlan): string[] {
	return Array.from({ length: plan.realtimeItems }, (_, i) => `${plan.id}-rt-${i}`);
}

export async function ledgerOf(servers: Servers): Promise<CampaignLedger> {
	const { s3, whilter, insider, timepay } = servers;
	// A completion in flight (writing the output, calling back) ends before the ledger is read.
	await whilter.advance().catch(() => undefined);
	const zipRows = new Map<string, string[]>();
	for (const task of whilter.tasks.values()) {
		try {
			const csv = await singleCsvOf(await s3.getObjectBuffer(BUCKET, task.inputKey));
			const Papa = (await import('papaparse')).default;
			const parsed = Papa.parse<Record<string, string>>(csv, { header: true, skipEmptyLines: true });
			zipRows.set(task.id, parsed.data.map((r) => r.phone));
		} catch {
			zipRows.set(task.id, []);
		}
	}
	return {
		tasks: [...whilter.tasks.values()],
		zipRows,
		realtime: [...whilter.realtime.values()],
		initiations: [...timepay.initiations],
		insiderMedia: insider.media.size,
		insiderUploadPosts: insider.requests.filter((r) => r.method === 'POST' && r.path === '/v1/media/upload').length,
		multipart: [...s3.multipart.values()],
		callbacks: [...whilter.callbacks],
	};
}
