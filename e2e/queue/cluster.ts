/**
 * n8n in queue mode on one machine: PostgreSQL and Redis of its own, a main process (`n8n start`),
 * workers (`n8n worker`) that run the executions and webhook processors (`n8n webhook`) that take
 * production webhooks and resume calls, all on free loopback ports, each n8n process with the
 * package loaded, its own user folder, log and process group. e2e/README.md ("Queue mode") tells
 * what each process needs.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { ensureN8n } from '../n8n/install';
import type { N8nInstall } from '../n8n/install';
import { freePort, freePortOtherThan, launchN8n, n8nEnv, orStop, signalGroup, sleep, untrackGroup, waitUntilReady } from '../n8n/process';
import type { LaunchSpec, N8nProcess, ReadinessProbe } from '../n8n/process';
import { publicApiCalls } from '../n8n/publicApi';
import { createSession, E2E_OWNER, setUpOwner } from '../n8n/rest';
import { workflowRuns } from '../n8n/runs';
import { DEFAULT_N8N_VERSION } from '../n8n/runtime';
import { linkCommunityPackage } from '../n8n/start';
import type { N8nHandle } from '../n8n/start';
import { DIST_DIR } from '../package';
import { N8N_DATABASE, startPostgres } from './postgres';
import type { PostgresServer } from './postgres';
import { groupRssMb } from './procfs';
import { startRedis } from './redis';
import type { RedisServer } from './redis';

export type QueueRole = 'main' | 'worker' | 'webhook';

type EnvPerIndex = Record<string, string> | ((index: number) => Record<string, string>);

export interface QueueClusterOptions {
	/** Workers (`n8n worker`); default 2. */
	workers?: number;
	/** Webhook processors (`n8n webhook`); default 1. */
	webhookProcessors?: number;
	/** Main's HTTP port (e.g. 5678 for a cluster a person signs in to); a free one by default. */
	mainPort?: number;
	/** `--concurrency` of each worker; default 5. */
	workerConcurrency?: number;
	/** The folder n8n loads as N8N_CUSTOM_EXTENSIONS (types `CUSTOM.<name>`); default the package's `dist/`. */
	extensionsDir?: string;
	/**
	 * Instead: a package folder linked into every process's `~/.n8n/nodes/node_modules/<its name>`,
	 * as a community install puts it (types `<package>.<node>`).
	 */
	communityPackageDir?: string;
	/**
	 * No package at all (neither of the two above): a cluster into which the package is installed
	 * later, e.g. through the Community Nodes install on main.
	 */
	withoutPackage?: boolean;
	/** Called with each process's fresh N8N_USER_FOLDER before it starts (e.g. to copy the package in). */
	prepareUserFolder?: (userFolder: string, role: QueueRole, index: number) => void;
	version?: string;
	/** Extra environment for every n8n process (wins over the defaults). */
	env?: Record<string, string>;
	/** Extra environment per role (wins over `env`); a function gets the process's index (0-based). */
	mainEnv?: Record<string, string>;
	workerEnv?: EnvPerIndex;
	webhookEnv?: EnvPerIndex;
	/**
	 * What every process gets as WEBHOOK_URL (production webhooks and resume URLs are built from it):
	 * by default the first webhook processor, e.g. a proxy in front of several instead.
	 */
	webhookUrl?: string;
	/** How long each n8n process may take to become ready (default 240 s: several start at once on a small machine). */
	readyTimeoutMs?: number;
	/** SIGINT/SIGTERM stop the cluster, then end this process (default true). */
	handleSignals?: boolean;
}

/** One n8n process of the cluster. */
export interface QueueProcess {
	/** `main`, `worker-1`, `worker-2`, `webhook-1`, … */
	name: string;
	role: QueueRole;
	/** Main and webhook processors: their HTTP server; workers: their health server (`/healthz`, `/healthz/readiness`). */
	url: string;
	port: number;
	/** Its current process id (also its process group; the task runner is its child). Changes on restart. */
	readonly pid: number;
	/** Its stdout and stderr, across restarts. */
	logFile: string;
	userFolder: string;
	/** Milliseconds from spawn to ready, for the latest start. */
	readonly startupMs: number;
	log(): string;
	/** RSS of its process group (n8n and its task runner), in MB, from /proc. */
	rssMb(): number;
	alive(): boolean;
	/** Sends `signal` (default SIGKILL) to its group and waits until it has exited. */
	kill(signal?: NodeJS.Signals): Promise<void>;
	/** Stops it if it runs (SIGTERM), then starts it again on the same ports and folder and waits until it is ready. */
	restart(): Promise<void>;
}

