/**
 * The sandbox in-process (every server up, wired together, with the demo credentials, tasks moving on
 * a timer) and as the CLI `npx tsx test/servers/sandbox.ts` (JSON line, fixed ports, stops on SIGTERM).
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ZipFile } from 'yazl';

import { SANDBOX_CREDENTIALS, sandboxOptionsFrom, startSandbox } from './sandbox';
import type { SandboxCredentials } from './sandbox';

const ROOT = join(__dirname, '..', '..');
const c = SANDBOX_CREDENTIALS;

/** Free loopback ports, found by binding port 0 and letting go. */
async function freePorts(count: number): Promise<number[]> {
	const servers = await Promise.all(
		Array.from({ length: count }, async () => {
			const server = net.createServer();
			await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
			return server;
		}),
	);
	const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
	await Promise.all(servers.map(async (s) => await new Promise((resolve) => s.close(resolve))));
	return ports;
}

async function zipWith(name: string, text: string): Promise<Buffer> {
	const zip = new ZipFile();
	zip.addBuffer(Buffer.from(text), name);
	zip.end();
	const chunks: Buffer[] = [];
	for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
	const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
	return (await response.json()) as Record<string, unknown>;
}

describe('startSandbox()', () => {
	it('runs a batch task end to end with the demo credentials, tasks moving by themselves', async () => {
		const sandbox = await startSandbox({ autoAdvanceMs: 30 });
		try {
			const { whilterApi, insiderApi, timePayApi } = sandbox.credentials;
			const { access_token: token } = await postJson(whilterApi.tokenUrl, { client_id: whilterApi.clientId, client_secret: whilterApi.clientSecret });
			const key = `${whilterApi.s3Prefix}/T-1_sandbox.zip`;
			await sandbox.s3.client().send(new PutObjectCommand({ Bucket: whilterApi.s3Bucket, Key: key, Body: await zipWith('T-1_sandbox.csv', 'phone\r\n1\r\n2\r\n') }));
			const created = await postJson(
				`${whilterApi.baseUrl}/${whilterApi.client}/task`,
				{ 'client-id': whilterApi.clientId, 'campaign-id': 'sandbox', 'template-id': 'T-1', 'file-name': 'T-1_sandbox.zip', 'file-path': key, 'row-count': 2, 'expected-output-duration': 1 },
				{ authorization: `Bearer ${String(token)}` },
			);
			const taskId = String(created['task-id']);
			let status: Record<string, unknown> = {};
			for (const deadline = Date.now() + 5000; status.status !== 'completed' && Date.now() < deadline; await new Promise((r) => setTimeout(r, 30))) {
				status = (await (await fetch(`${whilterApi.baseUrl}/${whilterApi.client}/task/status/${taskId}`, { headers: { authorization: `Bearer ${String(token)}` } })).json()) as Record<string, unknown>;
			}
			expect(status).toMatchObject({ status: 'completed', count: 2, 'file-path': `${whilterApi.s3Prefix}/output/${taskId}.csv` });
			expect((await sandbox.s3.getObjectBuffer(c.bucket, String(status['file-path']))).toString()).toContain('media-url,error');

			const media = await fetch(`${insiderApi.baseUrl}/v1/media/unknown`, { headers: { 'x-ins-auth-key': insiderApi.authKey } });
			expect(media.status).toBe(404);
			const campaigns = await fetch(`${timePayApi.baseUrl}/api/v1/campaigns`, { headers: { authorization: `Bearer ${timePayApi.token}` } });
			expect(campaigns.status).toBe(200);
		} finally {
			await sandbox.close();
		}
	});

	it('listens on fixed ports when asked, and closes what it started when a port is taken', async () => {
		const [s3, whilter, insider, timepay] = await freePorts(4);
		const sandbox = await startSandbox({ ports: { s3, whilter, insider, timepay } });
		try {
			expect([sandbox.s3.endpoint, sandbox.whilter.url, sandbox.insider.url, sandbox.timepay.url]).toEqual(
				[s3, whilter, insider, timepay].map((port) => `http://127.0.0.1:${port}`),
			);
			// TimePay's port is in use: everything started before it is closed again, and the error surfaces.
			await expect(startSandbox({ ports: { timepay } })).rejects.toThrow(/EADDRINUSE/);
		} finally {
			await sandbox.close();
		}
	});

	it('reads its options from flags, then the environment', () => {
		process.env.SANDBOX_INSIDER_PORT = '4100';
		try {
			expect(sandboxOptionsFrom(['--whilter-port', '4001', '--s3-port=4002', '--advance-ms=0'])).toEqual({
				autoAdvanceMs: 0,
				ports: { s3: 4002, whilter: 4001, insider: 4100, timepay: undefined },
			});
			expect(sandboxOptionsFrom([]).autoAdvanceMs).toBe(3000);
			expect(() => sandboxOptionsFrom(['--timepay-port', 'abc'])).toThrow('--timepay-port');
		} finally {
			delete process.env.SANDBOX_INSIDER_PORT;
		}
	});
});

describe('sandbox CLI', () => {
	it('prints the URLs and credentials as one JSON line, then lines for people, and stops on SIGTERM', async () => {
		const [whilterPort, insiderPort] = await freePorts(2);
		const child = spawn(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'test/servers/sandbox.ts', '--whilter-port', String(whilterPort), '--advance-ms=50'], {
			cwd: ROOT,
			env: { ...process.env, SANDBOX_INSIDER_PORT: String(insiderPort) },
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
		let stderr = '';
		child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
		try {
			const lines: string[] = [];
			for await (const line of createInterface({ input: child.stdout })) {
				lines.push(line);
				if (line.startsWith('Sandbox running')) break;
			}
			expect(stderr).toBe('');
			const summary = JSON.parse(lines[0]) as { whilter: { url: string; autoAdvanceMs: number }; insider: { url: string }; s3: { bucket: string }; credentials: SandboxCredentials };
			expect(summary.whilter).toMatchObject({ url: `http://127.0.0.1:${whilterPort}`, clientId: c.whilter.clientId, clientSecret: c.whilter.clientSecret, autoAdvanceMs: 50 });
			expect(summary.insider.url).toBe(`http://127.0.0.1:${insiderPort}`);
			expect(summary.s3.bucket).toBe('whilter-drop');
			expect(lines.slice(1).join('\n')).toMatch(/Whilter\s+http:\/\/127\.0\.0\.1:\d+.*demo-client/);
			const token = await postJson(summary.credentials.whilterApi.tokenUrl, { client_id: c.whilter.clientId, client_secret: c.whilter.clientSecret });
			expect(token).toMatchObject({ token_type: 'Bearer' });
		} finally {
			child.kill('SIGTERM');
		}
		expect(await exited).toBe(0);
	}, 30_000);
});
