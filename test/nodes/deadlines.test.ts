/**
 * Every call to a vendor has a deadline: a server that takes the request and never answers (or
 * starts an answer and stops) fails the item with an error naming the vendor, the call and the
 * deadline, instead of holding the execution for n8n's 300 s socket idle timeout per attempt. A
 * call that creates something is still sent once, and the error says the vendor may have acted; a
 * call that reads is tried again, per the retry policy, as after any network failure.
 *
 * The deadlines here are 1 s, set as a user would (the node's or the credential's option). The
 * assertions are about the error and the requests the server saw, never about how long it took; the
 * retry policy's waits run on the virtual clock (test/harness/clock.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IDataObject } from 'n8n-workflow';
import { sleep } from 'n8n-workflow';

import { DEFAULT_RETRY_POLICY } from '../../nodes/shared/retry';
import { useVirtualClock } from '../harness/clock';
import { CredentialStore, runChain, shutdownN8nCore } from '../harness/run';
import type { NodeSpec, RunResult } from '../harness/run';
import { WHILTER_CLIENT } from '../harness/whilter';
import { startSilentServer } from '../servers/silent';
import type { SilentServer } from '../servers/silent';

jest.mock('n8n-workflow', () => {
	const actual = jest.requireActual<typeof import('n8n-workflow')>('n8n-workflow');
	return { ...actual, sleep: jest.fn(actual.sleep) };
});
useVirtualClock(jest.mocked(sleep));

/** Long enough for five attempts of 1 s on a slow, shared machine; the old code never ended at all. */
const ENDS_WITHIN_MS = 60_000;
const ATTEMPTS = DEFAULT_RETRY_POLICY.maxAttempts;
const SECRET = 'whilter-client-secret-0123';
const INSIDER_KEY = 'insider-key-0123456789';
const TIMEPAY_TOKEN = 'timepay-token-0123456789';

let silent: SilentServer;
let stalling: SilentServer;
let workDir: string;
const store = new CredentialStore();

beforeAll(async () => {
	silent = await startSilentServer();
	stalling = await startSilentServer({ mode: 'stall', contentType: 'video/mp4' });
	workDir = mkdtempSync(join(tmpdir(), 'deadlines-test-'));
});

afterAll(async () => {
	await silent?.close();
	await stalling?.close();
	rmSync(workDir, { recursive: true, force: true });
	await shutdownN8nCore();
});

beforeEach(() => {
	silent.requests.splice(0);
	stalling.requests.splice(0);
});

function whilterCredential(fields: IDataObject): { whilterApi: { id: string; name: string } } {
	return {
		whilterApi: store.add('whilterApi', {
			baseUrl: silent.url,
			client: WHILTER_CLIENT.client,
			authentication: 'accessToken',
			accessToken: 'static-whilter-token-0123',
			...fields,
		}),
	};
}

async function runNode(node: NodeSpec, files?: Parameters<typeof runChain>[0]['files']): Promise<RunResult> {
	return await runChain({ items: [{ json: {} }], files, nodes: [node], credentials: store });
}