/** The main process: a single n8n's handle (e2e/n8n.ts) plus the process calls. Its `stop()` stops the whole cluster. */
export type QueueMain = N8nHandle & Omit<QueueProcess, 'url' | 'port' | 'pid' | 'logFile' | 'userFolder' | 'startupMs' | 'log'>;

/** Who took part in an execution, by process name, from their logs. */
export interface WhoRan {
	/** The processes that put it on the queue (main for manual runs, a webhook processor for production webhooks and resumes): once per start or resume. */
	enqueuedBy: string[];
	/** The workers that started it (an execution that waited and resumed appears twice, perhaps on two workers). */
	startedOn: string[];
	/** The workers that finished a part of it. */
	finishedOn: string[];
}

export interface ClusterMemory {
	/** Each process's RSS in MB (n8n processes with their task runner); PostgreSQL as PSS (its backends share their buffers). */
	main: number;
	workers: number[];
	webhookProcessors: number[];
	redis: number;
	postgres: number;
	total: number;
}

export interface QueueCluster {
	main: QueueMain;
	workers: QueueProcess[];
	webhookProcessors: QueueProcess[];
	/** Every n8n process: main, then the workers, then the webhook processors. */
	processes: QueueProcess[];
	/** WEBHOOK_URL without the trailing slash: production webhooks are `${webhookUrl}/webhook/…`. */
	webhookUrl: string;
	postgres: PostgresServer;
	redis: RedisServer;
	encryptionKey: string;
	/** The cluster's folder (logs, user folders, PostgreSQL's data); removed on stop unless N8N_E2E_KEEP=1. */
	dir: string;
	/** Milliseconds from the call until every process was ready, and of its parts. */
	startupMs: { total: number; postgresAndRedis: number; n8n: number };
	whoRan(executionId: string): WhoRan;
	/** Waits until the logs show `count` worker starts of the execution (the log line may trail the API's status). */
	waitForWhoRan(executionId: string, count?: number, timeoutMs?: number): Promise<WhoRan>;
	memory(): ClusterMemory;
	/** SIGTERM to every n8n group (SIGKILL after a grace), then PostgreSQL and Redis; removes the folder. Safe to call twice. */
	stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Clusters still running, for the exit hook and the signal handlers

interface LiveCluster {
	dir: string;
	/** Sends the stop signal to every group at once (synchronous: usable from the exit hook). */
	signalAll(signal: NodeJS.Signals): void;
	stop(): Promise<void>;
}

const liveClusters = new Set<LiveCluster>();
let hooksInstalled = false;
let signalsInstalled = false;

/** Folders of clusters that never stopped go with the process (e2e/n8n/process.ts's hook kills their groups). */
function installExitHook(): void {
	if (hooksInstalled) return;
	hooksInstalled = true;
	process.on('exit', () => {
		for (const cluster of liveClusters) {
			cluster.signalAll('SIGKILL');
			if (process.env.N8N_E2E_KEEP !== '1') rmSync(cluster.dir, { recursive: true, force: true });
		}
	});
}

/**
 * Ctrl-C (SIGINT) or SIGTERM: every group gets its stop signal at once, so nothing outlives us even
 * if we are killed before the graceful stop ends; then the clusters are stopped and we exit.
 */
function installSignalHandlers(): void {
	if (signalsInstalled) return;
	signalsInstalled = true;
	const onSignal = (signal: NodeJS.Signals, code: number) => {
		process.stderr.write(`[queue] ${signal}: stopping ${liveClusters.size} queue-mode cluster(s)…\n`);
		for (const cluster of liveClusters) cluster.signalAll('SIGTERM');
		void Promise.allSettled([...liveClusters].map(async (cluster) => await cluster.stop())).then(() => process.exit(code));
	};
	process.once('SIGINT', () => onSignal('SIGINT', 130));
	process.once('SIGTERM', () => onSignal('SIGTERM', 143));
}

// ---------------------------------------------------------------------------------------------
// One n8n process

const WORKER_PROBE: ReadinessProbe = { path: '/healthz/readiness', isReady: (status) => status === 200 };
const WEBHOOK_PROBE: ReadinessProbe = { path: '/healthz', isReady: (status) => status === 200 };

interface ProcessSpec {
	name: string;
	role: QueueRole;
	/** Its HTTP port (main, webhook processors) or health port (workers). */
	port: number;
	args: string[];
	probe?: ReadinessProbe;
	launch: LaunchSpec;
	userFolder: string;
	readyTimeoutMs: number;
}

interface ManagedProcess extends QueueProcess {
	start(): Promise<void>;
	/** Stops it for good (SIGTERM, SIGKILL after 15 s). */
	stop(): Promise<void>;
	/** The current group, if it runs. */
	group(): number | undefined;
}

function managedProcess(spec: ProcessSpec): ManagedProcess {
	let current: N8nProcess | undefined;
	let startupMs = 0;
	const url = `http://127.0.0.1:${spec.port}`;
	const alive = (): boolean => current !== undefined && current.exited() === undefined;
	const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
		if (!current) return;
		const { pgid } = current;
		signalGroup(pgid, signal);
		const deadline = Date.now() + 20_000;
		while (current.exited() === undefined) {
			if (Date.now() > deadline) signalGroup(pgid, 'SIGKILL');
			await sleep(100);
		}
		// Its task runner, if it outlived n8n.
		signalGroup(pgid, 'SIGKILL');
		untrackGroup(pgid);
	};
	const start = async (): Promise<void> => {
		const n8n = launchN8n(spec.launch);
		current = n8n;
		await orStop(n8n, spec.launch.logFile, `${spec.name}: `, async () => await waitUntilReady(n8n, url, spec.readyTimeoutMs, spec.probe));
		startupMs = Date.now() - n8n.startedAt;
	};
	return {
		name: spec.name,
		role: spec.role,
		url,
		port: spec.port,
		get pid() {
			return current?.pgid ?? 0;
		},
		logFile: spec.launch.logFile,
		userFolder: spec.userFolder,
		get startupMs() {
			return startupMs;
		},
		log: () => current?.log() ?? '',
		rssMb: () => (current && alive() ? groupRssMb(current.pgid) : 0),
		alive,
		kill,
		async restart() {
			if (alive()) await kill('SIGTERM');
			await start();
		},
		start,
		stop: async () => await current?.stop(),
		group: () => (alive() ? current?.pgid : undefined),
	};
}

