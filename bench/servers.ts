/**
 * Starts the S3 server and the Whilter contract server in a process of their own, so a benchmark
 * case's RSS is the node's and n8n's, not the servers'. Prints one JSON line with their addresses
 * and stops when its standard input closes.
 */
import { startS3Server } from '../test/servers/s3';
import { startWhilterServer } from '../test/servers/whilter';

async function main(): Promise<void> {
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
	process.stdout.write(`${JSON.stringify({ s3: { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }, whilter: whilter.url })}\n`);
	process.stdin.resume();
	process.stdin.on('end', () => {
		void Promise.all([whilter.close(), s3.close()]).then(() => process.exit(0));
	});
}

void main();
