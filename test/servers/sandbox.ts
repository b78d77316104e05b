/**
 * The local sandbox: an S3-compatible server and the Whilter, Insider and TimePay contract servers
 * on 127.0.0.1, with fixed demo credentials. `npm run sandbox` prints their URLs and stays up until
 * Ctrl-C; the demo and end-to-end tests call startSandbox() in-process.
 */
import { startInsiderServer } from './insider';
import { startS3Server } from './s3';
import { startTimePayServer } from './timepay';
import { startWhilterServer } from './whilter';

export const SANDBOX_CREDENTIALS = {
	whilter: { client: 'demo', clientId: 'demo-client', clientSecret: 'demo-secret', apiKey: 'demo-api-key' },
	insider: { authKey: 'INS.demo-key' },
	timepay: { token: 'demo-timepay-token' },
	bucket: 'whilter-drop',
	prefix: 'incoming/demo',
} as const;

export type Sandbox = Awaited<ReturnType<typeof startSandbox>>;

export async function startSandbox(options: { autoAdvanceMs?: number } = {}) {
	const c = SANDBOX_CREDENTIALS;
	const s3 = await startS3Server({ buckets: [c.bucket] });
	const whilter = await startWhilterServer({
		...c.whilter,
		s3: { endpoint: s3.endpoint, bucket: c.bucket, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
		autoAdvanceMs: options.autoAdvanceMs,
	});
	const insider = await startInsiderServer(c.insider);
	const timepay = await startTimePayServer(c.timepay);
	return {
		s3,
		whilter,
		insider,
		timepay,
		/** The three credentials as n8n would store them, pointing at the sandbox. */
		credentials: {
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
		},
		close: async () => {
			await Promise.all([whilter.close(), insider.close(), timepay.close()]);
			await s3.close();
		},
	};
}

if (require.main === module) {
	startSandbox({ autoAdvanceMs: Number(process.env.SANDBOX_ADVANCE_MS ?? 3000) })
		.then((sandbox) => {
			const lines = [
				`S3 (s3rver)     ${sandbox.s3.endpoint}   bucket ${SANDBOX_CREDENTIALS.bucket}, keys S3RVER / S3RVER`,
				`Whilter         ${sandbox.whilter.url}   client "demo", client ID demo-client, secret demo-secret (tasks advance every ${process.env.SANDBOX_ADVANCE_MS ?? 3000} ms)`,
				`Insider         ${sandbox.insider.url}   x-ins-auth-key INS.demo-key`,
				`TimePay         ${sandbox.timepay.url}   bearer demo-timepay-token`,
			];
			process.stdout.write(`${JSON.stringify({ s3: sandbox.s3.endpoint, whilter: sandbox.whilter.url, insider: sandbox.insider.url, timepay: sandbox.timepay.url, credentials: sandbox.credentials })}\n`);
			process.stdout.write(`${lines.join('\n')}\nSandbox running; Ctrl-C stops it.\n`);
			const stop = () => void sandbox.close().then(() => process.exit(0));
			process.on('SIGINT', stop);
			process.on('SIGTERM', stop);
		})
		.catch((error: unknown) => {
			process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
			process.exit(1);
		});
}