// ---------------------------------------------------------------------------------------------
// The cluster

interface Layout {
	dir: string;
	install: N8nInstall;
	options: QueueClusterOptions;
	encryptionKey: string;
	postgres: PostgresServer;
	redis: RedisServer;
	webhookUrl: string;
	readyTimeoutMs: number;
}

function envFor(value: EnvPerIndex | undefined, index: number): Record<string, string> {
	return typeof value === 'function' ? value(index) : (value ?? {});
}

/** The environment every n8n process of the cluster shares: database, queue, key, webhook URL, binary data in the database. */
function sharedEnv(layout: Layout): Record<string, string> {
	return {
		N8N_ENCRYPTION_KEY: layout.encryptionKey,
		DB_TYPE: 'postgresdb',
		DB_POSTGRESDB_HOST: '127.0.0.1',
		DB_POSTGRESDB_PORT: String(layout.postgres.port),
		DB_POSTGRESDB_DATABASE: N8N_DATABASE.database,
		DB_POSTGRESDB_USER: N8N_DATABASE.user,
		DB_POSTGRESDB_PASSWORD: N8N_DATABASE.password,
		EXECUTIONS_MODE: 'queue',
		QUEUE_BULL_REDIS_HOST: '127.0.0.1',
		QUEUE_BULL_REDIS_PORT: String(layout.redis.port),
		// Without it, runs started from the editor or REST execute on main.
		OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS: 'true',
		// Queue mode's default already; said explicitly because the filesystem mode does not work across processes.
		N8N_DEFAULT_BINARY_DATA_MODE: 'database',
		WEBHOOK_URL: `${layout.webhookUrl}/`,
	};
}

