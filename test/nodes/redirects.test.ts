/**
 * A vendor (or its CDN, or anyone on a plain-http base URL) that answers a call with a redirect to
 * another host must not receive the credential there: n8n's HTTP client would follow the redirect
 * with the same Authorization, x-api-key and x-ins-auth-key headers. No call that carries a
 * credential follows a redirect; the error says where it pointed.
 */
import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { CredentialStore, probeNode, runChain, shutdownN8nCore } from '../harness/run';
import type { NodeSpec } from '../harness/run';
import { startServer } from '../servers/http';
import type { ContractServer } from '../servers/http';
import { timePayApiRequest } from '../../nodes/TimePay/transport';

const SECRETS = ['whilter-static-token-1234', 'whilter-client-secret-5678', 'whilter-api-key-9012', 'insider-key-3456', 'timepay-token-7890'];

/** The host a redirect points at: it records everything it is sent. */
let elsewhere: ContractServer;
/** The configured base URL: it answers every request with a redirect to `elsewhere`. */
let redirector: ContractServer;
let status = 302;
let store: CredentialStore;

beforeAll(async () => {
	elsewhere = await startServer(() => ({ status: 200, body: { access_token: 'stolen', 'task-id': 't', status: 'completed', id: 'm', url: 'https://x.test/m' } }));
	redirector = await startServer((request) => ({ status, headers: { location: `${elsewhere.url}${request.path}` }, body: { moved: true } }));
	store = new CredentialStore();
});

afterAll(async () => {
	await redirector?.close();
	await elsewhere?.close();
	await shutdownN8nCore();
});

beforeEach(() => {
	elsewhere.requests.length = 0;
	redirector.requests.length = 0;
});

async function runNode(node: NodeSpec) {
	return await runChain({ items: [{ json: {} }], nodes: [node], credentials: store });
}

/** Nothing reached the other host, so no secret did. */
function expectNothingElsewhere(): void {
	expect(elsewhere.requests).toEqual([]);
	for (const request of redirector.requests) expect(request.status).toBe(status);
}

describe.each([302, 307])('a %s redirect to another host', (code) => {
	beforeEach(() => {
		status = code;
	});

	it('Whilter Status (static token, API key): an error naming the redirect, nothing sent elsewhere', async () => {
		const credential = store.add('whilterApi', {
			baseUrl: redirector.url,
			client: 'acme',
			authentication: 'accessToken',
			accessToken: SECRETS[0],
			apiKey: SECRETS[2],
		});
		const result = await runNode({ name: 'Status', type: 'whilterStatus', parameters: { operation: 'get', taskId: 't-1' }, credentials: { whilterApi: credential } });
		expect(result.error?.message).toBe(`Whilter answered HTTP ${code} to GET /acme/task/status/t-1`);
		expect(result.error?.description).toContain(`Whilter redirected the call to ${elsewhere.url}/acme/task/status/t-1`);
		expectNothingElsewhere();
	});

	it("Whilter's token request (client secret in the body): refused, nothing sent elsewhere", async () => {
		const credential = store.add('whilterApi', {
			baseUrl: redirector.url,
			client: 'acme',
			authentication: 'clientCredentials',
			clientId: 'acme-client',
			clientSecret: SECRETS[1],
			tokenUrl: `${redirector.url}/getToken/token`,
		});
		const result = await runNode({ name: 'Status', type: 'whilterStatus', parameters: { operation: 'get', taskId: 't-1' }, credentials: { whilterApi: credential } });
		expect(result.error?.message).toContain(`Whilter did not issue a token for client ID "acme-client" (HTTP ${code}`);
		expect(JSON.stringify(result.error)).not.toContain(SECRETS[1]);
		expectNothingElsewhere();
	});

	it('Whilter Batch task POST: nothing sent elsewhere', async () => {
		const credential = store.add('whilterApi', { baseUrl: redirector.url, client: 'acme', authentication: 'accessToken', accessToken: SECRETS[0], s3Bucket: 'b', s3AccessKeyId: 'k', s3SecretAccessKey: 's' });
		const result = await runNode({
			name: 'Batch',
			type: 'whilterBatch',
			parameters: {
				identifierColumn: 'phone',
				templateId: 'T-1',
				campaignId: 'c-1',
				options: { alreadyUploaded: { file: { fileName: 'T-1_c-1.zip', filePath: 'in/T-1_c-1.zip', rowCount: 3 } } },
			},
			credentials: { whilterApi: credential },
		});
		expect(result.error?.message).toMatch(new RegExp(`^Whilter answered HTTP ${code} to POST /acme/task \\(sent once, not retried\\)`));
		expectNothingElsewhere();
	});

	it('Insider (Get URL, x-ins-auth-key): nothing sent elsewhere', async () => {
		const credential = store.add('insiderApi', { authKey: SECRETS[3], baseUrl: redirector.url });
		const result = await runNode({ name: 'Insider', type: 'insiderWhatsAppMedia', parameters: { operation: 'getUrl', mediaId: 'm-1' }, credentials: { insiderApi: credential } });
		expect(result.error?.message).toBe(`Insider answered HTTP ${code} to GET /v1/media/m-1`);
		expectNothingElsewhere();
	});

	it('TimePay (bearer token), an initiation and a campaign list: nothing sent elsewhere', async () => {
		const credential = store.add('timePayApi', { token: SECRETS[4], baseUrl: redirector.url });
		const initiate = await runNode({
			name: 'TimePay',
			type: 'timePayInitiate',
			parameters: { campaign: { __rl: true, mode: 'id', value: 'camp-1' }, templateId: 'tpl-1', audience: 'wholeCampaign' },
			credentials: { timePayApi: credential },
		});
		expect(initiate.error?.message).toMatch(new RegExp(`^TimePay answered HTTP ${code} to POST /api/v1/initiate/camp-1/whatsapp`));
		const list = async (context: IExecuteFunctions): Promise<INodeExecutionData[]> => [{ json: (await timePayApiRequest.call(context, { method: 'GET', path: '/api/v1/campaigns' })).body }];
		const campaigns = await runNode(probeNode('Campaigns', list, { timePayApi: credential }));
		expect(campaigns.error?.message).toBe(`TimePay answered HTTP ${code} to GET /api/v1/campaigns`);
		expectNothingElsewhere();
	});
});
