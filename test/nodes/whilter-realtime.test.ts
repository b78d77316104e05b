import type { IDataObject } from 'n8n-workflow';
import { sleep } from 'n8n-workflow';

import { useVirtualClock } from '../harness/clock';
import { CredentialStore, packageNodeTypes, runChain, shutdownN8nCore } from '../harness/run';
import type { NodeSpec } from '../harness/run';
import { RealtimeGate } from '../harness/realtimeGate';
import { WHILTER_CLIENT, whilterCredentialData } from '../harness/whilter';
import type { RecordedRequest } from '../servers/http';
import { startWhilterServer } from '../servers/whilter';
import type { WhilterServer } from '../servers/whilter';

// Waiting for the media polls with n8n-workflow's sleep, and retries wait with it: on the virtual clock
// (test/harness/clock.ts) a wait's checks follow from its schedule alone, and timeouts come at once.
jest.mock('n8n-workflow', () => {
	const actual = jest.requireActual<typeof import('n8n-workflow')>('n8n-workflow');
	return { ...actual, sleep: jest.fn(actual.sleep) };
});
const clock = useVirtualClock(jest.mocked(sleep));

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const CLIENT_SECRET = 'rt-secret-value';
const API_KEY = 'rt-api-key-value';
const FAILURE_MESSAGE = 'Rendering failed: image-texts[0] is too long';

let whilter: WhilterServer;
let store: CredentialStore;
let credential: { id: string; name: string };

function addCredential(): { id: string; name: string } {
	return store.add('whilterApi', { ...whilterCredentialData(whilter), clientSecret: CLIENT_SECRET, apiKey: API_KEY });
}

beforeAll(async () => {
	whilter = await startWhilterServer({
		...WHILTER_CLIENT,
		clientSecret: CLIENT_SECRET,
		apiKey: API_KEY,
		// The real-time API never touches S3; the batch side of the server is not used here.
		s3: { endpoint: 'http://127.0.0.1:9', bucket: 'unused', region: 'us-east-1', accessKeyId: 'x', secretAccessKey: 'y' },
	});
	store = new CredentialStore();
	credential = addCredential();
});

afterAll(async () => {
	await whilter?.close();
	await shutdownN8nCore();
});

afterEach(() => {
	whilter.faults.clear();
	whilter.realtimeDelayMs = undefined;
	whilter.expireTokenAfterUses(Number.POSITIVE_INFINITY);
});

/** Checks at 0, 10, 25 ms, then every 20 ms (virtual time: the node's sleeps return at once). */
const FAST_WAIT = { waitForMedia: true, checkInterval: 0.01, maxCheckInterval: 0.02, waitTimeout: 10 };

function realtimeNode(parameters: IDataObject = {}, extra: Partial<NodeSpec> = {}): NodeSpec {
	return {
		name: 'Realtime',
		type: 'whilterRealtime',
		parameters: { useCaseId: 'uc-1', userId: '={{ $json.user }}', customerId: 'acme-cust', waitForMedia: false, ...parameters },
		credentials: { whilterApi: extra.credentials?.whilterApi ?? credential },
		...extra,
	};
}

/** Runs the node over the items and returns the run with the Whilter requests it caused. */
async function run(items: IDataObject[], parameters: IDataObject = {}, extra: Partial<NodeSpec> = {}) {
	const mark = whilter.requests.length;
	const result = await runChain({ items: items.map((json) => ({ json })), nodes: [realtimeNode(parameters, extra)], credentials: store });
	const requests = whilter.requests.slice(mark);
	const posts = requests.filter((r) => r.method === 'POST' && r.path.startsWith('/video/'));
	const statusGets = requests.filter((r) => r.method === 'GET' && r.path.startsWith('/status/'));
	const tokenPosts = requests.filter((r) => r.path === '/getToken/token');
	return { result, output: result.output('Realtime'), requests, posts, statusGets, tokenPosts };
}

const users = (count: number) => Array.from({ length: count }, (_, i) => ({ user: `user-${i}` }));
const bodyOf = (request: RecordedRequest) => request.body as IDataObject;
const userOf = (request: RecordedRequest) => bodyOf(request)['user-id'];