async function processSpec(layout: Layout, role: QueueRole, index: number, port: number): Promise<ProcessSpec> {
	const { options } = layout;
	const name = role === 'main' ? 'main' : `${role}-${index + 1}`;
	const tempDir = join(layout.dir, name);
	const userFolder = join(tempDir, 'home');
	mkdirSync(userFolder, { recursive: true });
	options.prepareUserFolder?.(userFolder, role, index);
	if (options.communityPackageDir) linkCommunityPackage(userFolder, options.communityPackageDir);
	const extensionsDir = options.communityPackageDir || options.withoutPackage ? undefined : resolve(options.extensionsDir ?? DIST_DIR);
	const brokerPort = await freePortOtherThan(port);
	const roleEnv: Record<string, string> =
		role === 'main'
			? (options.mainEnv ?? {})
			: role === 'worker'
				? {
						QUEUE_HEALTH_CHECK_ACTIVE: 'true',
						QUEUE_HEALTH_CHECK_PORT: String(port),
						// Else its health server takes 5678 on every address.
						N8N_WORKER_SERVER_ADDRESS: '127.0.0.1',
						...envFor(options.workerEnv, index),
					}
				: envFor(options.webhookEnv, index);
	const env = { ...n8nEnv(userFolder, port, brokerPort, extensionsDir, layout.install.runtime), ...sharedEnv(layout), ...options.env, ...roleEnv };
	const args = role === 'main' ? ['start'] : role === 'worker' ? ['worker', `--concurrency=${options.workerConcurrency ?? 5}`] : ['webhook'];
	return {
		name,
		role,
		port,
		args,
		probe: role === 'worker' ? WORKER_PROBE : role === 'webhook' ? WEBHOOK_PROBE : undefined,
		launch: { node: join(layout.install.runtime.binDir, 'node'), bin: layout.install.bin, tempDir, logFile: join(layout.dir, `${name}.log`), env, args },
		userFolder,
		readyTimeoutMs: layout.readyTimeoutMs,
	};
}

/** Names of the processes whose log has a line containing `needle`, once per such line (in process order, not by time). */
function logged(processes: QueueProcess[], needle: string): string[] {
	return processes.flatMap((proc) =>
		proc
			.log()
			.split('\n')
			.filter((line) => line.includes(needle))
			.map(() => proc.name),
	);
}

function whoRanIn(processes: QueueProcess[], executionId: string): WhoRan {
	return {
		enqueuedBy: logged(processes, `Enqueued execution ${executionId} (job `),
		startedOn: logged(processes, `Worker started execution ${executionId} (job `),
		finishedOn: logged(processes, `Worker finished execution ${executionId} (job `),
	};
}

/**
 * Starts a cluster: PostgreSQL and Redis (installed on first use), then main, the workers and the
 * webhook processors at once (one of them runs the migrations, the others wait on its lock), then
 * the owner and an API key on main. Always `stop()` it (afterAll).
 */
