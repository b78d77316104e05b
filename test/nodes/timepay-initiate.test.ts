/**
 * TimePay Initiate through n8n-core: the workflow runs in n8n's WorkflowExecute, the Campaign list
 * and the Disposition dropdown run in n8n-core's own LoadOptionsContext (as n8n's
 * /rest/dynamic-node-parameters endpoints call them), all against the TimePay contract server.
 * Request bodies are asserted as the server received them.
 */
import type {
	INode,
	INodeExecutionData,
	INodeParameters,
	INodeType,
	INodeTypes,
	IVersionedNodeType,
	IWorkflowExecuteAdditionalData,
	ILoadOptionsFunctions,
	INodeListSearchResult,
	INodePropertyOptions,
} from 'n8n-workflow';
import { Workflow } from 'n8n-workflow';

import { CredentialStore, packageNodeTypes, runChain, shutdownN8nCore } from '../harness/run';
import type { NodeSpec, RunResult } from '../harness/run';
import { startTimePayServer } from '../servers/timepay';
import type { Campaign, Disposition, TimePayServer } from '../servers/timepay';

// Loaded after the harness, which points n8n-core's settings at a temp folder first.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { LoadOptionsContext } = require('n8n-core') as typeof import('n8n-core');

const TOKEN = 'tp-SECRET-token-7f3a9c';
/** camp-loans (demoCampaigns): LOANID-2043150 … -2043161; -2043155-FAIL and -2043161-FAIL cannot be messaged. */
const LOANS = Array.from({ length: 12 }, (_, i) => `LOANID-${2043150 + i}${i % 6 === 5 ? '-FAIL' : ''}`);

let timepay: TimePayServer;
let store: CredentialStore;
let credential: { id: string; name: string };

beforeAll(async () => {
	timepay = await startTimePayServer({ token: TOKEN });
	store = new CredentialStore();
	credential = store.add('timePayApi', { token: TOKEN, baseUrl: timepay.url });
});

afterAll(async () => {
	await timepay.close();
	await shutdownN8nCore();
});

afterEach(() => timepay.faults.clear());

const byId = (value: string) => ({ __rl: true, mode: 'id', value });

function initiateNode(parameters: INodeParameters, extra: Partial<NodeSpec> = {}): NodeSpec {
	return {
		name: 'TimePay',
		type: 'timePayInitiate',
		// Per item, and the whole campaign unless the test sets filters (test/nodes/timepay-safety.test.ts covers the defaults).
		parameters: {
			campaign: byId('camp-loans'),
			templateId: 'hfu7VL6sBhI6NPm',
			initiate: 'perItem',
			audience: parameters.filters ? 'matchingFilters' : 'wholeCampaign',
			...parameters,
		},
		credentials: { timePayApi: credential },
		...extra,
	};
}

/** Runs the node and returns the run with the requests the server received during it. */
async function run(parameters: INodeParameters, options: { items?: INodeExecutionData[]; extra?: Partial<NodeSpec>; cred?: { id: string; name: string } } = {}) {
	const from = timepay.requests.length;
	const initiationsBefore = timepay.initiations.length;
	const result = await runChain({
		items: options.items ?? [{ json: {} }],
		nodes: [initiateNode(parameters, { ...options.extra, ...(options.cred ? { credentials: { timePayApi: options.cred } } : {}) })],
		credentials: store,
	});
	const requests = timepay.requests.slice(from);
	return {
		result,
		out: result.output('TimePay'),
		requests,
		posts: requests.filter((r) => r.method === 'POST'),
		initiations: timepay.initiations.slice(initiationsBefore),
	};
}

function expectNoToken(result: RunResult, secret = TOKEN): void {
	expect(JSON.stringify(result.error ?? null)).not.toContain(secret);
	expect(String(result.error?.message ?? '')).not.toContain(secret);
	expect(String(result.error?.description ?? '')).not.toContain(secret);
	expect(JSON.stringify(result.output('TimePay'))).not.toContain(secret);
}

