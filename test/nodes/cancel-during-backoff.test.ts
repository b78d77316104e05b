/**
 * Stopping an execution while the transport waits out a vendor's Retry-After: every vendor's calls
 * go through one transport (nodes/shared/transport.ts), which hands the execution's cancel signal to
 * the retry policy, so the wait ends at once instead of after the two minutes the vendor asked for.
 */
import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { CredentialStore, probeNode, runChain, shutdownN8nCore } from '../harness/run';
import type { NodeSpec, RunResult } from '../harness/run';
import type { ContractServer } from '../servers/http';
import { startInsiderServer } from '../servers/insider';
import { startWhilterWithS3, whilterCredentialData } from '../harness/whilter';
import type { WhilterWithS3 } from '../harness/whilter';
import { startTimePayServer } from '../servers/timepay';
import { timePayApiRequest } from '../../nodes/TimePay/transport';

const RETRY_AFTER_SECONDS = 120;
/** The acceptance bound: from the stop to the end of the execution. */
const STOPS_WITHIN_MS = 1000;

let whilterWithS3: WhilterWithS3 | undefined;
const servers: ContractServer[] = [];
const store = new CredentialStore();

afterAll(async () => {
	for (const server of servers) await server.close();
	await whilterWithS3?.close();
	await shutdownN8nCore();
});

/** Resolves once `condition` holds; a test's own timeout bounds the wait. */
async function until(condition: () => boolean): Promise<void> {
	while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/**
 * Runs `node` until the vendor has answered its first 429, stops the execution, and measures how
 * long the execution takes to end after the stop.
 */
async function stopDuringBackoff(server: ContractServer, path: string | RegExp, node: NodeSpec): Promise<{ result: RunResult; afterStopMs: number; calls: number }> {
	server.faults.add({ method: 'GET', path, kind: 'status', status: 429, retryAfter: RETRY_AFTER_SECONDS, times: 10 });
	const matching = () => server.requests.filter((r) => r.method === 'GET' && (typeof path === 'string' ? r.path === path : path.test(r.path)));
	let cancel: (() => void) | undefined;
	let stoppedAt = 0;
	const running = runChain({ items: [{ json: {} }], nodes: [node], credentials: store, onStart: (c) => (cancel = c) });
	await until(() => matching().length > 0 && cancel !== undefined);
	// The 429 has been answered; the transport is now waiting out the Retry-After.
	await new Promise((resolve) => setImmediate(resolve));
	stoppedAt = performance.now();
	cancel!();
	const result = await running;
	const afterStopMs = performance.now() - stoppedAt;
	server.faults.clear();
	return { result, afterStopMs, calls: matching().length };
}

describe('a cancelled execution stops while waiting out a Retry-After', () => {
	it('Whilter (Whilter Status: Get)', async () => {
		whilterWithS3 = await startWhilterWithS3();
		const { whilter } = whilterWithS3;
		const credential = store.add('whilterApi', whilterCredentialData(whilter));
		const { afterStopMs, calls } = await stopDuringBackoff(whilter, '/acme/task/status/task-1', {
			name: 'Status',
			type: 'whilterStatus',
			parameters: { operation: 'get', taskId: 'task-1' },
			credentials: { whilterApi: credential },
		});
		expect(calls).toBe(1);
		expect(afterStopMs).toBeLessThan(STOPS_WITHIN_MS);
	});

	it('Insider (Insider WhatsApp Media: Get URL)', async () => {
		const insider = await startInsiderServer({ authKey: 'insider-key-0123456789' });
		servers.push(insider);
		const credential = store.add('insiderApi', { authKey: 'insider-key-0123456789', baseUrl: insider.url });
		const { afterStopMs, calls } = await stopDuringBackoff(insider, '/v1/media/m-1', {
			name: 'Insider',
			type: 'insiderWhatsAppMedia',
			parameters: { operation: 'getUrl', mediaId: 'm-1' },
			credentials: { insiderApi: credential },
		});
		expect(calls).toBe(1);
		expect(afterStopMs).toBeLessThan(STOPS_WITHIN_MS);
	});

	it("TimePay (the node's transport, called from inside an execution)", async () => {
		const timepay = await startTimePayServer({ token: 'tp-token-0123456789' });
		servers.push(timepay);
		const credential = store.add('timePayApi', { token: 'tp-token-0123456789', baseUrl: timepay.url });
		// Initiations are POSTs, never retried; TimePay's retried calls are its GETs (the campaign list).
		const listCampaigns = async (context: IExecuteFunctions): Promise<INodeExecutionData[]> => {
			const { body } = await timePayApiRequest.call(context, { method: 'GET', path: '/api/v1/campaigns' });
			return [{ json: body }];
		};
		const { result, afterStopMs, calls } = await stopDuringBackoff(timepay, '/api/v1/campaigns', probeNode('Campaigns', listCampaigns, { timePayApi: credential }));
		expect(calls).toBe(1);
		expect(afterStopMs).toBeLessThan(STOPS_WITHIN_MS);
		expect(result.output('Campaigns')).toEqual([]);
	});
});