export async function startQueueCluster(options: QueueClusterOptions = {}): Promise<QueueCluster> {
	const started = Date.now();
	const install = await ensureN8n(options.version ?? DEFAULT_N8N_VERSION);
	const dir = mkdtempSync(join(tmpdir(), 'whilter-queue-'));
	// PostgreSQL runs as another user and must reach its folder inside this one.
	chmodSync(dir, 0o755);
	const services: Array<{ stop(): Promise<void> }> = [];
	const processes: ManagedProcess[] = [];
	let groups: () => number[] = () => [];
	let stopping: Promise<void> | undefined;
	const stop = (): Promise<void> => {
		stopping ??= (async () => {
			await Promise.allSettled(processes.map(async (proc) => await proc.stop()));
			await Promise.allSettled(services.map(async (service) => await service.stop()));
			liveClusters.delete(live);
			if (process.env.N8N_E2E_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
			else process.stderr.write(`[queue] kept ${dir} (N8N_E2E_KEEP=1)\n`);
		})();
		return stopping;
	};
	const live: LiveCluster = {
		dir,
		signalAll: (signal) => groups().forEach((pgid) => signalGroup(pgid, signal)),
		stop,
	};
	liveClusters.add(live);
	installExitHook();
	if (options.handleSignals ?? true) installSignalHandlers();

	try {
		const [postgres, redis] = await Promise.all([startPostgres(join(dir, 'postgres')), startRedis(join(dir, 'redis'))]);
		services.push(postgres, redis);
		groups = () => [...processes.map((proc) => proc.group()).filter((pgid): pgid is number => pgid !== undefined), postgres.pid, redis.pid];
		const servicesReady = Date.now();

		const webhookCount = options.webhookProcessors ?? 1;
		const mainPort = options.mainPort ?? (await freePort());
		const webhookPorts: number[] = [];
		for (let i = 0; i < webhookCount; i++) webhookPorts.push(await freePort());
		const webhookUrl = (options.webhookUrl ?? `http://127.0.0.1:${webhookPorts[0] ?? mainPort}`).replace(/\/$/, '');
		const layout: Layout = {
			dir,
			install,
			options,
			encryptionKey: randomBytes(24).toString('hex'),
			postgres,
			redis,
			webhookUrl,
			readyTimeoutMs: options.readyTimeoutMs ?? 240_000,
		};
		const specs = [await processSpec(layout, 'main', 0, mainPort)];
		for (let i = 0; i < (options.workers ?? 2); i++) specs.push(await processSpec(layout, 'worker', i, await freePort()));
		for (let i = 0; i < webhookCount; i++) specs.push(await processSpec(layout, 'webhook', i, webhookPorts[i]));
		processes.push(...specs.map(managedProcess));
		const results = await Promise.allSettled(processes.map(async (proc) => await proc.start()));
		const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
		if (failed) throw failed.reason;
		const n8nReady = Date.now();

		const [mainProcess] = processes;
		const mainSpec = specs[0];
		const session = createSession(mainProcess.url);
		const apiKey = await setUpOwner(session);
		const workers = processes.filter((proc) => proc.role === 'worker');
		const webhookProcessors = processes.filter((proc) => proc.role === 'webhook');
		const main: QueueMain = {
			name: mainProcess.name,
			role: 'main',
			url: mainProcess.url,
			port: mainProcess.port,
			get pid() {
				return mainProcess.pid;
			},
			userFolder: mainProcess.userFolder,
			logFile: mainProcess.logFile,
			get startupMs() {
				return mainProcess.startupMs;
			},
			owner: { ...E2E_OWNER },
			apiKey,
			log: mainProcess.log,
			rssMb: mainProcess.rssMb,
			alive: mainProcess.alive,
			kill: mainProcess.kill,
			restart: mainProcess.restart,
			api: session.api,
			rest: session.rest,
			raw: session.raw,
			stop,
			...publicApiCalls(session.api, install.version),
			...workflowRuns(session, install.version, mainSpec.launch),
		};
		const whoRan = (executionId: string): WhoRan => whoRanIn(processes, executionId);
		return {
			main,
			workers,
			webhookProcessors,
			processes: [main, ...workers, ...webhookProcessors],
			webhookUrl,
			postgres,
			redis,
			encryptionKey: layout.encryptionKey,
			dir,
			startupMs: { total: Date.now() - started, postgresAndRedis: servicesReady - started, n8n: n8nReady - servicesReady },
			whoRan,
			async waitForWhoRan(executionId, count = 1, timeoutMs = 30_000) {
				const deadline = Date.now() + timeoutMs;
				for (;;) {
					const found = whoRan(executionId);
					if (found.startedOn.length >= count || Date.now() > deadline) return found;
					await sleep(200);
				}
			},
			memory() {
				const figures = {
					main: mainProcess.rssMb(),
					workers: workers.map((proc) => proc.rssMb()),
					webhookProcessors: webhookProcessors.map((proc) => proc.rssMb()),
					redis: redis.rssMb(),
					postgres: postgres.pssMb(),
				};
				const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
				return { ...figures, total: figures.main + sum(figures.workers) + sum(figures.webhookProcessors) + figures.redis + figures.postgres };
			},
			stop,
		};
	} catch (error) {
		await stop();
		throw error;
	}
}

/** One line per process: `main 512 MB, worker-1 430 MB, …`, for logs and the demo. */
export function memoryLine(memory: ClusterMemory): string {
	return [
		`main ${memory.main} MB`,
		...memory.workers.map((mb, i) => `worker-${i + 1} ${mb} MB`),
		...memory.webhookProcessors.map((mb, i) => `webhook-${i + 1} ${mb} MB`),
		`Redis ${memory.redis} MB`,
		`PostgreSQL ${memory.postgres} MB`,
		`total ${memory.total} MB`,
	].join(', ');
}
