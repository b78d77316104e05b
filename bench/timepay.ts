/**
 * TimePay Initiate throughput: N input items (one initiation each, sent one after another as the
 * node does) through n8n-core's WorkflowExecute against the TimePay contract server, which runs in
 * a process of its own so that its work is not counted as the node's.
 *
 *   npx tsx bench/timepay.ts [--items 2000] [--latency-items 200]
 *
 * Prints `timepay: items=<n> seconds=<s> items_per_second=<r>` with the server answering at once,
 * then the same with every initiation held 20 ms at the server, next to the bound that latency
 * allows. The node never sends two initiations at once (two at once to one campaign could message a
 * customer twice), so its concurrency is 1 and the bound is 1 ÷ 20 ms.
 */
import { serveUntilStdinEnds, startServerProcess } from './lib/processes';

const TOKEN = 'bench-timepay-token';

/** Serve mode: the contract server alone, its URL on one JSON line, stopped when stdin closes. */
async function serve(latencyMs: number): Promise<void> {
	const { startTimePayServer } = await import('../test/servers/timepay');
	const server = await startTimePayServer({ token: TOKEN });
	if (latencyMs > 0) server.faults.add({ kind: 'latency', ms: latencyMs, method: 'POST', path: /^\/api\/v1\/initiate\//, times: Number.MAX_SAFE_INTEGER });
	serveUntilStdinEnds(JSON.stringify({ url: server.url }), async () => await server.close());
}

export interface TimePayBenchResult {
	items: number;
	seconds: number;
	itemsPerSecond: number;
	/** The time the server held each initiation, when it did. */
	latencyMs?: number;
}

/** Server time of each initiation in the latency case. */
export const TIMEPAY_LATENCY_MS = 20;

export async function benchTimePay(options: { items: number; latencyMs?: number }): Promise<TimePayBenchResult> {
	const { CredentialStore, runChain, shutdownN8nCore } = await import('../test/harness/run');
	const { line, stop } = await startServerProcess(__filename, ['--serve', String(options.latencyMs ?? 0)]);
	const { url } = JSON.parse(line) as { url: string };
	try {
		const store = new CredentialStore();
		const credential = store.add('timePayApi', { token: TOKEN, baseUrl: url });
		// camp-loans customers that can be messaged: every item is a 200 with a one-customer filter.
		const reachable = Array.from({ length: 12 }, (_, i) => i)
			.filter((i) => i % 6 !== 5)
			.map((i) => `LOANID-${2043150 + i}`);
		const node = {
			name: 'TimePay',
			type: 'timePayInitiate',
			parameters: {
				campaign: { __rl: true, mode: 'id', value: 'camp-loans' },
				templateId: 'hfu7VL6sBhI6NPm',
				// One initiation per input item, as the bench measures (the node's default is once per execution).
				initiate: 'perItem',
				conversationSettings: { agentId: 'PPTnLQAvGlLtVgRbpcFn', dispositionId: 'XaYnpMfmTumXNSgOSIZB' },
				filters: { ids: '={{ $json.loanId }}', paymentStatus: ['bounced', 'pending', 'partial', 'paid', 'received'] },
			},
			credentials: { timePayApi: credential },
		};
		const items = (count: number) => Array.from({ length: count }, (_, i) => ({ json: { loanId: reachable[i % reachable.length] } }));
		const once = async (count: number) => {
			const result = await runChain({ items: items(count), nodes: [node], credentials: store });
			if (result.error) throw result.error;
			const out = result.output('TimePay');
			if (out.length !== count || out.some((o) => o.json.success !== true)) throw new Error('an initiation did not succeed');
		};
		await once(50); // warm the engine, the HTTP agent and the server
		const started = process.hrtime.bigint();
		await once(options.items);
		const seconds = Number(process.hrtime.bigint() - started) / 1e9;
		await shutdownN8nCore();
		return { items: options.items, seconds, itemsPerSecond: options.items / seconds, ...(options.latencyMs ? { latencyMs: options.latencyMs } : {}) };
	} finally {
		await stop();
	}
}

export function formatTimePayBench(result: TimePayBenchResult): string {
	const line = `items=${result.items} seconds=${result.seconds.toFixed(2)} items_per_second=${result.itemsPerSecond.toFixed(1)}`;
	if (!result.latencyMs) return `timepay: ${line}`;
	const bound = 1000 / result.latencyMs;
	return `timepay: latency_ms=${result.latencyMs} concurrency=1 ${line} bound_items_per_second=${bound.toFixed(1)} efficiency=${(result.itemsPerSecond / bound).toFixed(2)}`;
}

async function main(): Promise<void> {
	if (process.argv.includes('--serve')) return await serve(Number(process.argv[process.argv.indexOf('--serve') + 1]) || 0);
	const count = (flag: string, fallback: number): number => {
		const at = process.argv.indexOf(flag);
		const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
		if (!Number.isInteger(value) || value < 1) throw new Error(`${flag} must be a positive whole number`);
		return value;
	};
	process.stdout.write(`${formatTimePayBench(await benchTimePay({ items: count('--items', 2000) }))}\n`);
	process.stdout.write(`${formatTimePayBench(await benchTimePay({ items: count('--latency-items', 200), latencyMs: TIMEPAY_LATENCY_MS }))}\n`);
}

if (require.main === module) {
	main().catch((error: unknown) => {
		process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
		process.exit(1);
	});
}