/** Resolves once `condition` holds; the test's own timeout bounds the wait. */
async function until(condition: () => boolean): Promise<void> {
	while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

function expectNoSecret(result: RunResult, ...secrets: string[]): void {
	const shown = JSON.stringify({ message: result.error?.message, description: result.error?.description, error: result.error ?? null });
	for (const secret of secrets) expect(shown).not.toContain(secret);
}

describe('Whilter', () => {
	it(
		'Whilter Status (Get): a status call that gets no answer fails after the credential\'s Request Timeout, retried like any network failure',
		async () => {
			const result = await runNode({
				name: 'Status',
				type: 'whilterStatus',
				parameters: { operation: 'get', taskId: 'task-1' },
				credentials: whilterCredential({ requestTimeout: 1 }),
			});
			expect(result.error?.message).toBe('Whilter did not answer GET /acme/task/status/task-1 within 1 s');
			expect(silent.requests.map((r) => `${r.method} ${r.path}`)).toEqual(Array(ATTEMPTS).fill('GET /acme/task/status/task-1'));
			expectNoSecret(result, 'static-whilter-token-0123');
		},
		ENDS_WITHIN_MS,
	);

	it(
		"the token request that gets no answer fails after the credential's Token Request Timeout, naming the token call",
		async () => {
			const result = await runNode({
				name: 'Status',
				type: 'whilterStatus',
				parameters: { operation: 'get', taskId: 'task-1' },
				credentials: whilterCredential({
					authentication: 'clientCredentials',
					clientId: WHILTER_CLIENT.clientId,
					clientSecret: SECRET,
					tokenUrl: `${silent.url}/getToken/token`,
					tokenUrlTimeout: 1,
				}),
			});
			expect(result.error?.message).toBe(
				`n8n got no Whilter token for GET /acme/task/status/task-1: Whilter did not answer POST /getToken/token within 1 s, so there is no token for client ID "${WHILTER_CLIENT.clientId}". Check the token URL, or raise "Token Request Timeout (Seconds)" in the credential.`,
			);
			// The token request creates nothing: it is retried like a GET, and the API call is never sent.
			expect(silent.requests.map((r) => `${r.method} ${r.path}`)).toEqual(Array(ATTEMPTS).fill('POST /getToken/token'));
			expectNoSecret(result, SECRET);
		},
		ENDS_WITHIN_MS,
	);

	it(
		"Whilter Realtime: the create call is sent once, and after the node's Request Timeout the error says Whilter may have acted",
		async () => {
			const result = await runNode({
				name: 'Realtime',
				type: 'whilterRealtime',
				parameters: {
					useCaseId: 'use-case-1',
					userId: 'user-1',
					customerId: 'customer-1',
					clientRequestId: 'order-1',
					lists: { phraseTexts: [{ text: 'Hello' }] },
					waitForMedia: false,
					options: { requestTimeout: 1 },
				},
				credentials: whilterCredential({}),
			});
			expect(result.error?.message).toBe('Whilter did not answer POST /video/request within 1 s (sent once, not retried)');
			expect(result.error?.description).toContain('may still have acted on it: check in Whilter before running the node again');
			expect(result.error?.description).toContain('client-request-id: order-1');
			expect(silent.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /video/request']);
		},
		ENDS_WITHIN_MS,
	);
});

describe('Insider', () => {
	function insiderCredential(baseUrl: string) {
		return { insiderApi: store.add('insiderApi', { authKey: INSIDER_KEY, baseUrl }) };
	}

	it(
		"Upload: the whole file is sent once, and after the node's Request Timeout the error says Insider may have acted",
		async () => {
			const path = join(workDir, 'photo.jpg');
			const bytes = Buffer.alloc(64 * 1024, 7);
			writeFileSync(path, bytes);
			const result = await runNode(
				{
					name: 'Insider',
					type: 'insiderWhatsAppMedia',
					parameters: { operation: 'upload', binaryPropertyName: 'data', options: { requestTimeout: 1 } },
					credentials: insiderCredential(silent.url),
				},
				[{ property: 'data', path, fileName: 'photo.jpg', mimeType: 'image/jpeg' }],
			);
			expect(result.error?.message).toBe('Insider did not answer POST /v1/media/upload within 1 s (sent once, not retried)');
			expect(result.error?.description).toContain('may still have acted on it: check in Insider before running the node again');
			expect(silent.requests).toHaveLength(1);
			expect(silent.requests[0].bodyBytes).toBeGreaterThan(bytes.length);
			expectNoSecret(result, INSIDER_KEY);
		},
		ENDS_WITHIN_MS,
	);

	it(
		"Download: a host that never answers fails each attempt after the node's Request Timeout",
		async () => {
			const result = await runNode({
				name: 'Insider',
				type: 'insiderWhatsAppMedia',
				parameters: { operation: 'download', media: `${silent.url}/media-files/17`, options: { requestTimeout: 1 } },
				credentials: insiderCredential(silent.url),
			});
			expect(result.error?.message).toBe(`Insider did not answer GET ${silent.url}/media-files/17 within 1 s`);
			expect(silent.requests.map((r) => `${r.method} ${r.path}`)).toEqual(Array(ATTEMPTS).fill('GET /media-files/17'));
			expectNoSecret(result, INSIDER_KEY);
		},
		ENDS_WITHIN_MS,
	);

	it(
		'Download: a host that sends the headers and then stops sending the file fails once no byte came for the Request Timeout',
		async () => {
			const result = await runNode({
				name: 'Insider',
				type: 'insiderWhatsAppMedia',
				parameters: { operation: 'download', media: `${stalling.url}/media-files/18`, options: { requestTimeout: 1 } },
				credentials: insiderCredential(stalling.url),
			});
			expect(result.error?.message).toBe(`Insider stopped sending GET ${stalling.url}/media-files/18: no data for 1 s`);
			expect(stalling.requests.map((r) => `${r.method} ${r.path}`)).toEqual(Array(ATTEMPTS).fill('GET /media-files/18'));
			expectNoSecret(result, INSIDER_KEY);
		},
		ENDS_WITHIN_MS,
	);

	it(
		'Download: a media host other than Insider that stops sending fails the same way, and the connection is closed',
		async () => {
			// A host of its own: the stalls of the test before, sent with the key, keep their sockets (see streamedGet.ts).
			const media = await startSilentServer({ mode: 'stall', contentType: 'video/mp4' });
			try {
				const result = await runNode({
					name: 'Insider',
					type: 'insiderWhatsAppMedia',
					parameters: { operation: 'download', media: `${media.url}/file.mp4`, options: { requestTimeout: 1 } },
					credentials: insiderCredential(silent.url),
				});
				const host = new URL(media.url).host;
				expect(result.error?.message).toBe(`The media host ${host} stopped sending GET ${media.url}/file.mp4: no data for 1 s`);
				expect(media.requests).toHaveLength(ATTEMPTS);
				expect(media.requests.every((r) => r.headers['x-ins-auth-key'] === undefined)).toBe(true);
				// Without the credential the request carries the package's own signal: giving up ends it, the socket with it.
				await until(() => media.openConnections() === 0);
			} finally {
				await media.close();
			}
		},
		ENDS_WITHIN_MS,
	);
});

describe('TimePay', () => {
	it(
		"Initiate: sent once, and after the node's Request Timeout the error says TimePay may have messaged customers",
		async () => {
			const result = await runNode({
				name: 'TimePay',
				type: 'timePayInitiate',
				parameters: {
					campaign: { __rl: true, mode: 'id', value: 'camp-1' },
					templateId: 'template-1',
					audience: 'wholeCampaign',
					options: { requestTimeout: 1 },
				},
				credentials: { timePayApi: store.add('timePayApi', { token: TIMEPAY_TOKEN, baseUrl: silent.url }) },
			});
			expect(result.error?.message).toBe('TimePay did not answer POST /api/v1/initiate/camp-1/whatsapp within 1 s (sent once, not retried)');
			expect(result.error?.description).toContain('may still have acted on it: check in TimePay before running the node again');
			expect(silent.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /api/v1/initiate/camp-1/whatsapp']);
			expectNoSecret(result, TIMEPAY_TOKEN);
		},
		ENDS_WITHIN_MS,
	);
});
