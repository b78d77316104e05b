/**
 * The n8n each measurement runs in: the pinned n8n with this package's dist/, the two credentials
 * the workflows use, and a warm-up run before anything is measured.
 */
import type { S3Client } from '@aws-sdk/client-s3';

import { startN8n } from '../../e2e/n8n';
import type { N8nHandle } from '../../e2e/n8n';
import { DIST_DIR } from '../../e2e/package';
import { BUCKET, CLIENT, CLIENT_ID, CLIENT_SECRET, PREFIX } from './config';
import type { RunPath } from './config';
import { describeRun, mb, seconds } from './report';
import { describeDescendants, sampleTree } from './rss';
import { runPath } from './runs';
import type { RunContext } from './runs';
import type { ServerAddresses } from './servers';
import type { CredentialIds } from './workflows';

/** What lives for the whole benchmark: the servers, a client that reads S3 back, where lines go. */
export interface Bench {
	servers: ServerAddresses;
	s3: S3Client;
	out: (line: string) => void;
	/** The task runner's process is named once, at the first warm-up. */
	childrenShown?: boolean;
}

/** The S3 credential for the built-in path and the Whilter credential (client credentials) for Whilter Batch. */
async function createCredentials(n8n: N8nHandle, a: ServerAddresses): Promise<CredentialIds> {
	const aws = await n8n.createCredential('S3 drop (bench)', 'aws', {
		region: a.region,
		accessKeyId: a.accessKeyId,
		secretAccessKey: a.secretAccessKey,
		temporaryCredentials: false,
		customEndpoints: true,
		s3Endpoint: a.s3Endpoint,
	});
	const whilter = await n8n.createCredential('Whilter (bench)', 'whilterApi', {
		baseUrl: a.whilter,
		client: CLIENT,
		authentication: 'clientCredentials',
		clientId: CLIENT_ID,
		clientSecret: CLIENT_SECRET,
		tokenUrl: `${a.whilter}/getToken/token`,
		s3Bucket: BUCKET,
		s3Prefix: PREFIX,
		s3Region: a.region,
		s3AccessKeyId: a.accessKeyId,
		s3SecretAccessKey: a.secretAccessKey,
		s3Endpoint: a.s3Endpoint,
		s3ForcePathStyle: true,
	});
	return { aws: aws.id, whilter: whilter.id };
}

/** An n8n with the package and the two credentials (and `env`); stopped (and its log tail printed on failure) when `work` ends. */
export async function withN8n<T>(bench: Bench, work: (ctx: RunContext) => Promise<T>, env?: Record<string, string>): Promise<T> {
	const n8n = await startN8n({ extensionsDir: DIST_DIR, env });
	try {
		const ids = await createCredentials(n8n, bench.servers);
		bench.out(`n8n pid ${n8n.pid} ready in ${seconds(n8n.startupMs)} s, RSS ${mb(sampleTree(n8n.pid).mainKb)} MB`);
		return await work({ n8n, ids, servers: bench.servers, s3: bench.s3 });
	} catch (error) {
		bench.out(`--- n8n log (tail) ---\n${n8n.log().split('\n').slice(-40).join('\n')}`);
		throw error;
	} finally {
		await n8n.stop();
	}
}

/** Warm-up with 1,000 rows (for whilter-file, the 1,000-row file at `csvPath`): loads the path's modules and starts the task runner, so no measured run pays for that. */
export async function warmUp(bench: Bench, ctx: RunContext, path: RunPath, csvPath?: string): Promise<void> {
	const warm = await runPath(ctx, path, 0, 1000, csvPath);
	bench.out(`  warm-up ${describeRun(warm)}`);
	if (!bench.childrenShown) {
		bench.childrenShown = true;
		bench.out(`  n8n's child processes (counted as "runner"): ${describeDescendants(ctx.n8n.pid).join('; ') || 'none'}`);
	}
}
