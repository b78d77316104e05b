/**
 * The Whilter set-up most node tests share: a real S3-compatible server holding the client's drop, the
 * Whilter contract server reading and writing that drop, and a whilterApi credential pointing at both.
 */
import type { IDataObject } from 'n8n-workflow';

import { startServer } from '../servers/http';
import type { ContractServer, Handler } from '../servers/http';
import { startS3Server } from '../servers/s3';
import type { S3Server } from '../servers/s3';
import { startWhilterServer } from '../servers/whilter';
import type { WhilterServer, WhilterServerOptions } from '../servers/whilter';
import { CredentialStore, shutdownN8nCore } from './run';

/** The client the tests sign in as: the batch API's path segment and the token endpoint's client credentials. */
export const WHILTER_CLIENT = { client: 'acme', clientId: 'acme-client', clientSecret: 'acme-secret-value' } as const;

/** The client's S3 drop: where the node uploads its ZIPs and Whilter writes the output CSVs. */
export interface S3Drop {
	s3: S3Server;
	bucket: string;
	/** The key prefix the credential uploads under. */
	prefix: string;
}

export const DEFAULT_DROP = { bucket: 'whilter-drop', prefix: 'incoming/acme' } as const;

/**
 * A whilterApi credential's data for the contract server: client credentials against its token
 * endpoint, and the S3 drop when one is given. Spread it to change a field (a wrong secret, an API key).
 */
export function whilterCredentialData(whilter: Pick<WhilterServer, 'url'>, drop?: S3Drop): IDataObject {
	return {
		baseUrl: whilter.url,
		client: WHILTER_CLIENT.client,
		authentication: 'clientCredentials',
		clientId: WHILTER_CLIENT.clientId,
		clientSecret: WHILTER_CLIENT.clientSecret,
		tokenUrl: `${whilter.url}/getToken/token`,
		...(drop
			? {
					s3Bucket: drop.bucket,
					s3Prefix: drop.prefix,
					s3Region: drop.s3.region,
					s3AccessKeyId: drop.s3.accessKeyId,
					s3SecretAccessKey: drop.s3.secretAccessKey,
					s3Endpoint: drop.s3.endpoint,
					s3ForcePathStyle: true,
				}
			: {}),
	};
}

export interface WhilterWithS3 {
	s3: S3Server;
	whilter: WhilterServer;
	drop: S3Drop;
	/** Closes both, Whilter first (a completion still writing to the drop is awaited by it). */
	close(): Promise<void>;
}

/**
 * Starts S3 with the drop's bucket and the Whilter contract server for WHILTER_CLIENT on that drop.
 * `server` adds to or changes the Whilter server's options (an API key, another client secret).
 */
export async function startWhilterWithS3(
	options: { bucket?: string; prefix?: string; server?: Partial<Omit<WhilterServerOptions, 's3'>> } = {},
): Promise<WhilterWithS3> {
	const bucket = options.bucket ?? DEFAULT_DROP.bucket;
	const s3 = await startS3Server({ buckets: [bucket] });
	const whilter = await startWhilterServer({
		...WHILTER_CLIENT,
		...options.server,
		s3: { endpoint: s3.endpoint, bucket, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
	});
	return {
		s3,
		whilter,
		drop: { s3, bucket, prefix: options.prefix ?? DEFAULT_DROP.prefix },
		close: async () => {
			await whilter.close();
			await s3.close();
		},
	};
}

/** A Whilter stand-in: a loopback server answering as the test decides, and a static-token credential for it. */
export interface WhilterStandIn {
	server: ContractServer;
	store: CredentialStore;
	credential: { id: string; name: string };
}

/**
 * For tests that need Whilter to say something the contract server would not (a word it does not
 * know, a dot-segment id, any file): the requests are recorded and emptied before each test, and the
 * server and n8n-core are shut down after the file. The credential uses a static token, so no token
 * endpoint is needed.
 */
export function useWhilterStandIn(handler: Handler): WhilterStandIn {
	const standIn = {} as WhilterStandIn;
	beforeAll(async () => {
		standIn.server = await startServer(handler);
		standIn.store = new CredentialStore();
		standIn.credential = standIn.store.add('whilterApi', {
			baseUrl: standIn.server.url,
			client: WHILTER_CLIENT.client,
			authentication: 'accessToken',
			accessToken: 'static-token-0123456789',
		});
	});
	beforeEach(() => {
		standIn.server.requests.length = 0;
	});
	afterAll(async () => {
		await standIn.server?.close();
		await shutdownN8nCore();
	});
	return standIn;
}

/** The Whilter contract server on its S3 drop, with a client-credentials credential for it. */
export interface WhilterWithS3Bed extends WhilterWithS3 {
	store: CredentialStore;
	credential: { id: string; name: string };
}

/**
 * For the Whilter Batch tests: S3 and the contract server started before the file's tests, a
 * credential for them, and everything (n8n-core included) shut down after the file.
 */
export function useWhilterWithS3(): WhilterWithS3Bed {
	const bed = {} as WhilterWithS3Bed;
	beforeAll(async () => {
		Object.assign(bed, await startWhilterWithS3());
		bed.store = new CredentialStore();
		bed.credential = bed.store.add('whilterApi', whilterCredentialData(bed.whilter, bed.drop));
	});
	afterAll(async () => {
		await bed.close?.();
		await shutdownN8nCore();
	});
	return bed;
}

/** A task the contract server knows, moved on `steps` times (1: in-progress, 2: completed); no callback URL of its own. */
export async function seedTaskAt(whilter: WhilterServer, steps: 0 | 1 | 2, options: { rows: number; campaign: string }): Promise<string> {
	const id = await whilter.seedTask(options);
	for (let i = 0; i < steps; i++) await whilter.advance(id);
	return id;
}

/** The status lookups the server received since `mark` (a length of `whilter.requests`), by path. */
export function statusLookupsSince(whilter: WhilterServer, mark: number, pathStart = '/acme/task/status/'): string[] {
	return whilter.requests
		.slice(mark)
		.filter((r) => r.method === 'GET' && r.path.startsWith(pathStart))
		.map((r) => r.path);
}
