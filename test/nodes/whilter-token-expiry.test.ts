/**
 * Whilter tokens that expire mid-campaign, through n8n-core against the contract server. The server
 * issues tokens with a lifetime (`expires_in`) on Date.now, which the virtual clock moves as the nodes
 * wait, and answers an expired token with 401 or with 403 (Whilter's guide names both). The credential
 * stops sending a token before its lifetime ends, so Whilter's missing-token 401 makes n8n fetch a
 * new one and repeat the call once; a 401 or 403 to a token Whilter ended early does the same.
 */
import type { IDataObject } from 'n8n-workflow';
import { sleep } from 'n8n-workflow';

import { TOKEN_RENEW_MARGIN_SECONDS } from '../../credentials/WhilterApi.credentials';
import { useVirtualClock } from '../harness/clock';
import { CredentialStore, runChain, shutdownN8nCore } from '../harness/run';
import type { NodeSpec } from '../harness/run';
import { startWhilterWithS3, whilterCredentialData } from '../harness/whilter';
import type { WhilterWithS3 } from '../harness/whilter';
import type { RecordedRequest } from '../servers/http';
import type { WhilterServer } from '../servers/whilter';

// Polls wait with n8n-workflow's sleep: on the virtual clock the tokens expire during the waits, and
// how many tokens a run needs follows from its schedule alone.
jest.mock('n8n-workflow', () => {
	const actual = jest.requireActual<typeof import('n8n-workflow')>('n8n-workflow');
	return { ...actual, sleep: jest.fn(actual.sleep) };
});
const clock = useVirtualClock(jest.mocked(sleep));

/** The server's token lifetime; the credential sends a token for TTL - 60 s = 240 s. */
const TTL_SECONDS = 300;
const USE_SECONDS = TTL_SECONDS - TOKEN_RENEW_MARGIN_SECONDS;

let servers: WhilterWithS3;
let whilter: WhilterServer;

beforeAll(async () => {
	// Six PROCESSING answers per real-time request: 20 items' checks span several token lifetimes.
	servers = await startWhilterWithS3({ server: { tokenTtlSeconds: TTL_SECONDS, realtimeReadyAfterPolls: 6 } });
	whilter = servers.whilter;
});

afterAll(async () => {
	await servers?.close();
	await shutdownN8nCore();
});

afterEach(() => {
	whilter.faults.clear();
	whilter.expiredTokenStatus = 401;
	whilter.realtimeDelayMs = undefined;
});

function clientCredentials() {
	const store = new CredentialStore();
	const credential = store.add('whilterApi', whilterCredentialData(whilter, servers.drop));
	return { store, credential };
}

function accessToken(token: string) {
	const store = new CredentialStore();
	// No client ID, secret or token URL: the credential as a user of a static token fills it in.
	const data = Object.fromEntries(
		Object.entries(whilterCredentialData(whilter, servers.drop)).filter(([key]) => !['clientId', 'clientSecret', 'tokenUrl'].includes(key)),
	);
	const credential = store.add('whilterApi', { ...data, authentication: 'accessToken', accessToken: token });
	return { store, credential };
}

function batchThenStatus(credential: { id: string; name: string }): NodeSpec[] {
	return [
		{
			name: 'Batch',
			type: 'whilterBatch',
			parameters: { inputSource: 'items', identifierColumn: 'phone', templateId: 'T-100', campaignId: 'spring', campaignName: `expiry-${Date.now()}-${Math.random()}` },
			credentials: { whilterApi: credential },
		},
		{
			name: 'Status',
			type: 'whilterStatus',
			// A check every 30 s for up to an hour: the campaign outlives several tokens.
			parameters: { operation: 'wait', checkInterval: 30, maxCheckInterval: 30, waitTimeout: 3600 },
			credentials: { whilterApi: credential },
		},
	];
}

function bearerOf(request: RecordedRequest): string | undefined {
	const header = request.headers.authorization;
	return typeof header === 'string' ? header.replace(/^Bearer /, '') : undefined;
}

/** Whilter calls (not the token endpoint) since `mark`. */
function apiCalls(mark: number): RecordedRequest[] {
	return whilter.requests.slice(mark).filter((r) => r.path !== '/getToken/token');
}