describe('TimePay Initiate: the request', () => {
	it('200: POST /api/v1/initiate/<campaign>/whatsapp with the bearer token and only the template ID', async () => {
		const { result, out, posts } = await run({ campaign: byId('camp-welcome') });
		expect(result.error).toBeUndefined();
		expect(posts).toHaveLength(1);
		expect(posts[0].path).toBe('/api/v1/initiate/camp-welcome/whatsapp');
		expect(posts[0].headers.authorization).toBe(`Bearer ${TOKEN}`);
		expect(posts[0].headers['content-type']).toMatch(/^application\/json/);
		expect(posts[0].body).toEqual({ templateId: 'hfu7VL6sBhI6NPm' });
		expect(out).toHaveLength(1);
		const answer = {
			success: true,
			message: 'WhatsApp messages initiated for 1 customers',
			results: { totalMatched: 1, customersSelected: 1, initiated: 1, failed: 0, batchesProcessed: 1, errors: [] },
		};
		// The package's own fields in kebab-case; TimePay's answer, unchanged, under `response`.
		expect(out[0].json).toEqual({
			success: true,
			'partial-success': false,
			message: answer.message,
			'status-code': 200,
			'campaign-id': 'camp-welcome',
			channel: 'whatsapp',
			'template-id': 'hfu7VL6sBhI6NPm',
			'initiations-sent': 1,
			response: answer,
		});
		expect(Object.keys(out[0].json)).toEqual(['success', 'partial-success', 'message', 'status-code', 'campaign-id', 'channel', 'template-id', 'initiations-sent', 'response']);
		expect(out[0].pairedItem).toEqual({ item: 0 });
		expectNoToken(result);
	});

	it('the campaign from the list mode, one request per input item, each paired with its item', async () => {
		const items = [{ json: { loan: LOANS[0] } }, { json: { loan: LOANS[1] } }, { json: { loan: LOANS[2] } }];
		const { result, out, posts, initiations } = await run(
			{ campaign: { __rl: true, mode: 'list', value: 'camp-loans', cachedResultName: 'Loan reminders' }, filters: { ids: '={{ $json.loan }}' } },
			{ items },
		);
		expect(result.error).toBeUndefined();
		expect(posts.map((p) => p.body)).toEqual(LOANS.slice(0, 3).map((id) => ({ templateId: 'hfu7VL6sBhI6NPm', filters: { ids: [id] } })));
		expect(initiations.map((i) => i.initiated)).toEqual([[LOANS[0]], [LOANS[1]], [LOANS[2]]]);
		expect(out.map((o) => o.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		expect(out.every((o) => o.json.success === true)).toBe(true);
	});

	it('filters: ids and exclude ids lists, payment status multi-select, language, custom JSON, limit', async () => {
		const { result, out, posts, initiations } = await run(
			{
				messageAll: false,
				limit: 3,
				filters: {
					ids: '={{ $json.ids }}',
					excludeIds: `${LOANS[0]},\n ${LOANS[6]} ,`,
					paymentStatus: ['bounced', 'pending', 'partial', 'paid', 'received'],
					language: 'en, hi',
					custom: '{"branch": "Chennai"}',
				},
			},
			{ items: [{ json: { ids: LOANS.slice(0, 9) } }] },
		);
		expect(result.error).toBeUndefined();
		expect(posts[0].body).toEqual({
			templateId: 'hfu7VL6sBhI6NPm',
			limit: 3,
			filters: {
				ids: LOANS.slice(0, 9),
				exclude_ids: [LOANS[0], LOANS[6]],
				payment_status: ['bounced', 'pending', 'partial', 'paid', 'received'],
				language: ['en', 'hi'],
				custom: { branch: 'Chennai' },
			},
		});
		// Chennai = even index; en/hi = index % 3 in {0, 1}; minus 0 and 6 → 4 (hi); index 2 is ta, 8 is ta.
		expect(initiations[0].initiated).toEqual([LOANS[4]]);
		expect(out[0].json).toMatchObject({ success: true, response: { results: { totalMatched: 1, initiated: 1 } } });
	});

	it('payment status alone', async () => {
		const { posts, initiations } = await run({ filters: { paymentStatus: ['bounced', 'pending'] } });
		expect(posts[0].body).toEqual({ templateId: 'hfu7VL6sBhI6NPm', filters: { payment_status: ['bounced', 'pending'] } });
		// bounced/pending: indexes 0,1,5,6,10,11; 5 and 11 are -FAIL → a partial success.
		expect(initiations[0]).toMatchObject({ initiated: [LOANS[0], LOANS[1], LOANS[6], LOANS[10]], failed: [LOANS[5], LOANS[11]] });
	});

	it('conversation settings with both IDs are sent as conversationSettings', async () => {
		const { result, posts } = await run({
			conversationSettings: { agentId: 'PPTnLQAvGlLtVgRbpcFn', dispositionId: 'XaYnpMfmTumXNSgOSIZB' },
			filters: { ids: LOANS[1] },
		});
		expect(result.error).toBeUndefined();
		expect(posts[0].body).toEqual({
			templateId: 'hfu7VL6sBhI6NPm',
			conversationSettings: { agentId: 'PPTnLQAvGlLtVgRbpcFn', dispositionId: 'XaYnpMfmTumXNSgOSIZB' },
			filters: { ids: [LOANS[1]] },
		});
	});

	it.each([
		['sms', '/api/v1/initiate/camp-welcome/sms', 'SMS messages initiated for 1 customers'],
		['calls', '/api/v1/initiate/camp-welcome/calls', 'Calls initiated for 1 customers'],
	])('Channel %s posts to %s', async (channel, path, message) => {
		const { result, out, posts, initiations } = await run({ campaign: byId('camp-welcome'), channel });
		expect(result.error).toBeUndefined();
		expect(posts.map((p) => p.path)).toEqual([path]);
		expect(posts[0].body).toEqual({ templateId: 'hfu7VL6sBhI6NPm' });
		expect(initiations[0].channel).toBe(channel);
		expect(out[0].json).toMatchObject({ success: true, channel, message });
	});
});

describe('TimePay Initiate: answers', () => {
	it('207 partial success: an item with success false, the counts and the errors, not an exception', async () => {
		const { result, out, posts } = await run({});
		expect(result.error).toBeUndefined();
		expect(posts).toHaveLength(1);
		expect(out).toHaveLength(1);
		const message = 'WhatsApp messages initiated for 10 customers, 2 failed';
		expect(out[0].json).toEqual({
			success: false,
			'partial-success': true,
			message,
			'status-code': 207,
			'campaign-id': 'camp-loans',
			channel: 'whatsapp',
			'template-id': 'hfu7VL6sBhI6NPm',
			'failed-customers': [
				{ 'customer-id': LOANS[5], reason: 'WhatsApp number is not reachable' },
				{ 'customer-id': LOANS[11], reason: 'WhatsApp number is not reachable' },
			],
			'initiations-sent': 1,
			response: {
				success: false,
				message,
				results: {
					totalMatched: 12,
					customersSelected: 12,
					initiated: 10,
					failed: 2,
					batchesProcessed: 1,
					errors: [
						{ customerId: LOANS[5], error: 'WhatsApp number is not reachable' },
						{ customerId: LOANS[11], error: 'WhatsApp number is not reachable' },
					],
				},
			},
		});
		expect(out[0].pairedItem).toEqual({ item: 0 });
	});

	it('207 with "Treat Partial Success as Error": a NodeApiError naming the failed customers, sent once', async () => {
		const { result, out, posts } = await run({ options: { treatPartialSuccessAsError: true } });
		expect(out).toEqual([]);
		expect(posts).toHaveLength(1);
		expect(result.error?.name).toBe('NodeApiError');
		expect(result.error?.httpCode).toBe('207');
		expect(result.error?.message).toMatch(/TimePay answered HTTP 207 \(partial success, 10 initiated, 2 failed\).*initiated for 10 customers, 2 failed/);
		expect(result.error?.description).toContain(`Failed customers: ${LOANS[5]}, ${LOANS[11]}`);
		expect(result.error?.description).toMatch(/not retried/);
		expectNoToken(result);
	});

	it('207 with the option on and continue on fail: an error item, paired', async () => {
		const { result, out } = await run({ options: { treatPartialSuccessAsError: true } }, { extra: { continueOnFail: true } });
		expect(result.error).toBeUndefined();
		expect(out).toHaveLength(1);
		expect(String(out[0].json.error)).toMatch(/HTTP 207/);
		expect(out[0].pairedItem).toEqual({ item: 0 });
	});

	it("400: a NodeApiError with TimePay's message and status", async () => {
		const { result, posts } = await run({ conversationSettings: { agentId: 'PPTnLQAvGlLtVgRbpcFn', dispositionId: 'no-such-disposition' } });
		expect(posts).toHaveLength(1);
		expect(result.error?.name).toBe('NodeApiError');
		expect(result.error?.httpCode).toBe('400');
		expect(result.error?.message).toBe('TimePay answered HTTP 400 to POST /api/v1/initiate/camp-loans/whatsapp (sent once, not retried): Unknown dispositionId no-such-disposition');
		expect(result.error?.description).toMatch(/TimePay refused it, so it did nothing/);
		expectNoToken(result);
	});

	it.each([
		['an unknown campaign', { campaign: byId('camp-nope') }, 'Campaign camp-nope not found'],
		['filters nobody matches', { filters: { ids: 'LOANID-0' } }, 'No customers found in campaign camp-loans for these filters'],
	])("404 for %s: a NodeApiError with TimePay's message and status", async (_name, parameters, message) => {
		const { result, posts } = await run(parameters);
		expect(posts).toHaveLength(1);
		expect(result.error?.name).toBe('NodeApiError');
		expect(result.error?.httpCode).toBe('404');
		expect(result.error?.message).toContain(`: ${message}`);
		expectNoToken(result);
	});

	it("500 (all failed): a NodeApiError with TimePay's message, saying it was not retried", async () => {
		const { result, posts, initiations } = await run({ campaign: byId('camp-failing') });
		expect(posts).toHaveLength(1);
		expect(initiations).toHaveLength(1);
		expect(result.error?.name).toBe('NodeApiError');
		expect(result.error?.httpCode).toBe('500');
		expect(result.error?.message).toBe('TimePay answered HTTP 500 to POST /api/v1/initiate/camp-failing/whatsapp (sent once, not retried): All 1 whatsapp messages failed');
		expect(result.error?.description).toMatch(/not retried, so that no customer is messaged twice\. TimePay may have acted on it before failing: check in TimePay before running the node again/);
		expectNoToken(result);
	});

	it.each([429, 503] as const)('%i on the initiate POST is an error after exactly one POST, never retried', async (status) => {
		timepay.faults.add({ method: 'POST', path: '/api/v1/initiate/camp-welcome/whatsapp', kind: 'status', status, retryAfter: 0, times: 3 });
		const { result, posts, initiations } = await run({ campaign: byId('camp-welcome') });
		expect(posts).toHaveLength(1);
		expect(posts[0].status).toBe(status);
		expect(initiations).toHaveLength(0);
		expect(result.error?.name).toBe('NodeApiError');
		expect(result.error?.httpCode).toBe(String(status));
		expect(result.error?.message).toBe(`TimePay answered HTTP ${status} to POST /api/v1/initiate/camp-welcome/whatsapp (sent once, not retried): injected fault: HTTP ${status}`);
		expect(result.error?.description).toMatch(/sent once and not retried.*run again later/);
		expectNoToken(result);
	});

	it('a connection dropped after TimePay acted: one POST, not retried, and the error says to check before rerunning', async () => {
		timepay.faults.add({ method: 'POST', path: '/api/v1/initiate/camp-welcome/whatsapp', kind: 'reset-after', times: 3 });
		const { result, posts, initiations } = await run({ campaign: byId('camp-welcome') });
		expect(posts).toHaveLength(1);
		expect(initiations).toHaveLength(1);
		expect(result.error?.message).toBe('TimePay could not be reached for POST /api/v1/initiate/camp-welcome/whatsapp (sent once, not retried): the connection was dropped');
		expect(result.error?.description).toMatch(/may have reached TimePay: check in TimePay before running the node again/);
		expectNoToken(result);
	});

	it('a rejected token: the 401 error holds neither token', async () => {
		const wrong = store.add('timePayApi', { token: 'tp-WRONG-secret-1234', baseUrl: timepay.url });
		const { result } = await run({}, { cred: wrong });
		expect(result.error?.httpCode).toBe('401');
		expect(result.error?.message).toContain('Unauthorized');
		expectNoToken(result, 'tp-WRONG-secret-1234');
		expectNoToken(result);
	});
});

describe('TimePay Initiate: checks before anything is sent', () => {
	it.each([
		['only an agent ID', { agentId: 'PPTnLQAvGlLtVgRbpcFn' }, /Item 0: Conversation Settings → "Agent ID" is set but "Disposition" is empty/],
		['only a disposition', { dispositionId: 'XaYnpMfmTumXNSgOSIZB' }, /Item 0: Conversation Settings → "Disposition" is set but "Agent ID" is empty/],
	])('conversation settings with %s: a NodeOperationError and no request at all', async (_name, conversationSettings, message) => {
		const { result, requests } = await run({ conversationSettings });
		expect(requests).toHaveLength(0);
		expect(result.error?.name).toBe('NodeOperationError');
		expect(result.error?.message).toMatch(message);
		expect(result.error?.description).toMatch(/both an agent ID and a disposition ID/);
	});

	it('a bad item anywhere stops the node before the first item is sent', async () => {
		const { result, requests } = await run(
			{ conversationSettings: { agentId: '={{ $json.agent }}', dispositionId: 'XaYnpMfmTumXNSgOSIZB' } },
			{ items: [{ json: { agent: 'A1' } }, { json: { agent: 'A2' } }, { json: { agent: '' } }] },
		);
		expect(requests).toHaveLength(0);
		expect(result.error?.message).toMatch(/^Item 2: Conversation Settings → "Disposition" is set but "Agent ID" is empty/);
	});

	it.each([
		['invalid JSON', '{"branch": Pune}', /Item 0: Filters → "Custom \(JSON\)" is not valid JSON/],
		['a JSON array', '["Pune"]', /Item 0: Filters → "Custom \(JSON\)" must be a JSON object, not an array/],
	])('Custom filter with %s: a NodeOperationError naming the item and field, no request', async (_name, custom, message) => {
		const { result, requests } = await run({ filters: { custom } });
		expect(requests).toHaveLength(0);
		expect(result.error?.name).toBe('NodeOperationError');
		expect(result.error?.message).toMatch(message);
	});

	it.each([
		// Left empty in the editor, n8n itself reports the required field; an expression can still be empty.
		['a template ID expression that is empty', { templateId: '={{ $json.nothing }}' }, /Item 0: "Template ID" is empty/],
		['a campaign expression that is blank', { campaign: byId('={{ " " }}') }, /Item 0: "Campaign" is empty/],
		['a fractional limit', { messageAll: false, limit: '={{ 2.5 }}' }, /Item 0: "Limit" is 2.5/],
	])('%s: a NodeOperationError, no request', async (_name, parameters, message) => {
		const { result, requests } = await run(parameters);
		expect(requests).toHaveLength(0);
		expect(result.error?.message).toMatch(message);
	});
});

describe('TimePay Initiate: continue on fail', () => {
	it('good and failing items keep their order and pairing; a bad item is never sent', async () => {
		const items = [
			{ json: { campaign: 'camp-welcome', custom: '{"branch": "Mumbai"}' } },
			{ json: { campaign: 'camp-nope', custom: '{"branch": "Mumbai"}' } },
			{ json: { campaign: 'camp-loans', custom: '{oops' } },
			{ json: { campaign: 'camp-loans', custom: '{"branch": "Pune"}' } },
			{ json: { campaign: 'camp-failing', custom: '{"branch": "Mumbai"}' } },
		];
		const { result, out, posts } = await run(
			{ campaign: byId('={{ $json.campaign }}'), filters: { custom: '={{ $json.custom }}' } },
			{ items, extra: { continueOnFail: true } },
		);
		expect(result.error).toBeUndefined();
		expect(posts.map((p) => p.path)).toEqual([
			'/api/v1/initiate/camp-welcome/whatsapp',
			'/api/v1/initiate/camp-nope/whatsapp',
			'/api/v1/initiate/camp-loans/whatsapp',
			'/api/v1/initiate/camp-failing/whatsapp',
		]);
		expect(posts[2].body).toEqual({ templateId: 'hfu7VL6sBhI6NPm', filters: { custom: { branch: 'Pune' } } });
		expect(out.map((o) => o.pairedItem)).toEqual([0, 1, 2, 3, 4].map((item) => ({ item })));
		expect(out[0].json).toMatchObject({ success: true, 'campaign-id': 'camp-welcome' });
		expect(String(out[1].json.error)).toMatch(/HTTP 404 .*Campaign camp-nope not found/);
		expect(String(out[2].json.error)).toMatch(/Item 2: Filters → "Custom \(JSON\)" is not valid JSON/);
		// Pune = odd indexes; 5 and 11 are -FAIL: a partial success stays an item.
		expect(out[3].json).toMatchObject({ success: false, 'partial-success': true, 'status-code': 207, response: { results: { initiated: 4, failed: 2 } } });
		expect(String(out[4].json.error)).toMatch(/HTTP 500/);
		expect(JSON.stringify(out)).not.toContain(TOKEN);
	});
});

// ---------------------------------------------------------------------------------------------
// Campaign list and Disposition dropdown, through n8n-core's LoadOptionsContext.

const nodeTypes: INodeTypes = {
	getByName: (name) => packageNodeTypes[name.replace(/^.*\./, '')] as INodeType | IVersionedNodeType,
	getByNameAndVersion: (name) => packageNodeTypes[name.replace(/^.*\./, '')] as INodeType,
	getKnownTypes: () => ({}),
};

/**
 * What n8n's DynamicNodeParametersService does for the editor: a temporary node with the current
 * parameters and credential, a Workflow around it, and n8n-core's LoadOptionsContext as `this`.
 */
function loadOptionsContext(path: string, cred = credential): ILoadOptionsFunctions {
	const parameters: INodeParameters = { campaign: { __rl: true, mode: 'list', value: '' }, templateId: '' };
	const node: INode = {
		id: 'temp',
		name: 'Temp-Node',
		type: 'n8n-nodes-whilter.timePayInitiate',
		typeVersion: 1,
		position: [0, 0],
		parameters,
		credentials: { timePayApi: cred },
	};
	const workflow = new Workflow({ nodes: [node], connections: {}, active: false, nodeTypes, staticData: {}, settings: {} });
	const additionalData = {
		credentialsHelper: store.helper,
		currentNodeParameters: parameters,
		restApiUrl: 'http://127.0.0.1/rest',
		instanceBaseUrl: 'http://127.0.0.1/',
		webhookBaseUrl: 'http://127.0.0.1/webhook',
		webhookWaitingBaseUrl: 'http://127.0.0.1/webhook-waiting',
		webhookTestBaseUrl: 'http://127.0.0.1/webhook-test',
		formWaitingBaseUrl: 'http://127.0.0.1/form-waiting',
		variables: {},
		userId: 'test-user',
	} as unknown as IWorkflowExecuteAdditionalData;
	return new LoadOptionsContext(workflow, node, additionalData, path);
}

const nodeMethods = (packageNodeTypes.timePayInitiate as INodeType).methods!;

async function searchCampaigns(filter?: string, paginationToken?: string): Promise<INodeListSearchResult> {
	return await nodeMethods.listSearch!.searchCampaigns.call(loadOptionsContext('campaign'), filter, paginationToken);
}

async function getDispositions(context = loadOptionsContext('conversationSettings.dispositionId')): Promise<INodePropertyOptions[]> {
	return await nodeMethods.loadOptions!.getDispositions.call(context);
}

/** Serves other campaigns or dispositions on the same token and URL as the shared credential. */
async function withServer<T>(options: { campaigns?: Campaign[]; dispositions?: Disposition[] }, work: (server: TimePayServer) => Promise<T>): Promise<T> {
	const server = await startTimePayServer({ token: TOKEN, ...options });
	const data = store.data(credential.id);
	const baseUrl = data.baseUrl;
	data.baseUrl = server.url;
	try {
		return await work(server);
	} finally {
		data.baseUrl = baseUrl;
		await server.close();
	}
}

describe('Campaign list (listSearch searchCampaigns)', () => {
	it("searches with TimePay's search parameter, bearer token, and shows name and status", async () => {
		const from = timepay.requests.length;
		const result = await searchCampaigns('loan');
		expect(result).toEqual({ results: [{ name: 'Loan reminders', value: 'camp-loans', description: 'active' }], paginationToken: undefined });
		const [request] = timepay.requests.slice(from);
		expect(request.method).toBe('GET');
		expect(request.path).toBe('/api/v1/campaigns');
		expect(Object.fromEntries(request.query)).toEqual({ page: '1', limit: '50', search: 'loan' });
		expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`);
	});

	it('without a search, every campaign', async () => {
		const result = await searchCampaigns();
		expect(result.results.map((r) => r.value)).toEqual(['camp-loans', 'camp-failing', 'camp-empty', 'camp-welcome']);
		expect(Object.fromEntries(timepay.requests.at(-1)!.query)).toEqual({ page: '1', limit: '50' });
	});

	it('pages: a pagination token while TimePay has more pages, none on the last', async () => {
		const campaigns: Campaign[] = Array.from({ length: 73 }, (_, i) => ({ id: `c-${i}`, name: `Campaign ${i}`, status: 'active', customers: [] }));
		await withServer({ campaigns }, async (server) => {
			const first = await searchCampaigns();
			expect(first.results).toHaveLength(50);
			expect(first.paginationToken).toBe('2');
			const second = await searchCampaigns(undefined, first.paginationToken);
			expect(second.paginationToken).toBeUndefined();
			expect([...first.results, ...second.results].map((r) => r.value)).toEqual(campaigns.map((c) => c.id));
			expect(server.requests.map((r) => r.query.get('page'))).toEqual(['1', '2']);
			const searched = await searchCampaigns('Campaign 7');
			expect(searched.results.map((r) => r.value)).toEqual(['c-7', 'c-70', 'c-71', 'c-72']);
		});
	});

	it('429 and 503 on GET campaigns are retried by the shared policy', async () => {
		timepay.faults.add({ method: 'GET', path: '/api/v1/campaigns', kind: 'status', status: 429, retryAfter: 0 });
		timepay.faults.add({ method: 'GET', path: '/api/v1/campaigns', kind: 'status', status: 503 });
		const from = timepay.requests.length;
		const result = await searchCampaigns('welcome');
		expect(result.results.map((r) => r.value)).toEqual(['camp-welcome']);
		expect(timepay.requests.slice(from).map((r) => [r.method, r.path, r.status])).toEqual([
			['GET', '/api/v1/campaigns', 429],
			['GET', '/api/v1/campaigns', 503],
			['GET', '/api/v1/campaigns', 200],
		]);
		expect(timepay.faults.pending()).toBe(0);
	});

	it('a rejected token: a NodeApiError with the 401 and without the token', async () => {
		const wrong = store.add('timePayApi', { token: 'tp-WRONG-list-5678', baseUrl: timepay.url });
		const error = await nodeMethods.listSearch!.searchCampaigns.call(loadOptionsContext('campaign', wrong)).then(
			() => undefined,
			(e: unknown) => e as Error & { httpCode?: string },
		);
		expect(error?.name).toBe('NodeApiError');
		expect(error?.httpCode).toBe('401');
		expect(error?.message).toMatch(/TimePay answered HTTP 401 to GET \/api\/v1\/campaigns: Unauthorized/);
		expect(JSON.stringify(error)).not.toContain('tp-WRONG-list-5678');
	});
});

describe('Disposition dropdown (loadOptions getDispositions)', () => {
	it('the dispositions as name and ID', async () => {
		const from = timepay.requests.length;
		expect(await getDispositions()).toEqual([
			{ name: 'Promise to pay', value: 'XaYnpMfmTumXNSgOSIZB' },
			{ name: 'Call back later', value: 'disp-callback' },
		]);
		expect(timepay.requests.slice(from).map((r) => `${r.method} ${r.path}?${r.query.toString()}`)).toEqual(['GET /api/v1/dispositions?page=1']);
	});

	it('every page of them, with descriptions', async () => {
		const dispositions: Disposition[] = Array.from({ length: 45 }, (_, i) => ({ id: `d-${i}`, name: `Disposition ${i}`, description: `When ${i}` }));
		await withServer({ dispositions }, async (server) => {
			const options = await getDispositions();
			expect(options).toEqual(dispositions.map((d) => ({ name: d.name, value: d.id, description: d.description })));
			expect(server.requests.map((r) => r.query.get('page'))).toEqual(['1', '2', '3']);
		});
	});

	it('429 and 503 on GET dispositions are retried', async () => {
		timepay.faults.add({ method: 'GET', path: '/api/v1/dispositions', kind: 'status', status: 503, retryAfter: 0 });
		timepay.faults.add({ method: 'GET', path: '/api/v1/dispositions', kind: 'status', status: 429, retryAfter: 0 });
		const from = timepay.requests.length;
		expect((await getDispositions()).map((o) => o.value)).toEqual(['XaYnpMfmTumXNSgOSIZB', 'disp-callback']);
		expect(timepay.requests.slice(from).map((r) => r.status)).toEqual([503, 429, 200]);
	});
});

// Parameter and type names are a public contract: a rename breaks saved workflows.
describe('TimePay Initiate: description', () => {
	it('is the public contract: type name, parameters, resource locator modes, methods', () => {
		const type = packageNodeTypes.timePayInitiate as INodeType;
		expect(type.description.name).toBe('timePayInitiate');
		expect(type.description.usableAsTool).toBe(true);
		expect(type.description.credentials).toEqual([{ name: 'timePayApi', required: true }]);
		const properties = Object.fromEntries(type.description.properties.map((p) => [p.name, p]));
		expect(Object.keys(properties)).toEqual([
			'realMessagesNotice',
			'campaign',
			'channel',
			'templateId',
			'initiate',
			'audience',
			'wholeCampaignNotice',
			'messageAll',
			'limit',
			'conversationSettings',
			'filters',
			'options',
		]);
		expect(properties.initiate.default).toBe('once');
		expect(properties.audience.default).toBe('matchingFilters');
		expect(properties.campaign.type).toBe('resourceLocator');
		expect(properties.campaign.modes?.map((m) => [m.name, m.typeOptions?.searchListMethod])).toEqual([
			['list', 'searchCampaigns'],
			['id', undefined],
		]);
		const filters = (properties.filters.options as Array<{ name: string }>).map((o) => o.name);
		expect(filters.sort()).toEqual(['custom', 'excludeIds', 'ids', 'language', 'paymentStatus']);
		const paymentStatus = (properties.filters.options as unknown as Array<{ name: string; options?: Array<{ value: string }> }>).find((o) => o.name === 'paymentStatus');
		expect(paymentStatus?.options?.map((o) => o.value)).toEqual(['bounced', 'pending', 'partial', 'paid', 'received']);
	});
});
