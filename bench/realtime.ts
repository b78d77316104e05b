/**
 * `npx tsx bench/realtime.ts` (and part of `npm run bench`): items per second of Whilter Realtime
 * through n8n-core against the Whilter contract server on loopback, with wait-for-media on.
 *
 * Every real-time call (the creating POST and each status check) takes a fixed 20 ms at the server,
 * and the media is ready at the second check, so one item is about POST + check + 10 ms pause +
 * check ≈ 70 ms of waiting on Whilter: the run at concurrency 1 shows that cost, the run at the
 * node's default concurrency how much of it overlapping hides. Figures are printed, never asserted.
 *
 * A run has 100 items per concurrent slot (20 with --quick), so the ramp-up and the last items,
 * when fewer than `concurrency` are left, weigh alike at every concurrency. Beside the bound the
 * configured latency allows, each line prints the bound a bare Node.js HTTP client reaches against
 * the same server (same calls, a new connection per call as n8n's helper opens): loopback and
 * wake-up cost every client about a millisecond a call, which no node can win back. And beside
 * the node, each run has a twin through n8n alone: a probe node that evaluates the same three
 * expressions per item with n8n's evaluateExpression and makes the same calls with n8n's
 * httpRequest helper at the same concurrency, and nothing else (no check of every item before the
 * first request, no credential handling). What it reaches is the most any node gets in n8n here.
 *
 * The server runs in a process of its own (this file with `--server`), so its HTTP work does not
 * share the node's event loop.
 */
import http from 'node:http';

import type { IDataObject, IExecuteFunctions, IHttpRequestMethods, INodeExecutionData } from 'n8n-workflow';

import { DEFAULT_CONCURRENCY } from '../nodes/Whilter/realtime/runRealtime';
import { startWhilterServer } from '../test/servers/whilter';
import { serveUntilStdinEnds, startServerProcess } from './lib/processes';
import { median, quickMode, runCount } from './lib/stats';

const CLIENT_ID = 'bench-client';
const CLIENT_SECRET = 'bench-secret';

/** Server mode: the Whilter contract server with the given latency; prints its URL, stops when stdin closes. */
async function serve(latencyMs: number): Promise<void> {
	const whilter = await startWhilterServer({
		client: 'bench',
		clientId: CLIENT_ID,
		clientSecret: CLIENT_SECRET,
		realtimeDelayMs: latencyMs,
		realtimeExactDelay: true,
		realtimeReadyAfterPolls: 2,
		// The real-time API does not touch S3.
		s3: { endpoint: 'http://127.0.0.1:9', bucket: 'unused', region: 'us-east-1', accessKeyId: 'x', secretAccessKey: 'y' },
	});
	serveUntilStdinEnds(whilter.url, async () => await whilter.close());
}

async function startWhilterProcess(latencyMs: number): Promise<{ url: string; stop: () => Promise<void> }> {
	const { line, stop } = await startServerProcess(__filename, ['--server', String(latencyMs)]);
	return { url: line, stop };
}

export interface RealtimeBenchOptions {
	/** Items per concurrent slot: a run at concurrency c has itemsPerSlot × c items. */
	itemsPerSlot?: number;
	/** Server time of every real-time call. */
	latencyMs?: number;
	concurrencies?: number[];
	/** Runs per concurrency; the figures printed last are their medians. */
	runs?: number;
}

/** The pause between status checks the bench asks for (Check Interval). */
const CHECK_PAUSE_MS = 10;

export interface RealtimeBenchRun {
	concurrency: number;
	items: number;
	seconds: number;
	itemsPerSecond: number;
	/** The probe's run of the same items: the same expressions and calls through n8n's helpers alone. */
	n8nHelpersItemsPerSecond?: number;
}

/** One item's time waiting on the server: the POST, a check, the pause between checks, the check that finds the media. */
export function itemLatencyMs(latencyMs: number, checkPauseMs: number): number {
	return latencyMs * 3 + checkPauseMs;
}

/** The bounds a run is set against: what the configured latency allows, and what a bare client reached. */
export interface RealtimeBounds {
	perItemMs: number;
	/** One item's time for a bare HTTP client doing the same calls one after another. */
	clientItemMs?: number;
}

