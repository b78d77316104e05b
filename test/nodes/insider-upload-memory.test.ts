/**
 * A 90 MB document goes from n8n's binary storage to Insider as a stream: the n8n process grows by
 * a small fraction of the file. The contract server runs in a child process (it keeps every upload
 * in memory, which would otherwise count here); Insider's SHA-256 of what it received must equal
 * the file's.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { CredentialStore, runChain, shutdownN8nCore } from '../harness/run';
import type { TestFile } from '../harness/run';

const KEY = 'INS.memory-test-key';
const MB = 1024 * 1024;

let workDir: string;
let server: ChildProcessWithoutNullStreams;
let serverUrl: string;
let store: CredentialStore;
let credential: { id: string; name: string };

/** Starts test/servers/insider.ts in a process of its own and reads its URL from the first line it prints. */
async function startServerProcess(): Promise<void> {
	const script = join(workDir, 'insider-server.ts');
	writeFileSync(
		script,
		`import { startInsiderServer } from ${JSON.stringify(join(__dirname, '..', 'servers', 'insider'))};
void startInsiderServer({ authKey: ${JSON.stringify(KEY)} }).then((server) => {
	process.stdout.write(JSON.stringify({ url: server.url }) + '\\n');
	process.stdin.resume();
	process.stdin.on('end', () => void server.close().then(() => process.exit(0)));
});
`,
	);
	server = spawn(process.execPath, [require.resolve('tsx/cli'), script], { stdio: 'pipe' });
	server.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
	const [line] = (await once(createInterface({ input: server.stdout }), 'line')) as [string];
	serverUrl = (JSON.parse(line) as { url: string }).url;
}

/** A file of `size` bytes of random content, written 1 MB at a time; returns its SHA-256. */
async function writeRandomFile(path: string, size: number): Promise<string> {
	const hash = createHash('sha256');
	const out = createWriteStream(path);
	for (let written = 0; written < size; written += MB) {
		const block = randomBytes(Math.min(MB, size - written));
		hash.update(block);
		if (!out.write(block)) await once(out, 'drain');
	}
	out.end();
	await once(out, 'finish');
	return hash.digest('hex');
}

beforeAll(async () => {
	workDir = mkdtempSync(join(tmpdir(), 'insider-memory-test-'));
	await startServerProcess();
	store = new CredentialStore();
	credential = store.add('insiderApi', { authKey: KEY, baseUrl: serverUrl });
}, 60_000);

afterAll(async () => {
	if (server && server.exitCode === null) {
		server.stdin.end();
		await once(server, 'exit');
	}
	rmSync(workDir, { recursive: true, force: true });
	await shutdownN8nCore();
});

const uploadAndGetUrl = (file: TestFile) =>
	runChain({
		items: [{ json: {} }],
		files: [file],
		nodes: [{ name: 'Media', type: 'insiderWhatsAppMedia', parameters: { operation: 'uploadAndGetUrl' }, credentials: { insiderApi: credential } }],
		credentials: store,
	});

it('uploads a 90 MB pdf with RSS growth well under the file size, and Insider receives the same bytes', async () => {
	// Warm-up: n8n-core, the node and the HTTP stack loaded before the baseline is taken.
	const small = join(workDir, 'small.pdf');
	await writeRandomFile(small, 64 * 1024);
	expect((await uploadAndGetUrl({ property: 'data', path: small, fileName: 'small.pdf', mimeType: 'application/pdf' })).error).toBeUndefined();

	const size = 90 * MB;
	const path = join(workDir, 'catalogue.pdf');
	const expected = await writeRandomFile(path, size);
	global.gc?.();
	const baseline = process.memoryUsage.rss();
	let peak = baseline;
	const sampler = setInterval(() => {
		peak = Math.max(peak, process.memoryUsage.rss());
	}, 10);
	const started = performance.now();
	const result = await uploadAndGetUrl({ property: 'data', path, fileName: 'catalogue.pdf', mimeType: 'application/pdf' });
	const elapsed = performance.now() - started;
	clearInterval(sampler);
	peak = Math.max(peak, process.memoryUsage.rss());
	rmSync(path);

	expect(result.error).toBeUndefined();
	const [out] = result.output('Media');
	expect(out.json).toMatchObject({ 'file-name': 'catalogue.pdf', 'mime-type': 'application/pdf', 'file-size': size, sha256: expected, 'media-type': 'document' });
	const growth = peak - baseline;
	process.stderr.write(
		`[insider upload] ${size / MB} MB pdf in ${Math.round(elapsed)} ms, RSS ${Math.round(baseline / MB)} → peak ${Math.round(peak / MB)} MB: grew ${Math.round(growth / MB)} MB (${Math.round((growth / size) * 100)}% of the file)\n`,
	);
	// Streamed, the growth is stream buffers and garbage not yet collected; a buffered upload (the
	// file, or axios keeping the body for a redirect replay) would add at least the file's 90 MB.
	expect(growth).toBeLessThan(size * 0.4);
}, 180_000);