const customers = [{ phone: '+91001', name: 'Asha' }, { phone: '+91002', name: 'Ravi' }].map((json) => ({ json }));

describe.each([401, 403] as const)('tokens expire mid-campaign; Whilter answers an expired token with %i', (expiredStatus) => {
	beforeEach(() => {
		whilter.expiredTokenStatus = expiredStatus;
	});

	it('Whilter Batch then Status: the task is created once, the wait ends completed, no expired token is ever sent', async () => {
		const { store, credential } = clientCredentials();
		const mark = whilter.requests.length;
		const tokensBefore = whilter.tokensIssued;
		// Whilter starts the task 10 minutes in and completes it 20 minutes in.
		clock.current.at(600_000, async () => await whilter.advance());
		clock.current.at(1_200_000, async () => await whilter.advance());
		const result = await runChain({ items: customers, nodes: batchThenStatus(credential), credentials: store });

		expect(result.error).toBeUndefined();
		const [task] = result.output('Batch');
		const [status] = result.output('Status');
		expect(status.json).toMatchObject({ 'task-id': task.json['task-id'], status: 'completed' });
		const calls = apiCalls(mark);
		expect(calls.filter((r) => r.method === 'POST' && r.path === '/acme/task')).toHaveLength(1);
		// Whilter never saw an expired token: every refusal was a call sent without one (n8n then
		// fetched a new token and repeated the call).
		const refused = calls.filter((r) => r.status === 401 || r.status === 403);
		expect(refused.length).toBeGreaterThan(0);
		expect(refused.map((r) => [r.status, bearerOf(r)])).toEqual(refused.map(() => [401, undefined]));
		// One token per 240 s of use over the wait (about 20 minutes of checks), the first included.
		const elapsedSeconds = clock.current.elapsed() / 1000;
		const issued = whilter.tokensIssued - tokensBefore;
		expect(issued).toBe(refused.length + 1);
		expect(issued).toBeLessThanOrEqual(Math.ceil(elapsedSeconds / USE_SECONDS) + 1);
		expect(issued).toBeGreaterThanOrEqual(Math.floor(elapsedSeconds / TTL_SECONDS));
	});

	it('Whilter Realtime, 20 items at concurrency 5: every item succeeds with a few tokens', async () => {
		const { store, credential } = clientCredentials();
		const mark = whilter.requests.length;
		const tokensBefore = whilter.tokensIssued;
		const items = Array.from({ length: 20 }, (_, i) => ({ json: { user: `user-${i}` } }));
		const result = await runChain({
			items,
			nodes: [
				{
					name: 'Realtime',
					type: 'whilterRealtime',
					parameters: {
						useCaseId: 'uc-1',
						userId: '={{ $json.user }}',
						customerId: 'acme-cust',
						// A check every 10 s. The five items in flight share the virtual clock, so while one call is
						// under way the others' waits move it on by up to 5 x 10 s: within the 60 s margin.
						waitForMedia: true,
						checkInterval: 10,
						maxCheckInterval: 10,
						waitTimeout: 36_000,
						options: { concurrency: 5 },
					},
					credentials: { whilterApi: credential },
				},
			],
			credentials: store,
		});

		expect(result.error).toBeUndefined();
		const out = result.output('Realtime');
		expect(out).toHaveLength(20);
		expect(out.map((item) => (item.json as IDataObject).status)).toEqual(items.map(() => 'SUCCESS'));
		const calls = apiCalls(mark);
		const refused = calls.filter((r) => r.status === 401 || r.status === 403);
		// Each request made once; a POST refused for its missing token did nothing and was repeated.
		const posts = calls.filter((r) => r.method === 'POST' && r.path === '/video/request');
		expect(posts.filter((r) => r.status === 200)).toHaveLength(20);
		expect(posts).toHaveLength(20 + refused.filter((r) => r.method === 'POST').length);
		expect(whilter.realtime.size).toBeGreaterThanOrEqual(20);
		expect(refused.map((r) => [r.status, bearerOf(r)])).toEqual(refused.map(() => [401, undefined]));
		const elapsedSeconds = clock.current.elapsed() / 1000;
		const periods = Math.ceil(elapsedSeconds / USE_SECONDS);
		const issued = whilter.tokensIssued - tokensBefore;
		// Shown in the test log: the numbers the README quotes.
		process.stdout.write(`Realtime 20 items at concurrency 5: ${elapsedSeconds} s virtual, ${issued} tokens, ${refused.length} missing-token 401s\n`);
		expect(periods).toBeGreaterThanOrEqual(3);
		// At most one token per call in flight when a token's time is up (5), per token lifetime.
		expect(issued).toBeGreaterThanOrEqual(periods);
		expect(issued).toBeLessThanOrEqual(1 + 5 * periods);
	});

	it(`a creating POST answered ${expiredStatus} (a token Whilter ended early) is repeated once and makes one task`, async () => {
		const { store, credential } = clientCredentials();
		// A first run stores a token; then Whilter ends it before its lifetime is over.
		await runChain({ items: customers, nodes: batchThenStatus(credential).slice(0, 1), credentials: store });
		whilter.expireTokens();
		const tasksBefore = new Set(whilter.tasks.keys());
		const tokensBefore = whilter.tokensIssued;
		const mark = whilter.requests.length;
		const result = await runChain({ items: customers, nodes: batchThenStatus(credential).slice(0, 1), credentials: store });

		expect(result.error).toBeUndefined();
		const posts = apiCalls(mark).filter((r) => r.method === 'POST' && r.path === '/acme/task');
		expect(posts.map((r) => r.status)).toEqual([expiredStatus, 200]);
		expect(bearerOf(posts[1])).not.toBe(bearerOf(posts[0]));
		expect(whilter.tokensIssued - tokensBefore).toBe(1);
		const made = [...whilter.tasks.keys()].filter((id) => !tasksBefore.has(id));
		expect(made).toEqual([result.output('Batch')[0].json['task-id']]);
	});
});

