/**
 * The package installed as a community package is (linked into ~/.n8n/nodes/node_modules): n8n loads
 * it as `n8n-nodes-whilter`, serves every node under that name, and runs each credential's test —
 * the request tests of whilterApi and timePayApi, and the Insider node's test for insiderApi (n8n
 * knows which node tests a credential only for packages, not for N8N_CUSTOM_EXTENSIONS).
 */
import { startN8n, REPO_ROOT } from '../../e2e/n8n';
import type { N8nHandle } from '../../e2e/n8n';
import { ensurePackageBuilt, packageJson } from '../../e2e/package';
import { startInsiderServer } from '../servers/insider';
import { startTimePayServer } from '../servers/timepay';

jest.setTimeout(120_000);

let n8n: N8nHandle;
let timepay: Awaited<ReturnType<typeof startTimePayServer>>;
let insider: Awaited<ReturnType<typeof startInsiderServer>>;

beforeAll(async () => {
	await ensurePackageBuilt();
	timepay = await startTimePayServer({ token: 'tp-good-token' });
	insider = await startInsiderServer({ authKey: 'INS.good-key' });
	n8n = await startN8n({ communityPackageDir: REPO_ROOT });
}, 600_000);

afterAll(async () => {
	await n8n?.stop();
	await timepay?.close();
	await insider?.close();
});

async function credentialTest(type: string, data: Record<string, unknown>): Promise<{ status: string; message: string }> {
	const saved = await n8n.createCredential(`${type} ${String(Object.values(data)[0])}`, type, data);
	return (
		await n8n.rest<{ data: { status: string; message: string } }>('POST', '/credentials/test', {
			credentials: { id: saved.id, name: saved.name, type, data },
		})
	).data;
}

test('n8n loads the package by its name, every node of it', async () => {
	const served = (await n8n.raw('GET', '/types/nodes.json')).body as Array<{ name: string }>;
	const names = served.map((n) => n.name);
	for (const file of packageJson().n8n.nodes) {
		const node = file.replace(/^.*\/|\.node\.js$/g, '');
		expect(names).toContain(`n8n-nodes-whilter.${node.charAt(0).toLowerCase()}${node.slice(1)}`);
	}
	expect(n8n.log()).not.toMatch(/error.*n8n-nodes-whilter/i);
});

test("TimePay's credential test: OK with the right token, TimePay's rejection with a wrong one", async () => {
	expect(await credentialTest('timePayApi', { token: 'tp-good-token', baseUrl: timepay.url })).toEqual({ status: 'OK', message: expect.any(String) });
	expect(await credentialTest('timePayApi', { token: 'tp-wrong', baseUrl: timepay.url })).toEqual({ status: 'Error', message: 'TimePay rejected the API token' });
});

test("Insider's credential test (by the Insider node): OK with the right key, rejected with a wrong one", async () => {
	expect(await credentialTest('insiderApi', { authKey: 'INS.good-key', baseUrl: insider.url })).toEqual({ status: 'OK', message: 'Insider accepted the auth key' });
	expect(await credentialTest('insiderApi', { authKey: 'INS.wrong', baseUrl: insider.url })).toEqual({ status: 'Error', message: 'Insider rejected the auth key' });
	expect(insider.requests.filter((r) => r.path === '/v1/media/n8n-credential-test').map((r) => r.headers['x-ins-auth-key'])).toEqual([
		'INS.good-key',
		'INS.wrong',
	]);
	expect(n8n.log()).not.toContain('INS.good-key');
});
