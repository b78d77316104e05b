/**
 * A Whilter session token fetched during the execution (the credential's preAuthentication, when
 * there is none yet or Whilter answered 401 to the stored one) never shows in an error, even when
 * Whilter's error text repeats it. The token the transport knew before the call is the old one (or
 * none): the new one must be redacted too.
 *
 * The Whilter contract server runs as it is (token endpoint, token store, routes), with one route
 * added in front: a status call for the task "echo" is refused with a message that quotes the bearer
 * token it came with, as a careless API's error might.
 */
import { startServer, bearer, json } from '../servers/http';
import type { ContractServer } from '../servers/http';
import { route } from '../servers/whilter/routes';
import { createContext } from '../servers/whilter/state';
import type { WhilterContext } from '../servers/whilter/state';
import { CredentialStore, runChain, shutdownN8nCore } from '../harness/run';
import type { RunResult } from '../harness/run';
import { WHILTER_CLIENT } from '../harness/whilter';

let ctx: WhilterContext;
let server: ContractServer;
/** Every token the echo route quoted back. */
const echoed: string[] = [];

beforeAll(async () => {
	// The S3 drop is never reached by these calls; the context only needs its settings.
	ctx = createContext({
		...WHILTER_CLIENT,
		s3: { endpoint: 'http://127.0.0.1:9', bucket: 'unused', region: 'us-east-1', accessKeyId: 'unused', secretAccessKey: 'unused' },
	});
	server = await startServer(async (request) => {
		if (request.method === 'GET' && request.path === `/${WHILTER_CLIENT.client}/task/status/echo`) {
			const token = bearer(request);
			if (!ctx.tokens.use(token)) return json(401, { message: 'Token expired or invalid' });
			echoed.push(String(token));
			return json(400, { message: `No task "echo" for the session of token ${String(token)}` });
		}
		return await route(ctx, request);
	});
});

afterAll(async () => {
	ctx.s3.destroy();
	await server.close();
	await shutdownN8nCore();
});

beforeEach(() => {
	echoed.splice(0);
});

async function statusOfEcho(sessionToken?: string): Promise<{ result: RunResult; stored: string }> {
	const store = new CredentialStore();
	const credential = store.add('whilterApi', {
		baseUrl: server.url,
		client: WHILTER_CLIENT.client,
		authentication: 'clientCredentials',
		clientId: WHILTER_CLIENT.clientId,
		clientSecret: WHILTER_CLIENT.clientSecret,
		tokenUrl: `${server.url}/getToken/token`,
		...(sessionToken ? { sessionToken } : {}),
	});
	const result = await runChain({
		items: [{ json: {} }],
		nodes: [{ name: 'Status', type: 'whilterStatus', parameters: { operation: 'get', taskId: 'echo' }, credentials: { whilterApi: credential } }],
		credentials: store,
	});
	return { result, stored: String(store.data(credential.id).sessionToken) };
}

function expectRedacted(result: RunResult, token: string): void {
	expect(result.error?.message).toBe('Whilter answered HTTP 400 to GET /acme/task/status/echo: No task "echo" for the session of token ***');
	expect(result.error?.description).toBe('No task "echo" for the session of token ***');
	expect(JSON.stringify(result.error)).not.toContain(token);
	expect(JSON.stringify(result.error?.context ?? {})).not.toContain(token);
	expect(JSON.stringify(result.run.data.resultData)).not.toContain(token);
}

describe('a token fetched during the execution is redacted from errors', () => {
	it('the stored token has expired: Whilter answers 401, n8n fetches a new token, and the refused call quotes it', async () => {
		const old = ctx.tokens.issue();
		ctx.tokens.expireAll();
		const { result, stored } = await statusOfEcho(old);
		expect(echoed).toHaveLength(1);
		const fresh = echoed[0];
		expect(fresh).not.toBe(old);
		// The token the refused call quoted is the one preAuthentication stored in this execution.
		expect(stored).toBe(fresh);
		expectRedacted(result, fresh);
	});

	it('there is no token yet: preAuthentication fetches one before the first call, and the refused call quotes it', async () => {
		const { result, stored } = await statusOfEcho();
		expect(echoed).toHaveLength(1);
		expect(stored).toBe(echoed[0]);
		expectRedacted(result, echoed[0]);
	});
});
