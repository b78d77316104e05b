/**
 * The whilterApi credential inside a real n8n (the pinned version), where n8n's own
 * CredentialsHelper runs `preAuthentication` and the refresh on 401 — not the test harness's copy.
 * Against the Whilter contract server (test/servers) and a real S3-compatible server:
 * - three items share one token; a later run reuses the token n8n stored in the credential;
 * - after the server expires its tokens, the run gets one 401, n8n fetches exactly one new token
 *   and the run succeeds with the right data (through the REST API and through `n8n execute`);
 * - a wrong client secret fails the run with a clear message that does not hold the secret;
 * - the editor's "Test" button (`POST /rest/credentials/test`) for good and bad secrets.
 * Workflows run as the editor's "Execute workflow" does: `POST /rest/workflows/<id>/run`.
 */
import { randomUUID } from 'node:crypto';

import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { IDataObject, INode } from 'n8n-workflow';
import { ZipFile } from 'yazl';

import { httpCall, startN8n } from '../../e2e/n8n';
import type { Execution, N8nHandle, StoredCredential, WorkflowJson } from '../../e2e/n8n';
import { DIST_DIR, ensurePackageBuilt } from '../../e2e/package';
import { startS3Server } from '../servers/s3';
import type { S3Server } from '../servers/s3';
import { startWhilterServer } from '../servers/whilter';
import type { WhilterServer } from '../servers/whilter';

jest.setTimeout(120_000);

const CLIENT = 'acme';
const CLIENT_ID = 'e2e-client';
const CLIENT_SECRET = `good-secret-${randomUUID()}`;
const WRONG_SECRET = `wrong-secret-${randomUUID()}`;
const BUCKET = 'whilter-drop';
const STATUS_PATH = `/${CLIENT}/task/status/`;

let s3: S3Server;
let whilter: WhilterServer;
let n8n: N8nHandle;
let good: StoredCredential;
let wrong: StoredCredential;
let taskIds: string[];
let workflowId: string;
let wrongWorkflowId: string;

function credentialData(secret: string): IDataObject {
	return {
		baseUrl: whilter.url,
		client: CLIENT,
		authentication: 'clientCredentials',
		clientId: CLIENT_ID,
		clientSecret: secret,
		tokenUrl: `${whilter.url}/getToken/token`,
		s3Bucket: BUCKET,
		s3Prefix: 'incoming',
		s3Region: s3.region,
		s3AccessKeyId: s3.accessKeyId,
		s3SecretAccessKey: s3.secretAccessKey,
		s3Endpoint: s3.endpoint,
		s3ForcePathStyle: true,
	};
}

/** A task created as a customer would: the ZIP uploaded to the drop, then POST /<client>/task with our own token. */
async function createTask(campaign: string, rows: number): Promise<string> {
	const fileName = `T1_${campaign}.zip`;
	const key = `incoming/${fileName}`;
	const csv = ['phone,name', ...Array.from({ length: rows }, (_, i) => `+91900000000${i},Customer ${i}`)].join('\r\n');
	const zip = new ZipFile();
	zip.addBuffer(Buffer.from(`${csv}\r\n`), fileName.replace(/\.zip$/, '.csv'));
	zip.end();
	const chunks: Buffer[] = [];
	for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
	await s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.concat(chunks) }));

	const tokenRes = await httpCall('POST', `${whilter.url}/getToken/token`, {
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET }),
	});
	const token = (JSON.parse(tokenRes.text) as { access_token: string }).access_token;
	const created = await httpCall('POST', `${whilter.url}/${CLIENT}/task`, {
		headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
		body: JSON.stringify({
			'client-id': CLIENT_ID,
			'campaign-id': campaign,
			'template-id': 'T1',
			'file-name': fileName,
			'file-path': key,
			'row-count': rows,
			'expected-output-duration': 0,
		}),
	});
	expect(created.status).toBe(200);
	return (JSON.parse(created.text) as { 'task-id': string })['task-id'];
}