/** Items per second that `concurrency` items at a time, each taking `itemMs`, allow. */
function boundPerSecond(concurrency: number, itemMs: number): number {
	return (concurrency * 1000) / itemMs;
}

export function formatRun(run: RealtimeBenchRun, bounds?: RealtimeBounds): string {
	let tail = '';
	if (bounds) {
		const bound = boundPerSecond(run.concurrency, bounds.perItemMs);
		tail = ` bound_items_per_second=${bound.toFixed(1)} efficiency=${(run.itemsPerSecond / bound).toFixed(2)}`;
		if (bounds.clientItemMs) {
			const client = boundPerSecond(run.concurrency, bounds.clientItemMs);
			tail += ` bare_client_items_per_second=${client.toFixed(1)} efficiency_vs_bare_client=${(run.itemsPerSecond / client).toFixed(2)}`;
		}
	}
	if (run.n8nHelpersItemsPerSecond) {
		tail += ` n8n_helpers_items_per_second=${run.n8nHelpersItemsPerSecond.toFixed(1)} efficiency_vs_n8n_helpers=${(run.itemsPerSecond / run.n8nHelpersItemsPerSecond).toFixed(2)}`;
		if (bounds) tail += ` n8n_helpers_efficiency=${(run.n8nHelpersItemsPerSecond / boundPerSecond(run.concurrency, bounds.perItemMs)).toFixed(2)}`;
	}
	return `realtime: concurrency=${run.concurrency} items=${run.items} seconds=${run.seconds.toFixed(2)} items_per_second=${run.itemsPerSecond.toFixed(1)}${tail}`;
}

/** One call of a bare Node.js HTTP client on a connection of its own; the parsed JSON answer. */
async function bareCall(base: string, method: string, path: string, headers: Record<string, string>, body?: object): Promise<IDataObject> {
	const url = new URL(path, base);
	return await new Promise((resolve, reject) => {
		const request = http.request(url, { method, agent: false, headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) } }, (response) => {
			const chunks: Buffer[] = [];
			response.on('data', (chunk: Buffer) => chunks.push(chunk));
			response.on('end', () => {
				const text = Buffer.concat(chunks).toString('utf8');
				if ((response.statusCode ?? 0) >= 300) reject(new Error(`${method} ${path}: ${response.statusCode} ${text}`));
				else resolve(JSON.parse(text) as IDataObject);
			});
		});
		request.setTimeout(10_000, () => request.destroy(new Error(`${method} ${path}: no answer in 10 s`)));
		request.on('error', reject);
		request.end(body ? JSON.stringify(body) : undefined);
	});
}

