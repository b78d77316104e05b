/**
 * The local sandbox: an S3-compatible server (bucket `whilter-drop`) and the Whilter, Insider and
 * TimePay contract servers on 127.0.0.1, with fixed demo credentials.
 *
 * `npx tsx test/servers/sandbox.ts` (npm run sandbox) prints one JSON line with the URLs and
 * credentials, then the same for humans, and stays up until SIGINT/SIGTERM. Ports are random unless
 * fixed by flags or environment:
 *   --s3-port N --whilter-port N --insider-port N --timepay-port N --advance-ms N
 *   SANDBOX_S3_PORT, SANDBOX_WHILTER_PORT, SANDBOX_INSIDER_PORT, SANDBOX_TIMEPAY_PORT, SANDBOX_ADVANCE_MS
 * The demo and end-to-end scripts call startSandbox() in-process instead.
 */
import { startInsiderServer } from './insider';
import type { InsiderServer } from './insider';
import { startS3Server } from './s3';
import type { S3Server } from './s3';
import { startTimePayServer } from './timepay';
import type { TimePayServer } from './timepay';
import { startWhilterServer } from './whilter';
import type { WhilterServer } from './whilter';

export const SANDBOX_CREDENTIALS = {
	whilter: { client: 'demo', clientId: 'demo-client', clientSecret: 'demo-secret', apiKey: 'demo-api-key' },
	insider: { authKey: 'INS.demo-key' },
	timepay: { token: 'demo-timepay-token' },
	bucket: 'whilter-drop',
	prefix: 'incoming/demo',
} as const;

export const DEFAULT_ADVANCE_MS = 3000;

export interface SandboxPorts {
	s3?: number;
	whilter?: number;
	insider?: number;
	timepay?: number;
}

export interface SandboxOptions {
	/** Whilter tasks move one step every so many ms; 0 or undefined: only advance() moves them. */
	autoAdvanceMs?: number;
	/** Fixed ports; each one left out is random. */
	ports?: SandboxPorts;
}

/** The three credentials as n8n stores them (field names of credentials/*.credentials.ts), pointing at the sandbox. */
export interface SandboxCredentials {
	whilterApi: {
		baseUrl: string;
		client: string;
		authentication: 'clientCredentials';
		clientId: string;
		clientSecret: string;
		tokenUrl: string;
		apiKey: string;
		s3Bucket: string;
		s3Prefix: string;
		s3Region: string;
		s3AccessKeyId: string;
		s3SecretAccessKey: string;
		s3Endpoint: string;
		s3ForcePathStyle: boolean;
	};
	insiderApi: { authKey: string; baseUrl: string };
	timePayApi: { token: string; baseUrl: string };
}

export interface Sandbox {
	s3: S3Server;
	whilter: WhilterServer;
	insider: InsiderServer;
	timepay: TimePayServer;
	credentials: SandboxCredentials;
	close(): Promise<void>;
}