/** Manual Trigger → Code (the items) → one of the package's nodes with the given credential. */
function chainWorkflow(
	name: string,
	code: { name: string; jsCode: string },
	node: { name: string; type: string; parameters: INode['parameters'] },
	credential: StoredCredential,
): WorkflowJson {
	const nodes: INode[] = [
		{ id: randomUUID(), name: 'Manual Trigger', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
		{ id: randomUUID(), name: code.name, type: 'n8n-nodes-base.code', typeVersion: 2, position: [220, 0], parameters: { jsCode: code.jsCode } },
		{
			id: randomUUID(),
			name: node.name,
			type: `CUSTOM.${node.type}`,
			typeVersion: 1,
			position: [440, 0],
			parameters: node.parameters,
			credentials: { whilterApi: { id: credential.id, name: credential.name } },
		},
	];
	return {
		name,
		nodes,
		connections: {
			'Manual Trigger': { main: [[{ node: code.name, type: 'main', index: 0 }]] },
			[code.name]: { main: [[{ node: node.name, type: 'main', index: 0 }]] },
		},
		settings: { executionOrder: 'v1' },
	};
}

/** Manual Trigger → Code (one item per task id) → Whilter Status (get). */
function statusWorkflow(name: string, credential: StoredCredential, ids: string[]): WorkflowJson {
	return chainWorkflow(
		name,
		{ name: 'Three Tasks', jsCode: `return ${JSON.stringify(ids)}.map((taskId) => ({ json: { taskId } }));` },
		{ name: 'Whilter Status', type: 'whilterStatus', parameters: { operation: 'get', taskId: '={{ $json.taskId }}' } },
		credential,
	);
}

function statusOutput(execution: Execution | { data?: Execution['data'] }): IDataObject[] {
	const runs = execution.data?.resultData.runData['Whilter Status'] ?? [];
	return (runs[0]?.data?.main?.[0] ?? []).map((item) => item.json);
}

function expectStatusData(output: IDataObject[]): void {
	expect(output.map((item) => item['task-id'])).toEqual(taskIds);
	expect(output.map((item) => item.status)).toEqual(['pending', 'in-progress', 'completed']);
	const done = whilter.tasks.get(taskIds[2]);
	expect(output[2]).toMatchObject({ count: 3, 'file-path': done?.outputKey });
	expect(String(done?.outputKey)).toMatch(/output\/.+\.csv$/);
	expect(output[0]).toMatchObject({ count: 1, 'file-path': 'incoming/T1_first.zip' });
}

/** What the contract server saw after index `from`: token requests and status calls by answer. */
function seenSince(from: number): { tokens: number; ok: number; unauthorised: number; bearers: Set<string> } {
	const seen = whilter.requests.slice(from);
	const status = seen.filter((r) => r.method === 'GET' && r.path.startsWith(STATUS_PATH));
	return {
		tokens: seen.filter((r) => r.path === '/getToken/token').length,
		ok: status.filter((r) => r.status === 200).length,
		unauthorised: status.filter((r) => r.status === 401).length,
		bearers: new Set(status.filter((r) => r.status === 200).map((r) => String(r.headers.authorization))),
	};
}

beforeAll(async () => {
	await ensurePackageBuilt();
	s3 = await startS3Server({ buckets: [BUCKET] });
	whilter = await startWhilterServer({
		client: CLIENT,
		clientId: CLIENT_ID,
		clientSecret: CLIENT_SECRET,
		s3: { endpoint: s3.endpoint, bucket: BUCKET, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
	});
	// Three tasks in the three states: pending, in-progress, completed (output CSV written to S3).
	taskIds = [await createTask('first', 1), await createTask('second', 2), await createTask('third', 3)];
	await whilter.advance(taskIds[1]);
	await whilter.advance(taskIds[2]);
	await whilter.advance(taskIds[2]);

	n8n = await startN8n({ extensionsDir: DIST_DIR });
	process.stderr.write(`[n8n-e2e] n8n ready in ${n8n.startupMs} ms at ${n8n.url}\n`);
	good = await n8n.createCredential('Whilter (e2e)', 'whilterApi', credentialData(CLIENT_SECRET));
	wrong = await n8n.createCredential('Whilter (wrong secret)', 'whilterApi', credentialData(WRONG_SECRET));
	workflowId = (await n8n.importWorkflow(statusWorkflow('Whilter status of three tasks', good, taskIds))).id;
	wrongWorkflowId = (await n8n.importWorkflow(statusWorkflow('Whilter status, wrong secret', wrong, taskIds))).id;
}, 600_000);

afterAll(async () => {
	await n8n?.stop();
	await whilter?.close();
	await s3?.close();
});

test('three items: n8n fetches one token (preAuthentication) and uses it for every item', async () => {
	const tokensBefore = whilter.tokensIssued;
	const from = whilter.requests.length;
	const started = Date.now();
	const execution = await n8n.runManually(workflowId);
	process.stderr.write(`[n8n-e2e] manual run: ${Date.now() - started} ms\n`);
	expect(execution.data?.resultData.error?.message).toBeUndefined();
	expect(execution).toMatchObject({ status: 'success', mode: 'manual', finished: true });
	expectStatusData(statusOutput(execution));
	expect(whilter.tokensIssued - tokensBefore).toBe(1);
	const seen = seenSince(from);
	expect(seen).toMatchObject({ tokens: 1, ok: 3, unauthorised: 0 });
	expect(seen.bearers.size).toBe(1);
});

test('the next run reuses the token n8n stored in the credential', async () => {
	const tokensBefore = whilter.tokensIssued;
	const from = whilter.requests.length;
	const execution = await n8n.runManually(workflowId);
	expect(execution.status).toBe('success');
	expectStatusData(statusOutput(execution));
	expect(whilter.tokensIssued).toBe(tokensBefore);
	expect(seenSince(from)).toMatchObject({ tokens: 0, ok: 3, unauthorised: 0 });
});

test('an expired token: one 401, exactly one new token, and the run succeeds', async () => {
	whilter.expireTokens();
	const tokensBefore = whilter.tokensIssued;
	const from = whilter.requests.length;
	const execution = await n8n.runManually(workflowId);
	expect(execution.data?.resultData.error?.message).toBeUndefined();
	expect(execution.status).toBe('success');
	expectStatusData(statusOutput(execution));
	expect(whilter.tokensIssued - tokensBefore).toBe(1);
	const seen = seenSince(from);
	expect(seen).toMatchObject({ tokens: 1, ok: 3, unauthorised: 1 });
	expect(seen.bearers.size).toBe(1);
});

test('a token Whilter ends early with 403 (not 401): n8n fetches exactly one new token, repeats the call, and the run succeeds', async () => {
	whilter.expiredTokenStatus = 403;
	try {
		whilter.expireTokens();
		const tokensBefore = whilter.tokensIssued;
		const from = whilter.requests.length;
		const execution = await n8n.runManually(workflowId);
		expect(execution.data?.resultData.error?.message).toBeUndefined();
		expect(execution.status).toBe('success');
		expectStatusData(statusOutput(execution));
		expect(whilter.tokensIssued - tokensBefore).toBe(1);
		const status = whilter.requests.slice(from).filter((r) => r.method === 'GET' && r.path.startsWith(STATUS_PATH));
		expect(status.map((r) => r.status)).toEqual([403, 200, 200, 200]);
	} finally {
		whilter.expiredTokenStatus = 401;
	}
});

test("a token past its expires_in is never sent: the call goes without it, Whilter's 401 makes n8n fetch a new one", async () => {
	// expires_in of 4 s: the credential stops using a token this short-lived halfway, after 2 s.
	whilter.tokenTtlSeconds = 4;
	try {
		// The stored token was issued for an hour: end it, so this run stores one issued for 4 s.
		whilter.expireTokens();
		expect((await n8n.runManually(workflowId)).status).toBe('success');
		// Real time has to pass for a real n8n; the assertions hold however long the wait turns out.
		await new Promise((resolve) => setTimeout(resolve, 2500));
		const tokensBefore = whilter.tokensIssued;
		const from = whilter.requests.length;
		const execution = await n8n.runManually(workflowId);
		expect(execution.status).toBe('success');
		expectStatusData(statusOutput(execution));
		expect(whilter.tokensIssued - tokensBefore).toBeGreaterThanOrEqual(1);
		const status = whilter.requests.slice(from).filter((r) => r.method === 'GET' && r.path.startsWith(STATUS_PATH));
		// Every refused call went without a token; every call that carried one was accepted.
		expect(status.filter((r) => r.status !== 200).every((r) => r.status === 401 && r.headers.authorization === undefined)).toBe(true);
		expect(status.filter((r) => r.headers.authorization !== undefined).every((r) => r.status === 200)).toBe(true);
		expect(status.filter((r) => r.status === 401).length).toBeGreaterThanOrEqual(1);
	} finally {
		whilter.tokenTtlSeconds = 3600;
	}
});

/** Manual Trigger → Code (20 users) → Whilter Realtime at concurrency 5, not waiting for the media. */
function realtimeWorkflow(name: string, credential: StoredCredential): WorkflowJson {
	return chainWorkflow(
		name,
		{ name: 'Twenty Users', jsCode: 'return Array.from({ length: 20 }, (_, i) => ({ json: { user: `u-${i}` } }));' },
		{
			name: 'Whilter Realtime',
			type: 'whilterRealtime',
			parameters: { useCaseId: 'uc-1', userId: '={{ $json.user }}', customerId: 'acme-cust', waitForMedia: false, options: { concurrency: 5 } },
		},
		credential,
	);
}

test.each([401, 403] as const)(
	'Whilter Realtime, 20 items at concurrency 5, tokens ending mid-campaign (expired → %i): every refused request repeated once with a new token, 20 requests made',
	async (expiredStatus) => {
		const id = (await n8n.importWorkflow(realtimeWorkflow(`Realtime, tokens ending (${expiredStatus})`, good))).id;
		whilter.expiredTokenStatus = expiredStatus;
		whilter.expireTokens();
		// Each new token serves 7 calls, then the server answers it with the expired-token status.
		whilter.expireTokenAfterUses(7);
		try {
			const tokensBefore = whilter.tokensIssued;
			const from = whilter.requests.length;
			const execution = await n8n.runManually(id);
			expect(execution.data?.resultData.error?.message).toBeUndefined();
			expect(execution.status).toBe('success');
			const out = (execution.data?.resultData.runData['Whilter Realtime']?.[0]?.data?.main?.[0] ?? []).map((item) => item.json);
			expect(out).toHaveLength(20);
			expect(out.every((item) => typeof item['whilter-request-id'] === 'string')).toBe(true);
			const posts = whilter.requests.slice(from).filter((r) => r.method === 'POST' && r.path === '/video/request');
			const refused = posts.filter((r) => r.status !== 200);
			expect(posts.filter((r) => r.status === 200)).toHaveLength(20);
			expect(refused.every((r) => r.status === expiredStatus)).toBe(true);
			expect(refused.length).toBeGreaterThanOrEqual(1);
			const tokens = whilter.tokensIssued - tokensBefore;
			// One new token per refused request at most (n8n does not share a refresh between concurrent calls).
			expect(tokens).toBeGreaterThanOrEqual(1);
			expect(tokens).toBeLessThanOrEqual(refused.length + 1);
			process.stderr.write(`[n8n-e2e] realtime x20 at concurrency 5, tokens of 7 uses, expired -> ${expiredStatus}: ${tokens} token requests, ${refused.length} refused requests repeated\n`);
		} finally {
			whilter.expireTokenAfterUses(Number.POSITIVE_INFINITY);
			whilter.expiredTokenStatus = 401;
		}
	},
);

test('the same through `n8n execute --id` (a second n8n process on the same database)', async () => {
	whilter.expireTokens();
	const tokensBefore = whilter.tokensIssued;
	const from = whilter.requests.length;
	const run = await n8n.runWorkflowCli(workflowId);
	process.stderr.write(`[n8n-e2e] n8n execute --id: ${run.durationMs} ms\n`);
	expect({ exitCode: run.exitCode, stderr: run.stderr.slice(-2000) }).toEqual({ exitCode: 0, stderr: expect.any(String) });
	const result = run.result as { status?: string; data?: Execution['data'] } | undefined;
	expect(result?.status).toBe('success');
	expectStatusData(statusOutput(result ?? {}));
	expect(whilter.tokensIssued - tokensBefore).toBe(1);
	expect(seenSince(from)).toMatchObject({ tokens: 1, ok: 3, unauthorised: 1 });
	// The execution is stored like the others (mode cli).
	const modes = (await n8n.executions(workflowId)).map((e) => e.mode);
	expect(modes.filter((m) => m === 'cli')).toHaveLength(1);
	// Three runs of the tests before the token-renewal ones, and three of those.
	expect(modes.filter((m) => m === 'manual')).toHaveLength(6);
});

test('a wrong client secret fails the run with a clear message that does not hold the secret', async () => {
	const tokensBefore = whilter.tokensIssued;
	const from = whilter.requests.length;
	const execution = await n8n.runManually(wrongWorkflowId);
	expect(execution.status).toBe('error');
	const error = execution.data?.resultData.error;
	const message = `${error?.message ?? ''} ${(error as { description?: string } | undefined)?.description ?? ''}`;
	process.stderr.write(`[n8n-e2e] wrong secret → ${JSON.stringify(message)}\n`);
	// Says what is wrong: the token request was refused (401), check the client ID/secret.
	expect(message).toMatch(/token/i);
	expect(message).toMatch(/401|secret|credential/i);
	expect(message).not.toMatch(/could not be reached/i);
	expect(JSON.stringify(execution)).not.toContain(WRONG_SECRET);
	expect(whilter.tokensIssued).toBe(tokensBefore);
	const seen = seenSince(from);
	expect(seen.ok).toBe(0);
	expect(whilter.requests.slice(from).filter((r) => r.path === '/getToken/token').every((r) => r.status === 401)).toBe(true);
});

test("the editor's credential test: OK for the right secret, a clear error for a wrong one", async () => {
	const answers: Record<string, unknown> = {};
	const testCredential = async (credential: StoredCredential, secret: string) =>
		(
			await n8n.rest<{ data: { status: string; message: string } }>('POST', '/credentials/test', {
				credentials: { id: credential.id, name: credential.name, type: 'whilterApi', data: credentialData(secret) },
			})
		).data;

	const tokensBefore = whilter.tokensIssued;
	answers.good = await testCredential(good, CLIENT_SECRET);
	answers.goodTokens = whilter.tokensIssued - tokensBefore;
	answers.wrong = await testCredential(wrong, WRONG_SECRET);
	// The editor sends the form's current values: a saved good credential tested with a mistyped secret.
	answers.goodWithWrongSecret = await testCredential(good, WRONG_SECRET);
	// Unsaved (id ''): what n8n 2.41 answers.
	answers.unsaved = (
		await n8n.rest<{ data: { status: string; message: string } }>('POST', '/credentials/test', {
			credentials: { id: '', name: 'unsaved', type: 'whilterApi', data: credentialData(CLIENT_SECRET) },
		})
	).data;
	process.stderr.write(`[n8n-e2e] POST /rest/credentials/test answers: ${JSON.stringify(answers, null, 2)}\n`);

	expect(answers.good).toEqual({ status: 'OK', message: expect.any(String) });
	for (const key of ['wrong', 'goodWithWrongSecret']) {
		expect(answers[key]).toEqual({ status: 'Error', message: expect.stringMatching(/token/i) });
		expect(JSON.stringify(answers[key])).not.toContain(WRONG_SECRET);
	}
	expect(JSON.stringify(answers)).not.toContain(CLIENT_SECRET);
});

test('Access Token mode: a static token runs the status workflow with no token request, and the credential test tells a good token from a rejected one', async () => {
	const accessTokenData = (token: string): IDataObject => {
		// As a user of a static token fills the form in: no client ID, secret or token URL.
		const rest = Object.fromEntries(Object.entries(credentialData(CLIENT_SECRET)).filter(([key]) => !['clientId', 'clientSecret', 'tokenUrl'].includes(key)));
		return { ...rest, authentication: 'accessToken', accessToken: token };
	};
	const token = whilter.issueToken();
	const stat = await n8n.createCredential('Whilter (access token)', 'whilterApi', accessTokenData(token));
	const id = (await n8n.importWorkflow(statusWorkflow('Whilter status, access token', stat, taskIds))).id;
	const tokensBefore = whilter.tokensIssued;
	const from = whilter.requests.length;
	const execution = await n8n.runManually(id);
	expect(execution.data?.resultData.error?.message).toBeUndefined();
	expect(execution.status).toBe('success');
	expectStatusData(statusOutput(execution));
	expect(whilter.tokensIssued).toBe(tokensBefore);
	const seen = seenSince(from);
	expect(seen).toMatchObject({ tokens: 0, ok: 3, unauthorised: 0 });
	expect([...seen.bearers]).toEqual([`Bearer ${token}`]);

	const test = async (accessToken: string) =>
		(
			await n8n.rest<{ data: { status: string; message: string } }>('POST', '/credentials/test', {
				credentials: { id: stat.id, name: stat.name, type: 'whilterApi', data: accessTokenData(accessToken) },
			})
		).data;
	// A good static token: Whilter checks it, then answers 404 for the placeholder task, which n8n can
	// only show as a failed test; its message says the token was accepted.
	expect(await test(token)).toEqual({ status: 'Error', message: expect.stringContaining('Access Token: the token was accepted') });
	const rejected = await test('wt-never-issued');
	expect(rejected).toEqual({ status: 'Error', message: expect.stringMatching(/rejected|401/i) });
	expect(JSON.stringify(rejected)).not.toContain('wt-never-issued');
});

test("neither secret appears in n8n's log", () => {
	const log = n8n.log();
	expect(log).toContain('Editor is now accessible');
	expect(log).not.toContain(CLIENT_SECRET);
	expect(log).not.toContain(WRONG_SECRET);
});