/** The median time of one item for a bare client: POST, check, the pause, the check that finds the media. */
export async function bareClientItemMs(base: string, items: number): Promise<number> {
	const token = await bareCall(base, 'POST', '/getToken/token', {}, { client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
	const auth = { authorization: `Bearer ${String(token.access_token)}` };
	const times: number[] = [];
	for (let i = 0; i < items; i++) {
		const started = performance.now();
		const accepted = await bareCall(base, 'POST', '/video/request', auth, {
			'client-request-id': `bare-${i}`,
			'customer-id': 'bench-customer',
			'use-case-id': 'bench-use-case',
			'user-id': `user-${i}`,
			'phrase-texts': [`Hi Customer ${i}`],
			'image-urls': [`https://cdn.example.test/p/${i}.png`],
		});
		const status = `/status/${String(accepted['whilter-request-id'])}`;
		let answer = await bareCall(base, 'GET', status, auth);
		while (answer.status === 'PROCESSING') {
			await new Promise((resolve) => setTimeout(resolve, CHECK_PAUSE_MS));
			answer = await bareCall(base, 'GET', status, auth);
		}
		times.push(performance.now() - started);
	}
	return median(times);
}

let probeRequests = 0;

/**
 * The probe's execute(): per item the node's three expressions (n8n's evaluateExpression), then the
 * POST, a check, the pause, and checks until the media is ready (n8n's httpRequest helper, with a
 * bearer token fetched once), `concurrency` items at a time.
 */
function n8nHelpersProbe(base: string, authorization: string, concurrency: number) {
	return async (context: IExecuteFunctions): Promise<INodeExecutionData[]> => {
		const count = context.getInputData().length;
		const out = new Array<INodeExecutionData>(count);
		const call = async (method: IHttpRequestMethods, path: string, body?: IDataObject) =>
			(await context.helpers.httpRequest({ method, url: `${base}${path}`, headers: { authorization }, body, json: true, timeout: 10_000 })) as IDataObject;
		let next = 0;
		const slot = async () => {
			while (next < count) {
				const item = next++;
				const accepted = await call('POST', '/video/request', {
					'client-request-id': `probe-${++probeRequests}`,
					'customer-id': 'bench-customer',
					'use-case-id': 'bench-use-case',
					'user-id': context.evaluateExpression('{{ $json.user }}', item),
					'phrase-texts': [context.evaluateExpression('Hi {{ $json.name }}', item)],
					'image-urls': [context.evaluateExpression('{{ $json.photo }}', item)],
				});
				const status = `/status/${String(accepted['whilter-request-id'])}`;
				let answer = await call('GET', status);
				while (answer.status === 'PROCESSING') {
					await new Promise((resolve) => setTimeout(resolve, CHECK_PAUSE_MS));
					answer = await call('GET', status);
				}
				out[item] = { json: answer, pairedItem: { item } };
			}
		};
		await Promise.all(Array.from({ length: concurrency }, slot));
		return out;
	};
}

/** Runs the cases, printing one line per run as it finishes; returns the runs. */
export async function runRealtimeBench(options: RealtimeBenchOptions = {}): Promise<RealtimeBenchRun[]> {
	const itemsPerSlot = options.itemsPerSlot ?? 100;
	const concurrencies = options.concurrencies ?? [...new Set([1, 5, 10, DEFAULT_CONCURRENCY])].sort((a, b) => a - b);
	const runs = options.runs ?? 1;
	const latencyMs = options.latencyMs ?? 20;
	const perItemMs = itemLatencyMs(latencyMs, CHECK_PAUSE_MS);
	// Loaded here, not at the top: the server process must not start n8n-core.
	const { CredentialStore, probeNode, runChain } = await import('../test/harness/run');
	const server = await startWhilterProcess(latencyMs);
	const store = new CredentialStore();
	const credential = store.add('whilterApi', {
		baseUrl: server.url,
		client: 'bench',
		authentication: 'clientCredentials',
		clientId: CLIENT_ID,
		clientSecret: CLIENT_SECRET,
		tokenUrl: `${server.url}/getToken/token`,
	});
	const input = (count: number): IDataObject[] =>
		Array.from({ length: count }, (_, i) => ({ user: `user-${i}`, name: `Customer ${i}`, photo: `https://cdn.example.test/p/${i}.png` }));
	const execute = async (count: number, concurrency: number) => {
		const result = await runChain({
			items: input(count).map((json) => ({ json })),
			nodes: [
				{
					name: 'Realtime',
					type: 'whilterRealtime',
					parameters: {
						useCaseId: 'bench-use-case',
						userId: '={{ $json.user }}',
						customerId: 'bench-customer',
						lists: { phraseTexts: [{ text: '=Hi {{ $json.name }}' }], imageUrls: [{ url: '={{ $json.photo }}' }] },
						waitForMedia: true,
						checkInterval: CHECK_PAUSE_MS / 1000,
						maxCheckInterval: CHECK_PAUSE_MS / 1000,
						waitTimeout: 60,
						options: { concurrency },
					},
					credentials: { whilterApi: credential },
				},
			],
			credentials: store,
		});
		if (result.error) throw result.error;
		const output = result.output('Realtime');
		const ready = output.filter((o) => o.json.status === 'SUCCESS' && typeof o.json['video-url'] === 'string').length;
		if (ready !== count) throw new Error(`only ${ready} of ${count} items came back with media`);
		// n8n's own execution time of the node, leaving out the workflow's setup.
		return result.run.data.resultData.runData.Realtime[0].executionTime / 1000;
	};
	const token = await bareCall(server.url, 'POST', '/getToken/token', {}, { client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
	const executeProbe = async (count: number, concurrency: number) => {
		const result = await runChain({
			items: input(count).map((json) => ({ json })),
			nodes: [probeNode('Probe', n8nHelpersProbe(server.url, `Bearer ${String(token.access_token)}`, concurrency))],
			credentials: store,
		});
		if (result.error) throw result.error;
		const ready = result.output('Probe').filter((o) => o.json.status === 'SUCCESS').length;
		if (ready !== count) throw new Error(`the probe: only ${ready} of ${count} items came back with media`);
		return result.run.data.resultData.runData.Probe[0].executionTime / 1000;
	};

	const results: RealtimeBenchRun[] = [];
	const bounds: RealtimeBounds = { perItemMs };
	try {
		bounds.clientItemMs = await bareClientItemMs(server.url, 30);
		process.stdout.write(
			`realtime-bare-client: item_ms=${bounds.clientItemMs.toFixed(1)} configured_item_ms=${perItemMs} (a new connection per call, one item after another)\n`,
		);
		// Token fetched and code paths warm before anything is timed.
		await execute(10, DEFAULT_CONCURRENCY);
		await executeProbe(10, DEFAULT_CONCURRENCY);
		// Rounds over the concurrencies, so a busy minute of the machine hits each of them alike.
		for (let round = 0; round < runs; round++) {
			for (const concurrency of concurrencies) {
				const items = itemsPerSlot * concurrency;
				const seconds = await execute(items, concurrency);
				const probeSeconds = await executeProbe(items, concurrency);
				const run = { concurrency, items, seconds, itemsPerSecond: items / seconds, n8nHelpersItemsPerSecond: items / probeSeconds };
				results.push(run);
				process.stdout.write(`  ${formatRun(run, bounds)}\n`);
			}
		}
	} finally {
		await server.stop();
	}
	const medians: RealtimeBenchRun[] = concurrencies.map((concurrency) => {
		const of = results.filter((r) => r.concurrency === concurrency);
		const seconds = median(of.map((r) => r.seconds));
		return {
			concurrency,
			items: itemsPerSlot * concurrency,
			seconds,
			itemsPerSecond: median(of.map((r) => r.itemsPerSecond)),
			n8nHelpersItemsPerSecond: median(of.map((r) => r.n8nHelpersItemsPerSecond ?? 0)),
		};
	});
	for (const run of medians) process.stdout.write(`${formatRun(run, bounds)}\n`);
	const atDefault = medians.find((r) => r.concurrency === DEFAULT_CONCURRENCY);
	if (atDefault) {
		const efficiency = atDefault.itemsPerSecond / boundPerSecond(DEFAULT_CONCURRENCY, perItemMs);
		const vsClient = bounds.clientItemMs
			? ` efficiency_vs_bare_client=${(atDefault.itemsPerSecond / boundPerSecond(DEFAULT_CONCURRENCY, bounds.clientItemMs)).toFixed(2)}`
			: '';
		const probe = atDefault.n8nHelpersItemsPerSecond
			? ` n8n_helpers_efficiency=${(atDefault.n8nHelpersItemsPerSecond / boundPerSecond(DEFAULT_CONCURRENCY, perItemMs)).toFixed(2)} efficiency_vs_n8n_helpers=${(atDefault.itemsPerSecond / atDefault.n8nHelpersItemsPerSecond).toFixed(2)}`
			: '';
		process.stdout.write(`realtime-summary: efficiency=${efficiency.toFixed(2)} concurrency=${DEFAULT_CONCURRENCY} runs=${runs}${vsClient}${probe}\n`);
	}
	return medians;
}

async function main(): Promise<void> {
	const serverFlag = process.argv.indexOf('--server');
	if (serverFlag !== -1) return await serve(Number(process.argv[serverFlag + 1]));
	const { shutdownN8nCore } = await import('../test/harness/run');
	try {
		await runRealtimeBench({ runs: runCount(), itemsPerSlot: quickMode() ? 20 : 100 });
	} finally {
		await shutdownN8nCore();
	}
}

if (require.main === module) {
	main().catch((error: unknown) => {
		process.stderr.write(`realtime bench failed: ${error instanceof Error ? error.stack : JSON.stringify(error)}\n`);
		process.exitCode = 1;
	});
}