function credentialsFor(s3: S3Server, whilter: WhilterServer, insider: InsiderServer, timepay: TimePayServer): SandboxCredentials {
	const c = SANDBOX_CREDENTIALS;
	return {
		whilterApi: {
			baseUrl: whilter.url,
			client: c.whilter.client,
			authentication: 'clientCredentials',
			clientId: c.whilter.clientId,
			clientSecret: c.whilter.clientSecret,
			tokenUrl: `${whilter.url}/getToken/token`,
			apiKey: c.whilter.apiKey,
			s3Bucket: c.bucket,
			s3Prefix: c.prefix,
			s3Region: s3.region,
			s3AccessKeyId: s3.accessKeyId,
			s3SecretAccessKey: s3.secretAccessKey,
			s3Endpoint: s3.endpoint,
			s3ForcePathStyle: true,
		},
		insiderApi: { authKey: c.insider.authKey, baseUrl: insider.url },
		timePayApi: { token: c.timepay.token, baseUrl: timepay.url },
	};
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
	const c = SANDBOX_CREDENTIALS;
	const ports = options.ports ?? {};
	// Servers started so far, closed again if a later one cannot start (e.g. its fixed port is taken).
	const started: Array<{ close(): Promise<void> }> = [];
	const track = <T extends { close(): Promise<void> }>(server: T): T => {
		started.unshift(server);
		return server;
	};
	try {
		const s3 = track(await startS3Server({ buckets: [c.bucket], port: ports.s3 }));
		const whilter = track(
			await startWhilterServer({
				...c.whilter,
				s3: { endpoint: s3.endpoint, bucket: c.bucket, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
				autoAdvanceMs: options.autoAdvanceMs,
				mediaBaseUrl: 'self',
				port: ports.whilter,
			}),
		);
		const insider = track(await startInsiderServer({ ...c.insider, port: ports.insider }));
		const timepay = track(await startTimePayServer({ ...c.timepay, port: ports.timepay }));
		return {
			s3,
			whilter,
			insider,
			timepay,
			credentials: credentialsFor(s3, whilter, insider, timepay),
			close: async () => {
				// Whilter first: it may be writing to S3 when asked to stop.
				await Promise.all([whilter.close(), insider.close(), timepay.close()]);
				await s3.close();
			},
		};
	} catch (error) {
		for (const server of started) await server.close().catch(() => undefined);
		throw error;
	}
}

/** `--name N`, `--name=N` or the environment variable; undefined when neither is given. */
function numberSetting(argv: string[], flag: string, envName: string): number | undefined {
	const index = argv.findIndex((arg) => arg === flag || arg.startsWith(`${flag}=`));
	const raw = index === -1 ? process.env[envName] : argv[index].includes('=') ? argv[index].slice(flag.length + 1) : argv[index + 1];
	if (raw === undefined || raw === '') return undefined;
	const value = Number(raw);
	if (!Number.isInteger(value) || value < 0) throw new Error(`${flag} / ${envName} must be a non-negative integer, got "${raw}"`);
	return value;
}

export function sandboxOptionsFrom(argv: string[]): SandboxOptions {
	return {
		autoAdvanceMs: numberSetting(argv, '--advance-ms', 'SANDBOX_ADVANCE_MS') ?? DEFAULT_ADVANCE_MS,
		ports: {
			s3: numberSetting(argv, '--s3-port', 'SANDBOX_S3_PORT'),
			whilter: numberSetting(argv, '--whilter-port', 'SANDBOX_WHILTER_PORT'),
			insider: numberSetting(argv, '--insider-port', 'SANDBOX_INSIDER_PORT'),
			timepay: numberSetting(argv, '--timepay-port', 'SANDBOX_TIMEPAY_PORT'),
		},
	};
}

/** The machine-readable line first (scripts parse it), then the same for people. */
export function describeSandbox(sandbox: Sandbox, autoAdvanceMs: number | undefined): string {
	const c = SANDBOX_CREDENTIALS;
	const summary = {
		s3: { endpoint: sandbox.s3.endpoint, bucket: c.bucket, prefix: c.prefix, region: sandbox.s3.region, accessKeyId: sandbox.s3.accessKeyId, secretAccessKey: sandbox.s3.secretAccessKey },
		whilter: { url: sandbox.whilter.url, ...c.whilter, tokenUrl: `${sandbox.whilter.url}/getToken/token`, autoAdvanceMs: autoAdvanceMs ?? 0 },
		insider: { url: sandbox.insider.url, ...c.insider },
		timepay: { url: sandbox.timepay.url, ...c.timepay },
		credentials: sandbox.credentials,
	};
	const advance = autoAdvanceMs ? `tasks advance every ${autoAdvanceMs} ms` : 'tasks advance only when told';
	return [
		JSON.stringify(summary),
		`S3 (s3rver)  ${sandbox.s3.endpoint}  bucket ${c.bucket}, prefix ${c.prefix}, region ${sandbox.s3.region}, keys ${sandbox.s3.accessKeyId} / ${sandbox.s3.secretAccessKey}, path-style`,
		`Whilter      ${sandbox.whilter.url}  client "${c.whilter.client}", client ID ${c.whilter.clientId}, secret ${c.whilter.clientSecret}, x-api-key ${c.whilter.apiKey} (${advance})`,
		`Insider      ${sandbox.insider.url}  x-ins-auth-key ${c.insider.authKey}`,
		`TimePay      ${sandbox.timepay.url}  bearer ${c.timepay.token}`,
		'Sandbox running; Ctrl-C stops it.',
		'',
	].join('\n');
}

async function main(): Promise<void> {
	const options = sandboxOptionsFrom(process.argv.slice(2));
	const sandbox = await startSandbox(options);
	process.stdout.write(describeSandbox(sandbox, options.autoAdvanceMs));
	let stopping = false;
	const stop = () => {
		if (stopping) return;
		stopping = true;
		void sandbox.close().then(
			() => process.exit(0),
			() => process.exit(1),
		);
	};
	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
}

if (require.main === module) {
	main().catch((error: unknown) => {
		process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
		process.exit(1);
	});
}
