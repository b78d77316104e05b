/**
 * Behind a company proxy: n8n started with HTTP_PROXY sends its outbound HTTP through the proxy, and
 * so must every call the package makes — the Whilter API, Insider and TimePay (n8n's HTTP helpers)
 * and the S3 drop (the AWS SDK, which makes agents of its own unless given n8n's). Example (1) runs
 * in n8n 2.41 with the sandbox addressed as `localhost` (through the proxy) and `NO_PROXY=127.0.0.1`
 * (n8n's own loopback traffic, e.g. its task runner, stays direct); the proxy's log shows which host
 * each call went to.
 */
import { CUSTOM_PREFIX, EXAMPLE_CREDENTIAL_NAMES, nodeOutput, readExample } from '../../e2e/examples';
import { startN8n } from '../../e2e/n8n';
import type { N8nHandle } from '../../e2e/n8n';
import { DIST_DIR, ensurePackageBuilt } from '../../e2e/package';
import { startForwardProxy } from '../servers/forwardProxy';
import type { ForwardProxy } from '../servers/forwardProxy';
import { startSandbox } from '../servers/sandbox';
import type { Sandbox } from '../servers/sandbox';

jest.setTimeout(180_000);

let sandbox: Sandbox;
let proxy: ForwardProxy;
let n8n: N8nHandle;

/** The same address by name: `localhost` is not in NO_PROXY, so calls to it go through the proxy. */
const byName = (url: string): string => url.replace('//127.0.0.1:', '//localhost:');
const hostOf = (url: string): string => new URL(byName(url)).host;

beforeAll(async () => {
	await ensurePackageBuilt();
	sandbox = await startSandbox({ autoAdvanceMs: 400 });
	proxy = await startForwardProxy();
	n8n = await startN8n({ extensionsDir: DIST_DIR, env: { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' } });
}, 600_000);

afterAll(async () => {
	await n8n?.stop();
	await proxy?.close();
	await sandbox?.close();
});

test('example (1) behind a proxy: the Whilter API, the S3 drop, Insider and TimePay are all reached through it', async () => {
	const { whilterApi, insiderApi, timePayApi } = sandbox.credentials;
	const data: Record<string, Record<string, unknown>> = {
		whilterApi: { ...whilterApi, baseUrl: byName(whilterApi.baseUrl), tokenUrl: byName(whilterApi.tokenUrl), s3Endpoint: byName(whilterApi.s3Endpoint) },
		insiderApi: { ...insiderApi, baseUrl: byName(insiderApi.baseUrl) },
		timePayApi: { ...timePayApi, baseUrl: byName(timePayApi.baseUrl) },
	};
	const credentialIds: Record<string, string> = {};
	for (const [type, fields] of Object.entries(data)) credentialIds[type] = (await n8n.createCredential(EXAMPLE_CREDENTIAL_NAMES[type], type, fields)).id;
	const workflow = await n8n.importWorkflow(readExample('batch-campaign.json', { prefix: CUSTOM_PREFIX, credentialIds }));

	const execution = await n8n.runManually(workflow.id, { timeoutMs: 120_000 });
	expect(execution.data?.resultData.error?.message).toBeUndefined();
	expect(execution.status).toBe('success');
	const [batch] = nodeOutput(execution, 'Whilter Batch');
	const key = `${whilterApi.s3Bucket}/${String(batch?.['file-path'])}`;

	const through = (host: string) => proxy.requests.filter((r) => r.host === host).map((r) => `${r.method} ${r.path.split('?')[0]}`);
	// The S3 drop: the check for an existing file, the upload (the file is small: one PutObject) and,
	// for Whilter Status' results, the GetObject of the output file.
	const s3 = through(hostOf(whilterApi.s3Endpoint));
	expect(s3).toEqual(expect.arrayContaining([`HEAD /${key}`, `PUT /${key}`]));
	expect(s3.some((call) => call.startsWith(`GET /${whilterApi.s3Bucket}/`))).toBe(true);
	// The Whilter API (token, task, status), Insider and TimePay, through n8n's HTTP helpers.
	const whilter = through(hostOf(whilterApi.baseUrl));
	expect(whilter).toEqual(expect.arrayContaining(['POST /getToken/token', `POST /${whilterApi.client}/task`]));
	expect(through(hostOf(insiderApi.baseUrl)).length).toBeGreaterThan(0);
	expect(through(hostOf(timePayApi.baseUrl)).length).toBeGreaterThan(0);
	// And what reached the servers is what the proxy passed on: the task names the uploaded file.
	expect(sandbox.whilter.tasks.get(String(batch?.['task-id']))?.body).toMatchObject({ 'file-path': batch?.['file-path'] });
});