describe('Access Token mode', () => {
	it('a static token runs Batch then Status: no token request, the token sent as it is', async () => {
		const token = whilter.issueToken();
		const { store, credential } = accessToken(token);
		const mark = whilter.requests.length;
		const tokensBefore = whilter.tokensIssued;
		clock.current.at(60_000, async () => await whilter.advance());
		clock.current.at(120_000, async () => await whilter.advance());
		const result = await runChain({ items: customers, nodes: batchThenStatus(credential), credentials: store });

		expect(result.error).toBeUndefined();
		expect(result.output('Status')[0].json).toMatchObject({ status: 'completed' });
		expect(whilter.tokensIssued).toBe(tokensBefore);
		const calls = whilter.requests.slice(mark);
		expect(calls.filter((r) => r.path === '/getToken/token')).toEqual([]);
		expect(calls.length).toBeGreaterThanOrEqual(3);
		expect(calls.map(bearerOf)).toEqual(calls.map(() => token));
	});

	it('an edited access token is used at once', async () => {
		const first = whilter.issueToken();
		const { store, credential } = accessToken(first);
		const statusNode: NodeSpec = { name: 'Status', type: 'whilterStatus', parameters: { operation: 'get' }, credentials: { whilterApi: credential } };
		const id = await whilter.seedTask({ rows: 1 });
		expect((await runChain({ items: [{ json: { 'task-id': id } }], nodes: [statusNode], credentials: store })).error).toBeUndefined();
		const second = whilter.issueToken();
		store.data(credential.id).accessToken = second;
		const mark = whilter.requests.length;
		const result = await runChain({ items: [{ json: { 'task-id': id } }], nodes: [statusNode], credentials: store });
		expect(result.error).toBeUndefined();
		expect(whilter.requests.slice(mark).map(bearerOf)).toEqual([second]);
	});

	it('a rejected static token is one clear 401 error', async () => {
		const { store, credential } = accessToken('wt-not-issued');
		const id = await whilter.seedTask({ rows: 1 });
		const result = await runChain({
			items: [{ json: { 'task-id': id } }],
			nodes: [{ name: 'Status', type: 'whilterStatus', parameters: { operation: 'get' }, credentials: { whilterApi: credential } }],
			credentials: store,
		});
		expect(result.error?.message).toMatch(/Whilter answered HTTP 401/);
	});
});
