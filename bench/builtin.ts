/**
 * `npm run bench` (built-in comparison) or alone: `npx tsx bench/builtin.ts`.
 *
 * The same 100k-row campaign in a real n8n (the pinned 2.41.1, this package's dist/ loaded), two ways:
 * - built-in nodes: Code → Convert to File (CSV) → Compression (ZIP, Whilter's file name) → AWS S3
 *   (upload) → HTTP Request (token) → HTTP Request (POST /<client>/task);
 * - Code → Whilter Batch.
 * The workflows are bench/workflows/*.json. The Code node is the same in both, so the source rows are
 * identical. Both must do the real job: the contract server creates a task only when the ZIP with the
 * right name exists at file-path, and afterwards this script reads each ZIP back and counts its rows.
 *
 * Measured per execution: wall time (n8n's startedAt → stoppedAt, and this script's own clock from the
 * run request until n8n reports the execution stopped, which includes n8n saving the execution's data)
 * and peak RSS of the n8n process tree, sampled every 50 ms from /proc: the main process and,
 * separately, its children (n8n 2.x runs Code nodes in a task runner child process). VmHWM is not
 * used: it is the process lifetime's peak, not this execution's. Each measured run is preceded by a
 * 1,000-row warm-up of the same path, and the paths alternate (builtin, whilter, builtin, whilter); the
 * summary takes the best figure of each path's runs. No GC is forced.
 *
 * Each measured run gets a fresh n8n (same settings) unless BENCH_BUILTIN_N8N=shared: see
 * runBuiltinBench for why. The contract server and the S3 server run in a child process of their own,
 * so their memory is not counted. Figures are printed, never asserted.
 * Environment: BENCH_BUILTIN_ROWS (default 100000), BENCH_BUILTIN_RUNS (runs per path, default 2),
 * BENCH_BUILTIN_N8N=shared, N8N_E2E_SKIP_BUILD=1 (use dist/ as it is).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { INode } from 'n8n-workflow';

import { ensureN8n, startN8n } from '../e2e/n8n';
import type { Execution, N8nHandle, WorkflowJson } from '../e2e/n8n';
import { DIST_DIR, ensurePackageBuilt } from '../e2e/package';
import { readZipEntries } from '../test/servers/zipEntries';

const ROWS = Number(process.env.BENCH_BUILTIN_ROWS ?? 100_000);
const RUNS = Number(process.env.BENCH_BUILTIN_RUNS ?? 2);
const SAMPLE_MS = 50;

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms));

/**
 * n8n's AWS S3 node sends a bucket without a dot to `<bucket>.s3.<region>.amazonaws.com` whatever the
 * credential's custom S3 endpoint says; only a bucket name with a dot goes path-style to the custom
 * endpoint. So the bench drop has a dot, for both paths (the Whilter credential uses path style anyway).
 */
const BUCKET = 'bench.drop';
const PREFIX = 'in';
const TEMPLATE = 'T-1';
const CLIENT = 'bench';
const CLIENT_ID = 'bench-client';
const CLIENT_SECRET = 'bench-secret';

type Path = 'builtin' | 'whilter';

interface ServerAddresses {
	/** What n8n uploads to (s3rver behind the S3 proxy and the ListParts shim). */
	s3Endpoint: string;
	/** s3rver itself, for reading the ZIPs back. */
	s3Direct: string;
	region: string;
	accessKeyId: string;
	secretAccessKey: string;
	whilter: string;
}

// ---------------------------------------------------------------------------------------------
// The servers' process

/**
 * n8n's AWS S3 node uploads a file it holds on disk (n8n 2.x's default binary data mode) as a
 * multipart upload and asks ListParts for the ETags before completing it. s3rver answers ListParts
 * with 405, so this shim in front of it answers ListParts from the ETags of the parts it forwarded;
 * every other request passes through unchanged.
 */
