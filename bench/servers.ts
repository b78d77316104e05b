/**
 * The S3 server and the Whilter contract server of the batch and results benches. Run as a file it
 * serves them in a process of its own (bench/lib/processes.ts), so a benchmark case's RSS is the
 * node's and n8n's, not the servers'; it prints one JSON line with their addresses and stops when
 * its standard input closes.
 */
import type { S3Server } from '../test/servers/s3';
import type { WhilterServer } from '../test/servers/whilter';
import { serveUntilStdinEnds } from './lib/processes';

export interface BenchServerAddresses {
	s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string };
	whilter: string;
}

export async function startBenchServers(): Promise<{ s3: S3Server; whilter: WhilterServer; addresses: BenchServerAddresses; close: () => Promise<unknown> }> {
	// Loaded here: a case process imports this file for the credential alone, and must not carry the servers.
	const { startS3Server } = await import('../test/servers/s3');
	const { startWhilterServer } = await import('../test/servers/whilter');
	const s3 = await startS3Server({ buckets: ['bench'] });
	const whilter = await startWhilterServer({
		client: 'bench',
		clientId: 'bench-client',
		clientSecret: 'bench-secret',
		s3: { endpoint: s3.endpoint, bucket: 'bench', region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
		// The node's time is measured, not the server's re-reading of the file (a 10M-row file's text is
		// also longer than a JavaScript string may be).
		checkRowCount: false,
	});
	return {
		s3,
		whilter,
		addresses: { s3: { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }, whilter: whilter.url },
		close: async () => await Promise.all([whilter.close(), s3.close()]),
	};
}

/** The Whilter credential of the bench's client, for the servers at `addresses`. */
export function benchWhilterCredential(addresses: BenchServerAddresses): Record<string, string | boolean> {
	const { s3, whilter } = addresses;
	return {
		baseUrl: whilter,
		client: 'bench',
		authentication: 'clientCredentials',
		clientId: 'bench-client',
		clientSecret: 'bench-secret',
		tokenUrl: `${whilter}/getToken/token`,
		s3Bucket: 'bench',
		s3Prefix: 'in',
		s3Region: s3.region,
		s3AccessKeyId: s3.accessKeyId,
		s3SecretAccessKey: s3.secretAccessKey,
		s3Endpoint: s3.endpoint,
		s3ForcePathStyle: true,
	};
}

if (require.main === module) {
	void startBenchServers().then((servers) => serveUntilStdinEnds(JSON.stringify(servers.addresses), servers.close));
}