describe('Whilter Realtime through n8n-core', () => {
	it('is usable as an AI tool', () => {
		expect((packageNodeTypes.whilterRealtime as { description: { usableAsTool?: boolean } }).description.usableAsTool).toBe(true);
	});

	it('sends the documented body per item from the fixed collection, with a generated client-request-id', async () => {
		const { result, output, posts, statusGets } = await run(
			[
				{ user: 'u-1', name: 'Asha', photo: 'https://cdn.test/asha.png' },
				{ user: 'u-2', name: 'Ravi', photo: 'https://cdn.test/ravi.png' },
			],
			{
				lists: {
					phraseTexts: [{ text: '=Hi {{ $json.name }}' }, { text: 'Welcome aboard' }],
					videoTexts: [{ text: '={{ $json.name }}' }],
					imageUrls: [{ url: '={{ $json.photo }}' }],
					videoUrls: [{ url: 'https://cdn.test/intro.mp4' }],
				},
			},
		);
		expect(result.error).toBeUndefined();
		expect(statusGets).toHaveLength(0);
		expect(posts.map((p) => p.path)).toEqual(['/video/request', '/video/request']);
		const ids = posts.map((p) => bodyOf(p)['client-request-id'] as string);
		expect(ids[0]).toMatch(UUID);
		expect(ids[1]).toMatch(UUID);
		expect(ids[0]).not.toBe(ids[1]);
		expect(posts.map(bodyOf)).toEqual([
			{
				'client-request-id': ids[0],
				'customer-id': 'acme-cust',
				'use-case-id': 'uc-1',
				'user-id': 'u-1',
				'phrase-texts': ['Hi Asha', 'Welcome aboard'],
				'image-texts': [],
				'video-texts': ['Asha'],
				'image-urls': ['https://cdn.test/asha.png'],
				'video-urls': ['https://cdn.test/intro.mp4'],
			},
			{
				'client-request-id': ids[1],
				'customer-id': 'acme-cust',
				'use-case-id': 'uc-1',
				'user-id': 'u-2',
				'phrase-texts': ['Hi Ravi', 'Welcome aboard'],
				'image-texts': [],
				'video-texts': ['Ravi'],
				'image-urls': ['https://cdn.test/ravi.png'],
				'video-urls': ['https://cdn.test/intro.mp4'],
			},
		]);
		for (const post of posts) {
			expect(post.headers['x-api-key']).toBe(API_KEY);
			expect(post.headers.authorization).toMatch(/^Bearer wt-/);
			expect(post.status).toBe(200);
		}
		const created = [...whilter.realtime.values()];
		expect(output).toHaveLength(2);
		output.forEach((item, i) => {
			const id = item.json['whilter-request-id'] as string;
			expect(created.find((c) => c.id === id)?.body['client-request-id']).toBe(ids[i]);
			expect(item.json).toEqual({
				'client-request-id': ids[i],
				'whilter-request-id': id,
				'user-id': `u-${i + 1}`,
				response: { status: 'SUCCESS', message: 'Request accepted', 'client-request-id': ids[i], 'whilter-request-id': id },
			});
			expect(item.pairedItem).toEqual({ item: i });
		});
	});

	it('takes the lists from a JSON expression, the client-request-id from a field, and the /video/demo path', async () => {
		const { result, output, posts } = await run(
			[
				{ user: 'u-7', order: 'A17', tags: ['gold', 'mumbai'], clip: 'http://cdn.test/a.mp4' },
				{ user: 'u-8', order: 'A18', tags: [], clip: 'https://cdn.test/b.mp4' },
			],
			{
				clientRequestId: '={{ "order-" + $json.order }}',
				listsInput: 'json',
				listsJson: '={{ { "image-texts": $json.tags, "video-urls": [$json.clip] } }}',
				options: { referenceRecordId: '={{ $json.order }}', requestPath: '/video/demo' },
			},
		);
		expect(result.error).toBeUndefined();
		expect(posts.map((p) => p.path)).toEqual(['/video/demo', '/video/demo']);
		expect(posts.map(bodyOf)).toEqual([
			{
				'client-request-id': 'order-A17',
				'customer-id': 'acme-cust',
				'use-case-id': 'uc-1',
				'user-id': 'u-7',
				'reference-record-id': 'A17',
				'phrase-texts': [],
				'image-texts': ['gold', 'mumbai'],
				'video-texts': [],
				'image-urls': [],
				'video-urls': ['http://cdn.test/a.mp4'],
			},
			{
				'client-request-id': 'order-A18',
				'customer-id': 'acme-cust',
				'use-case-id': 'uc-1',
				'user-id': 'u-8',
				'reference-record-id': 'A18',
				'phrase-texts': [],
				'image-texts': [],
				'video-texts': [],
				'image-urls': [],
				'video-urls': ['https://cdn.test/b.mp4'],
			},
		]);
		expect(output.map((o) => o.json['client-request-id'])).toEqual(['order-A17', 'order-A18']);
	});

	describe('Get Status', () => {
		/** Create Media without waiting, then Get Status on its output (the default Whilter Request ID reads it). */
		async function createThenGetStatus(items: IDataObject[], statusParameters: IDataObject = {}, extra: Partial<NodeSpec> = {}) {
			const mark = whilter.requests.length;
			const result = await runChain({
				items: items.map((json) => ({ json })),
				nodes: [realtimeNode(), { name: 'Status', type: 'whilterRealtime', parameters: { operation: 'getStatus', ...statusParameters }, credentials: { whilterApi: credential }, ...extra }],
				credentials: store,
			});
			const requests = whilter.requests.slice(mark);
			return { result, created: result.output('Realtime'), output: result.output('Status'), statusGets: requests.filter((r) => r.method === 'GET' && r.path.startsWith('/status/')) };
		}

		it('a workflow saved before the operation existed still creates media (Create Media is the default)', async () => {
			const { result, posts } = await run(users(1));
			expect(result.error).toBeUndefined();
			expect(posts).toHaveLength(1);
		});

		it('looks each request up once by its whilter-request-id and outputs the status as the wait does', async () => {
			const { result, created, output, statusGets } = await createThenGetStatus(users(2));
			expect(result.error).toBeUndefined();
			const ids = created.map((item) => item.json['whilter-request-id'] as string);
			expect(statusGets.map((g) => g.path)).toEqual(ids.map((id) => `/status/${id}`));
			expect(statusGets.every((g) => g.headers['x-api-key'] === API_KEY)).toBe(true);
			// The server answers PROCESSING to a request's first check.
			expect(output.map((item) => item.json)).toEqual(
				ids.map((id) => ({
					'whilter-request-id': id,
					status: 'PROCESSING',
					message: 'Processing',
					'video-url': null,
					'image-url': null,
					response: { status: 'PROCESSING', message: 'Processing', 'video-url': null, 'image-url': null },
				})),
			);
			expect(output.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		});

		it('once ready: SUCCESS with the media URLs', async () => {
			const { created } = await createThenGetStatus(users(1));
			const id = created[0].json['whilter-request-id'] as string;
			const { output } = await run([{ id }], { operation: 'getStatus', whilterRequestId: '={{ $json.id }}' });
			expect(output[0].json).toMatchObject({
				'whilter-request-id': id,
				status: 'SUCCESS',
				message: 'Ready',
				'video-url': `https://media.example.test/rt/${id}.mp4`,
				'image-url': `https://media.example.test/rt/${id}.png`,
			});
		});

		it('an unknown request is an error naming the call; an empty or ".." ID is refused before any request', async () => {
			const unknown = await run([{ id: 'wr-unknown' }], { operation: 'getStatus', whilterRequestId: '={{ $json.id }}' });
			expect(unknown.result.error?.message).toMatch(/HTTP 404 to GET \/status\/wr-unknown/);
			const empty = await run([{}], { operation: 'getStatus', whilterRequestId: '={{ $json.id }}' });
			expect(empty.result.error?.message).toBe('Item 0: "Whilter Request ID" is empty');
			expect(empty.requests).toHaveLength(0);
			const dots = await run([{ id: '..' }], { operation: 'getStatus', whilterRequestId: '={{ $json.id }}' });
			expect(dots.result.error?.message).toMatch(/"\.\."/);
			expect(dots.requests).toHaveLength(0);
		});

		it('a timed-out wait names Get Status as the way to look the request up later', async () => {
			const { result } = await run(users(1), { ...FAST_WAIT, useCaseId: 'never' });
			expect(result.error?.description).toMatch(/Get Status operation \(GET \/status\/wr-/);
		});
	});

	describe('wait for media', () => {
		it('polls the status until SUCCESS and outputs the URLs', async () => {
			const { result, output, posts, statusGets } = await run(users(2), FAST_WAIT);
			expect(result.error).toBeUndefined();
			expect(posts).toHaveLength(2);
			output.forEach((item, i) => {
				const id = item.json['whilter-request-id'] as string;
				expect(item.json).toMatchObject({
					'client-request-id': bodyOf(posts.find((p) => userOf(p) === `user-${i}`)!)['client-request-id'],
					'user-id': `user-${i}`,
					status: 'SUCCESS',
					message: 'Ready',
					'video-url': `https://media.example.test/rt/${id}.mp4`,
					'image-url': `https://media.example.test/rt/${id}.png`,
				});
				// The server answers PROCESSING once, then SUCCESS: two checks per item, each with the API key.
				const gets = statusGets.filter((g) => g.path === `/status/${id}`);
				expect(gets).toHaveLength(2);
				expect(gets.every((g) => g.headers['x-api-key'] === API_KEY)).toBe(true);
				expect(item.pairedItem).toEqual({ item: i });
			});
		});

		it('fails the node on FAILURE with Whilter\'s message, naming the item', async () => {
			const { result, output } = await run(users(1), { ...FAST_WAIT, useCaseId: 'fail' });
			expect(output).toHaveLength(0);
			const id = [...whilter.realtime.values()].pop()!.id;
			expect(result.error?.message).toBe(`Item 0: Whilter could not make the media for whilter-request-id ${id}: ${FAILURE_MESSAGE}`);
			expect(result.error?.context?.itemIndex).toBe(0);
		});

		it('with continue-on-fail, a FAILURE becomes that item\'s output and the others go on', async () => {
			const items = [{ user: 'user-0', uc: 'uc-1' }, { user: 'user-1', uc: 'fail' }, { user: 'user-2', uc: 'uc-1' }];
			const { result, output, posts } = await run(items, { ...FAST_WAIT, useCaseId: '={{ $json.uc }}' }, { continueOnFail: true });
			expect(result.error).toBeUndefined();
			expect(posts).toHaveLength(3);
			expect(output.map((o) => o.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
			expect(output[0].json.status).toBe('SUCCESS');
			expect(output[2].json.status).toBe('SUCCESS');
			expect(output[1].json).toEqual({
				error: expect.stringMatching(/^Item 1: Whilter could not make the media for whilter-request-id wr-[\w-]+: Rendering failed/),
				details: { description: expect.stringMatching(/^Whilter answered FAILURE to GET \/status\/wr-/) },
			});
		});

		it('times out with an error naming the item, the whilter-request-id and the last status', async () => {
			const { result, statusGets } = await run(users(1), { ...FAST_WAIT, useCaseId: 'never', waitTimeout: 0.3 });
			const id = [...whilter.realtime.values()].pop()!.id;
			expect(result.error?.message).toBe(`Item 0: the media for whilter-request-id ${id} was not ready after 0.3 s (last status: PROCESSING, "Processing")`);
			expect(result.error?.description).toContain(`GET /status/${id}`);
			// Checks at 0, 10, 25, 45, 65, … 285 and 300 ms: seventeen, none after the timeout.
			expect(statusGets).toHaveLength(17);
			expect(clock.current.sleeps).toEqual([10, 15, ...Array<number>(13).fill(20), 15]);
			expect(clock.current.elapsed()).toBe(300);
		});

		it('with continue-on-fail, a timeout is that item\'s output', async () => {
			// Both items wait at once on the one virtual clock, so each sees the other's sleeps too: the
			// item that must not time out gets a timeout longer than all of the other item's sleeps.
			const items = [{ user: 'user-0', uc: 'never', timeout: 0.2 }, { user: 'user-1', uc: 'uc-1', timeout: 10 }];
			const { result, output } = await run(items, { ...FAST_WAIT, waitTimeout: '={{ $json.timeout }}', useCaseId: '={{ $json.uc }}' }, { continueOnFail: true });
			expect(result.error).toBeUndefined();
			expect(output[0].json.error).toMatch(/^Item 0: the media for whilter-request-id wr-[\w-]+ was not ready after 0.2 s \(last status: PROCESSING/);
			expect(output[1].json.status).toBe('SUCCESS');
		});
	});

	describe('concurrency', () => {
		it('keeps the output in input order and paired, with at most N requests at Whilter at once', async () => {
			// Whilter answers in an order the test chooses (test/harness/realtimeGate.ts), not by timers:
			// user-0's calls at once; the others are held, and whenever as many are held as the node may
			// have in flight (3, fewer at the end), the latest item's call is answered first. The earliest
			// items are then the last to finish.
			const gate = new RealtimeGate(whilter, (user) => user === 'user-0');
			whilter.resetRealtimeStats();
			const statusCalls = new Map<string, number>();
			const finished: string[] = ['user-0'];
			const index = (user: string) => Number(user.split('-')[1]);
			try {
				const running = run(users(12), { ...FAST_WAIT, options: { concurrency: 3 } });
				const { result, output, posts } = await gate.drive(running, () => {
					const inFlight = Math.min(3, 11 - (finished.length - 1));
					if (gate.held.length !== inFlight) return;
					const latest = gate.releaseWhere((held) => held.reduce((best, call, i) => (index(call.user) > index(held[best].user) ? i : best), 0));
					if (latest?.call !== 'status') return;
					const seen = (statusCalls.get(latest.user) ?? 0) + 1;
					statusCalls.set(latest.user, seen);
					// The server answers PROCESSING once, then SUCCESS: the item's second status call ends it.
					if (seen === 2) finished.push(latest.user);
				});
				expect(result.error).toBeUndefined();
				expect(posts).toHaveLength(12);
				expect(whilter.realtimeMaxInFlight).toBe(3);
				expect(finished).toEqual(['user-0', ...[3, 4, 5, 6, 7, 8, 9, 10, 11, 2, 1].map((i) => `user-${i}`)]);
				expect(output.map((o) => o.json['user-id'])).toEqual(users(12).map((u) => u.user));
				expect(output.map((o) => o.pairedItem)).toEqual(users(12).map((_, item) => ({ item })));
				expect(output.every((o) => o.json.status === 'SUCCESS')).toBe(true);
			} finally {
				gate.close();
			}
		});

		it('runs one at a time at concurrency 1', async () => {
			whilter.realtimeDelayMs = 5;
			whilter.resetRealtimeStats();
			const { result, posts } = await run(users(4), { ...FAST_WAIT, options: { concurrency: 1 } });
			expect(result.error).toBeUndefined();
			expect(whilter.realtimeMaxInFlight).toBe(1);
			expect(posts.map(userOf)).toEqual(['user-0', 'user-1', 'user-2', 'user-3']);
		});

		it('without continue-on-fail, stops at the first failing item and starts nothing after it', async () => {
			// Whilter answers in input order (test/harness/realtimeGate.ts): user-0 (which runs alone first)
			// at once, then, whenever three calls are held, the earliest item's. So items 1 and 2 end, 4 and
			// 5 start in their slots, and item 3 fails while 4 and 5 wait at Whilter; from then on every
			// call is answered, so the stopped items can end.
			const gate = new RealtimeGate(whilter, (user) => user === 'user-0');
			const statusCalls = new Map<string, number>();
			let failed = false;
			const index = (user: string) => Number(user.split('-')[1]);
			try {
				const items = users(20).map((u, i) => ({ ...u, uc: i === 3 ? 'fail' : 'uc-1' }));
				const running = run(items, { ...FAST_WAIT, useCaseId: '={{ $json.uc }}', options: { concurrency: 3 } });
				const { result, posts } = await gate.drive(running, () => {
					if (failed) {
						gate.releaseWhere((held) => (held.length ? 0 : undefined));
						return;
					}
					if (gate.held.length !== 3) return;
					const earliest = gate.releaseWhere((held) => held.reduce((best, call, i) => (index(call.user) < index(held[best].user) ? i : best), 0));
					if (earliest?.call !== 'status') return;
					const seen = (statusCalls.get(earliest.user) ?? 0) + 1;
					statusCalls.set(earliest.user, seen);
					// The second status call answers item 3's FAILURE.
					if (earliest.user === 'user-3' && seen === 2) failed = true;
				});
				expect(result.error?.message).toMatch(/^Item 3: Whilter could not make the media/);
				// Items 0-5 were started, 4 and 5 only because 1 and 2 had ended; nothing after the failure.
				expect(posts.map(userOf)).toEqual(users(6).map((u) => u.user));
			} finally {
				gate.close();
			}
		});

		it('fetches one token for a fresh credential, not one per concurrent request', async () => {
			const fresh = addCredential();
			const issued = whilter.tokensIssued;
			const { result, tokenPosts } = await run(users(6), { options: { concurrency: 5 } }, { credentials: { whilterApi: fresh } });
			expect(result.error).toBeUndefined();
			expect(tokenPosts).toHaveLength(1);
			expect(whilter.tokensIssued).toBe(issued + 1);
		});
	});

	describe('retries', () => {
		it('retries the status call on 429 and 503', async () => {
			whilter.faults.add({ method: 'GET', path: /^\/status\//, kind: 'status', status: 429, retryAfter: 0 });
			whilter.faults.add({ method: 'GET', path: /^\/status\//, kind: 'status', status: 503 });
			const { result, output, statusGets } = await run(users(1), FAST_WAIT);
			expect(result.error).toBeUndefined();
			expect(whilter.faults.pending()).toBe(0);
			expect(output[0].json.status).toBe('SUCCESS');
			expect(statusGets.map((g) => g.status)).toEqual([429, 503, 200, 200]);
		});

		it('never retries the creating POST: a 503 fails that item, one POST per item', async () => {
			whilter.faults.add({ method: 'POST', path: '/video/request', kind: 'status', status: 503 });
			const { result, output, posts } = await run(users(3), {}, { continueOnFail: true });
			expect(result.error).toBeUndefined();
			expect(posts.map(userOf)).toEqual(['user-0', 'user-1', 'user-2']);
			expect(posts.map((p) => p.status)).toEqual([503, 200, 200]);
			expect(output[0].json.error).toMatch(/Whilter answered HTTP 503 to POST \/video\/request/);
			expect(output[1].json['whilter-request-id']).toEqual(expect.any(String));
		});

		it('never re-sends a POST whose connection dropped after Whilter acted: one request made, the item fails', async () => {
			whilter.faults.add({ method: 'POST', path: '/video/request', kind: 'reset-after' });
			const before = whilter.realtime.size;
			const { result, posts } = await run(users(1));
			// The message keeps the vendor and the call (n8n would swap a message naming ECONNRESET for its generic text).
			expect(result.error?.message).toBe('Whilter could not be reached for POST /video/request (sent once, not retried): the connection was dropped');
			expect(result.error?.description).toContain(`client-request-id: ${String(bodyOf(posts[0])['client-request-id'])}`);
			expect(result.error?.context?.itemIndex).toBe(0);
			expect(posts).toHaveLength(1);
			expect(whilter.realtime.size).toBe(before + 1);
		});

		it('retries the token request on 429 and 503', async () => {
			const fresh = addCredential();
			whilter.faults.add({ method: 'POST', path: '/getToken/token', kind: 'status', status: 503 });
			whilter.faults.add({ method: 'POST', path: '/getToken/token', kind: 'status', status: 429, retryAfter: 0 });
			const { result, output, tokenPosts } = await run(users(2), {}, { credentials: { whilterApi: fresh } });
			expect(result.error).toBeUndefined();
			expect(tokenPosts.map((t) => t.status)).toEqual([503, 429, 200]);
			expect(output).toHaveLength(2);
		});

		it('refreshes an expired token once mid-run; every item is created exactly once', async () => {
			// Warm the stored token, then let it (and every later token) work for two more calls.
			await run(users(1));
			whilter.expireTokenAfterUses(2);
			const issued = whilter.tokensIssued;
			const { result, output, posts, tokenPosts } = await run(users(4), { options: { concurrency: 1 } });
			expect(result.error).toBeUndefined();
			expect(tokenPosts).toHaveLength(1);
			expect(whilter.tokensIssued).toBe(issued + 1);
			expect(posts.map((p) => [userOf(p), p.status])).toEqual([
				['user-0', 200],
				['user-1', 200],
				['user-2', 401],
				['user-2', 200],
				['user-3', 200],
			]);
			expect(output.map((o) => o.json['user-id'])).toEqual(['user-0', 'user-1', 'user-2', 'user-3']);
		});
	});

	describe('validation before any request', () => {
		const cases: Array<[string, IDataObject[], IDataObject, RegExp]> = [
			['a bad image URL in item 2', users(3).map((u, i) => ({ ...u, photo: i === 2 ? 'ftp://cdn.test/x.png' : 'https://cdn.test/x.png' })), { lists: { imageUrls: [{ url: '={{ $json.photo }}' }] } }, /^Item 2: "Image URLs" entry 1 must be an http\(s\) URL, got "ftp:\/\/cdn.test\/x.png"$/],
			['an empty user ID in item 1', [{ user: 'a' }, { user: '' }], {}, /^Item 1: "User ID" is empty$/],
			['a missing text in item 1', [{ user: 'a', name: 'A' }, { user: 'b' }], { lists: { phraseTexts: [{ text: '={{ $json.name }}' }] } }, /^Item 1: "Phrase Texts" entry 1 is empty$/],
			['a number in a JSON list', [{ user: 'a', n: 5 }], { listsInput: 'json', listsJson: '={{ { "video-texts": [$json.n] } }}' }, /^Item 0: "Texts and URLs \(JSON\)" key "video-texts" entry 1 must be a string, got number 5$/],
			['an unknown JSON key', [{ user: 'a' }], { listsInput: 'json', listsJson: '{"audio-urls": []}' }, /^Item 0: "Texts and URLs \(JSON\)" has unknown key\(s\) "audio-urls"$/],
			['two items with one client-request-id', [{ user: 'a' }, { user: 'b' }, { user: 'c' }], { clientRequestId: '={{ $json.user === "b" ? "x" : "same" }}' }, /^Items 0 and 2 have the same client request ID "same"$/],
			['a status path without the placeholder', [{ user: 'a' }], { ...FAST_WAIT, options: { realtimeStatusPath: '/status' } }, /^Item 0: "Real-Time Status Path" must hold \{whilterRequestId\}/],
			['a request path with a host', [{ user: 'a' }], { options: { requestPath: '//other.test/video/request' } }, /^Item 0: "Request Path" must be a path starting with "\/" \(no host\)/],
		];
		it.each(cases)('%s: a clear error, zero requests', async (_name, items, parameters, message) => {
			const { result, requests } = await run(items, parameters);
			expect(result.error?.message).toMatch(message);
			expect(requests).toHaveLength(0);
		});

		it('with continue-on-fail, the bad item is an error output and the others are sent', async () => {
			const items = [{ user: 'u-0' }, { user: '' }, { user: 'u-2' }];
			const { result, output, posts } = await run(items, {}, { continueOnFail: true });
			expect(result.error).toBeUndefined();
			expect(posts.map(userOf)).toEqual(['u-0', 'u-2']);
			expect(output[1]).toEqual({
				json: { error: 'Item 1: "User ID" is empty', details: { description: 'Map a value, e.g. an expression reading a field of the item' } },
				pairedItem: { item: 1 },
			});
			expect(output[2].json['user-id']).toBe('u-2');
		});

		it('never puts a secret in an error', async () => {
			whilter.faults.add({ method: 'POST', path: '/video/request', kind: 'status', status: 500 });
			const { result } = await run(users(1));
			const text = JSON.stringify({ message: result.error?.message, description: result.error?.description, context: result.error?.context });
			expect(text).toMatch(/HTTP 500/);
			expect(text).not.toContain(CLIENT_SECRET);
			expect(text).not.toContain(API_KEY);
			expect(text).not.toMatch(/wt-[0-9a-f-]{36}/);
		});
	});
});