async function startListPartsShim(upstream: string): Promise<{ url: string; close: () => Promise<void> }> {
	const target = new URL(upstream);
	const parts = new Map<string, Map<number, string>>();
	const xml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
	const server = http.createServer((req, res) => {
		const url = new URL(req.url ?? '/', 'http://shim');
		const uploadId = url.searchParams.get('uploadId');
		if (req.method === 'GET' && uploadId !== null) {
			req.resume();
			const [, bucket = '', ...key] = decodeURIComponent(url.pathname).split('/');
			const listed = [...(parts.get(uploadId) ?? new Map<number, string>())].sort((a, b) => a[0] - b[0]);
			res.writeHead(200, { 'content-type': 'application/xml' });
			res.end(
				'<?xml version="1.0" encoding="UTF-8"?>' +
					`<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${xml(bucket)}</Bucket><Key>${xml(key.join('/'))}</Key>` +
					`<UploadId>${xml(uploadId)}</UploadId><IsTruncated>false</IsTruncated>` +
					listed.map(([n, etag]) => `<Part><PartNumber>${n}</PartNumber><ETag>${xml(etag)}</ETag></Part>`).join('') +
					'</ListPartsResult>',
			);
			return;
		}
		const upstreamReq = http.request(
			{ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
			(upstreamRes) => {
				const partNumber = Number(url.searchParams.get('partNumber'));
				const etag = upstreamRes.headers.etag;
				if (req.method === 'PUT' && uploadId && partNumber && upstreamRes.statusCode === 200 && etag) {
					if (!parts.has(uploadId)) parts.set(uploadId, new Map());
					parts.get(uploadId)!.set(partNumber, etag);
				}
				if (req.method === 'POST' && uploadId && upstreamRes.statusCode === 200) parts.delete(uploadId);
				res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
				upstreamRes.pipe(res);
			},
		);
		upstreamReq.on('error', () => res.destroy());
		req.pipe(upstreamReq);
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
		close: async () => {
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

async function serveSandbox(): Promise<void> {
	const { startS3Server } = await import('../test/servers/s3');
	const { startWhilterServer } = await import('../test/servers/whilter');
	const s3 = await startS3Server({ buckets: [BUCKET] });
	const shim = await startListPartsShim(s3.endpoint);
	const whilter = await startWhilterServer({
		client: CLIENT,
		clientId: CLIENT_ID,
		clientSecret: CLIENT_SECRET,
		s3: { endpoint: s3.endpoint, bucket: BUCKET, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
	});
	const addresses: ServerAddresses = {
		s3Endpoint: shim.url,
		s3Direct: s3.upstreamEndpoint,
		region: s3.region,
		accessKeyId: s3.accessKeyId,
		secretAccessKey: s3.secretAccessKey,
		whilter: whilter.url,
	};
	process.stdout.write(`${JSON.stringify(addresses)}\n`);
	process.stdin.resume();
	process.stdin.on('end', () => {
		void Promise.all([whilter.close(), shim.close()])
			.then(() => s3.close())
			.then(() => process.exit(0));
	});
}

async function startServers(): Promise<{ addresses: ServerAddresses; stop: () => Promise<void> }> {
	const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--servers'], { stdio: ['pipe', 'pipe', 'inherit'] });
	const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
	return {
		addresses: JSON.parse(line) as ServerAddresses,
		stop: async () => {
			if (child.exitCode !== null) return;
			child.stdin!.end();
			await once(child, 'exit');
		},
	};
}

// ---------------------------------------------------------------------------------------------
// RSS of the n8n process tree

function rssKb(pid: number): number {
	try {
		const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
		return match ? Number(match[1]) : 0;
	} catch {
		return 0; // the process has just ended
	}
}

function childrenOf(pid: number): number[] {
	const found: number[] = [];
	try {
		for (const tid of readdirSync(`/proc/${pid}/task`)) {
			const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
			if (text) found.push(...text.split(/\s+/).map(Number));
		}
	} catch {
		// gone
	}
	return found;
}

function descendantsOf(pid: number): number[] {
	const all: number[] = [];
	for (const child of childrenOf(pid)) all.push(child, ...descendantsOf(child));
	return all;
}

interface RssSample {
	mainKb: number;
	/** Every descendant of the main process (the task runner). */
	childrenKb: number;
}

function sampleTree(mainPid: number): RssSample {
	return { mainKb: rssKb(mainPid), childrenKb: descendantsOf(mainPid).reduce((sum, pid) => sum + rssKb(pid), 0) };
}

/** Samples every SAMPLE_MS until stopped; peaks of the main process, of the children, and of their sum at one instant. */
function startSampler(mainPid: number): () => { main: number; children: number; total: number; samples: number } {
	let main = 0;
	let children = 0;
	let total = 0;
	let samples = 0;
	const take = () => {
		const s = sampleTree(mainPid);
		main = Math.max(main, s.mainKb);
		children = Math.max(children, s.childrenKb);
		total = Math.max(total, s.mainKb + s.childrenKb);
		samples++;
	};
	take();
	const timer = setInterval(take, SAMPLE_MS);
	return () => {
		clearInterval(timer);
		take();
		return { main, children, total, samples };
	};
}

/**
 * Waits until the tree's RSS stops falling (no drop of 5 MB or more within 2 s; at most 20 s), so an
 * execution does not start while the previous one's memory is still being handed back. No GC is forced:
 * this is what V8 and n8n do when left idle. Returns the settled RSS in kB.
 */
async function settle(mainPid: number): Promise<number> {
	const deadline = Date.now() + 20_000;
	let last = sampleTree(mainPid);
	let lowest = last.mainKb + last.childrenKb;
	for (;;) {
		await sleep(2000);
		last = sampleTree(mainPid);
		const now = last.mainKb + last.childrenKb;
		if (now > lowest - 5 * 1024 || Date.now() > deadline) return now;
		lowest = now;
	}
}

const mb = (kb: number): number => Math.round(kb / 102.4) / 10;
const seconds = (ms: number): string => (ms / 1000).toFixed(2);

// ---------------------------------------------------------------------------------------------
// Workflows

/** A workflow of bench/workflows/ with its %PLACEHOLDERS% filled in (values JSON-escaped). */
function workflowFrom(file: string, values: Record<string, string | number>): WorkflowJson {
	let text = readFileSync(join(__dirname, 'workflows', file), 'utf8');
	text = text.replace(/%([A-Z_]+)%/g, (whole, name: string) => {
		if (!(name in values)) throw new Error(`${file}: no value for ${whole}`);
		return JSON.stringify(String(values[name])).slice(1, -1);
	});
	const workflow = JSON.parse(text) as WorkflowJson;
	// Loaded through N8N_CUSTOM_EXTENSIONS, the package's node types are CUSTOM.<name>.
	workflow.nodes = workflow.nodes.map((node: INode) => ({ ...node, type: node.type.replace(/^n8n-nodes-whilter\./, 'CUSTOM.') }));
	return workflow;
}

function zipNameOf(campaign: string): string {
	return `${TEMPLATE}_${campaign}.zip`;
}

// ---------------------------------------------------------------------------------------------
// One measured execution

interface RunResult {
	path: Path;
	run: number;
	rows: number;
	/** n8n's stoppedAt − startedAt. */
	wallMs: number;
	/** This script's clock: run request sent → execution seen stopped (polled every 50 ms). */
	clientMs: number;
	/** Each node's executionTime, in workflow order. */
	nodeMs: Array<[string, number]>;
	peakTotalKb: number;
	peakMainKb: number;
	peakRunnerKb: number;
	/** RSS of the tree when the execution started. */
	startTotalKb: number;
	samples: number;
	taskId: string;
}

async function execute(n8n: N8nHandle, workflowId: string): Promise<{ execution: Execution; clientMs: number; rss: ReturnType<ReturnType<typeof startSampler>>; startTotalKb: number }> {
	const start = sampleTree(n8n.pid);
	const stopSampler = startSampler(n8n.pid);
	const t0 = performance.now();
	try {
		const started = await n8n.rest<{ data: { executionId?: string } }>('POST', `/workflows/${workflowId}/run`, {
			triggerToStartFrom: { name: 'Start' },
		});
		const executionId = started.data.executionId;
		if (!executionId) throw new Error(`n8n did not start an execution: ${JSON.stringify(started)}`);
		const deadline = Date.now() + 240_000;
		for (;;) {
			// Without data: this poll must not make n8n serialise 100k items while it is measured.
			const res = await n8n.raw('GET', `/api/v1/executions/${executionId}`);
			const found = res.body as Execution | undefined;
			if (res.status === 200 && found?.stoppedAt && !['new', 'running'].includes(found.status)) break;
			if (res.status !== 200 && res.status !== 404) throw new Error(`GET /api/v1/executions/${executionId} answered ${res.status}: ${res.text.slice(0, 500)}`);
			if (Date.now() > deadline) throw new Error(`execution ${executionId} did not finish within 240 s`);
			await sleep(SAMPLE_MS);
		}
		const clientMs = performance.now() - t0;
		const rss = stopSampler();
		return { execution: await n8n.execution(executionId), clientMs, rss, startTotalKb: start.mainKb + start.childrenKb };
	} catch (error) {
		stopSampler();
		throw error;
	}
}

/** The ZIP the run uploaded: exactly one CSV, a header plus one line per row (no value here holds a line break). */
async function checkZip(s3: S3Client, campaign: string, rows: number): Promise<void> {
	const key = `${PREFIX}/${zipNameOf(campaign)}`;
	const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
	const entries = await readZipEntries(Buffer.from(await object.Body!.transformToByteArray()));
	const csvs = entries.filter((e) => e.name.toLowerCase().endsWith('.csv'));
	if (csvs.length !== 1) throw new Error(`s3://${BUCKET}/${key} holds ${csvs.length} CSV files, not 1`);
	// Convert to File starts its CSV with a byte order mark.
	const lines = csvs[0].text.replace(/^\uFEFF/, '').split(/\r?\n/).filter((line) => line !== '');
	const header = lines[0].split(',');
	for (const column of ['phone', 'name', 'city', 'offer', 'amount', 'language']) {
		if (!header.includes(column)) throw new Error(`s3://${BUCKET}/${key}: the CSV header "${lines[0]}" lacks ${column}`);
	}
	if (lines.length - 1 !== rows) throw new Error(`s3://${BUCKET}/${key}: ${lines.length - 1} data lines, expected ${rows}`);
}

async function runPath(
	n8n: N8nHandle,
	s3: S3Client,
	ids: { aws: string; whilter: string },
	servers: ServerAddresses,
	path: Path,
	run: number,
	rows: number,
): Promise<RunResult> {
	const campaign = `bench-${path}-${rows}-${run}`;
	const common = { ROWS: rows, CAMPAIGN: campaign, TEMPLATE };
	const workflow =
		path === 'builtin'
			? workflowFrom('builtin-campaign.json', {
					...common,
					BUCKET,
					PREFIX,
					CLIENT,
					CLIENT_ID,
					CLIENT_SECRET,
					WHILTER_URL: servers.whilter,
					AWS_CREDENTIAL_ID: ids.aws,
				})
			: workflowFrom('whilter-campaign.json', { ...common, WHILTER_CREDENTIAL_ID: ids.whilter });
	const stored = await n8n.importWorkflow(workflow);
	await settle(n8n.pid);
	const { execution, clientMs, rss, startTotalKb } = await execute(n8n, stored.id);
	const runData = execution.data?.resultData.runData ?? {};
	if (execution.status !== 'success') {
		const error = execution.data?.resultData.error;
		throw new Error(`${path} run ${run}: the execution ended "${execution.status}": ${error?.message ?? ''} ${error?.description ?? ''}`);
	}
	const lastNode = path === 'builtin' ? 'Create task' : 'Whilter Batch';
	const out = runData[lastNode]?.[0]?.data?.main?.[0]?.[0]?.json ?? {};
	const taskId = String(out['task-id'] ?? '');
	if (!taskId.startsWith('task-')) throw new Error(`${path} run ${run}: "${lastNode}" returned no task id: ${JSON.stringify(out).slice(0, 500)}`);
	if (path === 'whilter' && out['row-count'] !== rows) throw new Error(`whilter run ${run}: row-count ${String(out['row-count'])}, expected ${rows}`);
	await checkZip(s3, campaign, rows);
	const nodeMs = workflow.nodes
		.filter((node) => node.type !== 'n8n-nodes-base.manualTrigger')
		.map((node): [string, number] => [node.name, runData[node.name]?.[0]?.executionTime ?? 0]);
	return {
		path,
		run,
		rows,
		wallMs: new Date(execution.stoppedAt!).getTime() - new Date(execution.startedAt).getTime(),
		clientMs: Math.round(clientMs),
		nodeMs,
		peakTotalKb: rss.total,
		peakMainKb: rss.main,
		peakRunnerKb: rss.children,
		startTotalKb,
		samples: rss.samples,
		taskId,
	};
}

function label(rows: number): string {
	return rows >= 1_000_000 ? `${rows / 1_000_000}M` : rows >= 1000 ? `${rows / 1000}k` : String(rows);
}

function describeRun(r: RunResult): string {
	const nodes = r.nodeMs.map(([name, ms]) => `${name} ${seconds(ms)}`).join(', ');
	return (
		`${r.path}-${label(r.rows)} run ${r.run}: wall_s=${seconds(r.wallMs)} (client ${seconds(r.clientMs)}) ` +
		`peak_rss_mb=${mb(r.peakTotalKb)} (main ${mb(r.peakMainKb)} runner ${mb(r.peakRunnerKb)}) start_rss_mb=${mb(r.startTotalKb)} ` +
		`over_start_mb=${mb(r.peakTotalKb - r.startTotalKb)} ` +
		`samples=${r.samples} | nodes s: ${nodes} | ${r.taskId}`
	);
}

interface Best {
	wallMs: number;
	clientMs: number;
	peakTotalKb: number;
	peakMainKb: number;
	peakRunnerKb: number;
	overStartKb: number;
}

/** The better figure of the runs, each figure on its own (the fastest wall, the lowest peak). */
function best(results: RunResult[]): Best {
	const min = (pick: (r: RunResult) => number) => Math.min(...results.map(pick));
	const lowest = results.reduce((a, b) => (b.peakTotalKb < a.peakTotalKb ? b : a));
	return {
		wallMs: min((r) => r.wallMs),
		clientMs: min((r) => r.clientMs),
		peakTotalKb: lowest.peakTotalKb,
		peakMainKb: lowest.peakMainKb,
		peakRunnerKb: lowest.peakRunnerKb,
		overStartKb: min((r) => r.peakTotalKb - r.startTotalKb),
	};
}

interface Bench {
	servers: ServerAddresses;
	s3: S3Client;
	out: (line: string) => void;
	childrenShown?: boolean;
}

/** An n8n with the package and the two credentials; stopped (and its log tail printed on failure) when `work` ends. */
async function withN8n<T>(bench: Bench, work: (n8n: N8nHandle, ids: { aws: string; whilter: string }) => Promise<T>): Promise<T> {
	const a = bench.servers;
	const n8n = await startN8n({ extensionsDir: DIST_DIR });
	try {
		const aws = await n8n.createCredential('S3 drop (bench)', 'aws', {
			region: a.region,
			accessKeyId: a.accessKeyId,
			secretAccessKey: a.secretAccessKey,
			temporaryCredentials: false,
			customEndpoints: true,
			s3Endpoint: a.s3Endpoint,
		});
		const whilter = await n8n.createCredential('Whilter (bench)', 'whilterApi', {
			baseUrl: a.whilter,
			client: CLIENT,
			authentication: 'clientCredentials',
			clientId: CLIENT_ID,
			clientSecret: CLIENT_SECRET,
			tokenUrl: `${a.whilter}/getToken/token`,
			s3Bucket: BUCKET,
			s3Prefix: PREFIX,
			s3Region: a.region,
			s3AccessKeyId: a.accessKeyId,
			s3SecretAccessKey: a.secretAccessKey,
			s3Endpoint: a.s3Endpoint,
			s3ForcePathStyle: true,
		});
		bench.out(`n8n pid ${n8n.pid} ready in ${seconds(n8n.startupMs)} s, RSS ${mb(sampleTree(n8n.pid).mainKb)} MB`);
		return await work(n8n, { aws: aws.id, whilter: whilter.id });
	} catch (error) {
		bench.out(`--- n8n log (tail) ---\n${n8n.log().split('\n').slice(-40).join('\n')}`);
		throw error;
	} finally {
		await n8n.stop();
	}
}

/** Warm-up with 1,000 rows: loads the path's modules and starts the task runner, so no measured run pays for that. */
async function warmUp(bench: Bench, n8n: N8nHandle, ids: { aws: string; whilter: string }, path: Path): Promise<void> {
	const warm = await runPath(n8n, bench.s3, ids, bench.servers, path, 0, 1000);
	bench.out(`  warm-up ${describeRun(warm)}`);
	if (!bench.childrenShown) {
		bench.childrenShown = true;
		const children = descendantsOf(n8n.pid).map((pid) => `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).pop() ?? ''}`);
		bench.out(`  n8n's child processes (counted as "runner"): ${children.join('; ') || 'none'}`);
	}
}

/**
 * Runs the comparison and prints it; returns the `compare-<rows>:` line. `out` receives every line
 * (stdout by default).
 *
 * By default each measured run gets an n8n of its own (same settings, warmed up with that path), in
 * the order builtin, whilter, builtin, whilter: RSS measured on one long-lived n8n only ratchets up
 * (each execution starts from the heap the previous ones left: 1.0 → 1.6 → 1.7 → 1.8 GB here, idle
 * time does not give it back), so the second path's peak would mostly measure the first one.
 * BENCH_BUILTIN_N8N=shared runs all of them in one n8n instead (wall times comparable, peaks not).
 */
export async function runBuiltinBench(out: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Promise<string> {
	const rowsLabel = label(ROWS);
	const shared = process.env.BENCH_BUILTIN_N8N === 'shared';
	out(
		`\nBuilt-in nodes vs Whilter Batch: ${ROWS} rows, Code → … → task, in a real n8n ` +
			`(${shared ? 'one n8n for every run' : 'a fresh n8n for each run'}; wall time; peak RSS of the n8n main process + task runner, sampled every ${SAMPLE_MS} ms)`,
	);
	const built = await ensurePackageBuilt();
	if (built.built) out(`(built the package: ${built.reason})`);
	await ensureN8n();
	const serverProcess = await startServers();
	const s3 = new S3Client({
		endpoint: serverProcess.addresses.s3Direct,
		region: serverProcess.addresses.region,
		forcePathStyle: true,
		credentials: { accessKeyId: serverProcess.addresses.accessKeyId, secretAccessKey: serverProcess.addresses.secretAccessKey },
		requestChecksumCalculation: 'WHEN_REQUIRED',
		responseChecksumValidation: 'WHEN_REQUIRED',
	});
	const bench: Bench = { servers: serverProcess.addresses, s3, out };
	const results: Record<Path, RunResult[]> = { builtin: [], whilter: [] };
	const measure = async (n8n: N8nHandle, ids: { aws: string; whilter: string }, path: Path, run: number) => {
		const result = await runPath(n8n, s3, ids, bench.servers, path, run, ROWS);
		results[path].push(result);
		out(describeRun(result));
	};
	try {
		if (shared) {
			await withN8n(bench, async (n8n, ids) => {
				for (const path of ['builtin', 'whilter'] as const) await warmUp(bench, n8n, ids, path);
				for (let run = 1; run <= RUNS; run++) for (const path of ['builtin', 'whilter'] as const) await measure(n8n, ids, path, run);
			});
		} else {
			for (let run = 1; run <= RUNS; run++) {
				for (const path of ['builtin', 'whilter'] as const) {
					await withN8n(bench, async (n8n, ids) => {
						await warmUp(bench, n8n, ids, path);
						await measure(n8n, ids, path, run);
					});
				}
			}
		}
		const b = best(results.builtin);
		const w = best(results.whilter);
		const line = (name: Path, x: Best) =>
			`${name}-${rowsLabel}: wall_s=${seconds(x.wallMs)} (client ${seconds(x.clientMs)}) peak_rss_mb=${mb(x.peakTotalKb)} (main ${mb(x.peakMainKb)} runner ${mb(x.peakRunnerKb)}) over_start_mb=${mb(x.overStartKb)}`;
		out(`best of ${RUNS} runs each:`);
		out(line('builtin', b));
		out(line('whilter', w));
		return (
			`compare-${rowsLabel}: builtin wall_s=${seconds(b.wallMs)} peak_rss_mb=${mb(b.peakTotalKb)} | ` +
			`whilter wall_s=${seconds(w.wallMs)} peak_rss_mb=${mb(w.peakTotalKb)}`
		);
	} finally {
		s3.destroy();
		await serverProcess.stop();
	}
}

if (require.main === module) {
	const main = process.argv.includes('--servers')
		? serveSandbox()
		: runBuiltinBench().then((line) => process.stdout.write(`\n${line}\n`));
	main.catch((error: unknown) => {
		process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
		process.exit(1);
	});
}
