import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { Transform, pipeline } from 'node:stream';
import type { Readable } from 'node:stream';

import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { HeadObjectCommandOutput } from '@aws-sdk/client-s3';

import { InputError } from '../../shared/errors';
import { secondsText } from '../../shared/poll';
import { failureFacts, sdkRetryStrategy } from '../../shared/retry';
import { sendInParts } from './partUpload';
import type { WhilterCredentials } from './transport';

/** Where Whilter picks batch files up: the client's S3 drop from the whilterApi credential. */
export interface S3Drop {
	bucket: string;
	prefix: string;
	region: string;
	accessKeyId: string;
	secretAccessKey: string;
	endpoint?: string;
	forcePathStyle: boolean;
}

/**
 * S3's smallest part: the upload holds at most PARTS_IN_FLIGHT + 1 parts (one filling while the
 * others are sent), so the part size is most of the upload's memory. The limit of 10,000 parts still
 * allows a ZIP of 48 GiB.
 */
export const PART_SIZE_BYTES = 5 * 1024 * 1024;
/** Parts in flight at once: each is held in memory while it is sent, so this bounds the upload's memory. */
export const PARTS_IN_FLIGHT = 2;

export function s3DropFromCredentials(
	credentials: WhilterCredentials,
	/** Why the drop is needed, for the error when it is not set up (the results reader also uses it). */
	need = 'Whilter Batch needs the S3 drop to upload the file to',
): S3Drop {
	const missing = (
		[
			['s3Bucket', 'S3 Bucket'],
			['s3AccessKeyId', 'S3 Access Key ID'],
			['s3SecretAccessKey', 'S3 Secret Access Key'],
		] as const
	)
		.filter(([key]) => !String(credentials[key] ?? '').trim())
		.map(([, label]) => label);
	if (missing.length) {
		throw new InputError(`The Whilter credential has no ${missing.join(', ')}: ${need}`, {
			description: 'Fill in the S3 drop section of the Whilter API credential with the bucket and keys from Whilter onboarding',
		});
	}
	const endpoint = String(credentials.s3Endpoint ?? '').trim();
	return {
		bucket: String(credentials.s3Bucket).trim(),
		prefix: String(credentials.s3Prefix ?? '').trim().replace(/^\/+|\/+$/g, ''),
		region: String(credentials.s3Region ?? '').trim() || 'us-east-1',
		accessKeyId: String(credentials.s3AccessKeyId).trim(),
		secretAccessKey: String(credentials.s3SecretAccessKey),
		endpoint: endpoint || undefined,
		forcePathStyle: credentials.s3ForcePathStyle === true,
	};
}

/** S3 refuses longer keys, but only once the upload has started: checked before. */
export const MAX_KEY_BYTES = 1024;

export function objectKey(drop: S3Drop, fileName: string): string {
	const key = drop.prefix ? `${drop.prefix}/${fileName}` : fileName;
	const bytes = Buffer.byteLength(key, 'utf8');
	if (bytes > MAX_KEY_BYTES) {
		throw new InputError(`The S3 key "${key.slice(0, 80)}…" is ${bytes} bytes long; S3 allows at most ${MAX_KEY_BYTES}`, {
			description: 'Shorten the campaign name, or the S3 Key Prefix of the Whilter credential',
		});
	}
	return key;
}

/**
 * How long an S3 call may wait. `connectMs`: for the connection. `idleMs`: for the next byte, whichever
 * way it goes (a part still being sent, S3's answer, the next chunk of a file being read), so a large
 * file on a slow link is never cut off while bytes flow, and a store that accepted the connection and
 * went silent fails the call instead of holding the execution for ever. A timed-out call is not
 * retried: the node stops after the time it was given.
 */
export interface S3Timeouts {
	connectMs: number;
	idleMs: number;
}

export const S3_TIMEOUTS: Readonly<S3Timeouts> = Object.freeze({ connectMs: 10_000, idleMs: 120_000 });

/** The timeouts for a longest silence of `seconds`; connecting never waits longer than the default. */
export function s3TimeoutsFor(seconds: number | undefined): S3Timeouts {
	if (seconds === undefined) return { ...S3_TIMEOUTS };
	const idleMs = Math.round(seconds * 1000);
	return { connectMs: Math.min(S3_TIMEOUTS.connectMs, idleMs), idleMs };
}

/** The store as a user would recognise it: the credential's endpoint, or AWS's for the region. */
export function storeOf(drop: S3Drop): string {
	return drop.endpoint ?? `https://s3.${drop.region}.amazonaws.com`;
}

/**
 * The IAM actions each S3 call of the drop needs. Multipart calls are authorised by s3:PutObject;
 * HeadObject by s3:GetObject. ListParts (s3:ListMultipartUploadParts) is never called.
 */
const IAM_ACTION: Record<string, string> = {
	HeadObject: 's3:GetObject',
	GetObject: 's3:GetObject',
	PutObject: 's3:PutObject',
	CreateMultipartUpload: 's3:PutObject',
	UploadPart: 's3:PutObject',
	CompleteMultipartUpload: 's3:PutObject',
	AbortMultipartUpload: 's3:AbortMultipartUpload',
};

/** Every action the drop's keys need: the batch upload (HeadObject, PutObject, multipart, abort) and reading results files. */
export const DROP_IAM_ACTIONS = ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'] as const;

/**
 * S3's refusal in words that say what to check in the Whilter credential, or undefined when the
 * failure is not one of the refusals a setting explains. `reason` names S3's code; `check` is
 * the setting (or the machine's clock, or the keys' IAM permissions) to look at.
 */
export function explainS3Failure(error: unknown, drop: S3Drop): { reason: string; check: string } | undefined {
	const e = (error ?? {}) as { name?: unknown; Code?: unknown; message?: unknown; Region?: unknown; ServerTime?: unknown; RequestTime?: unknown };
	const code = typeof e.Code === 'string' ? e.Code : typeof e.name === 'string' ? e.name : '';
	const message = typeof e.message === 'string' ? e.message : '';
	const call = s3CallOf(error);
	switch (code) {
		case 'SignatureDoesNotMatch':
			return {
				reason: 'S3 refused the request: the signature does not match (SignatureDoesNotMatch)',
				check: `Check the S3 Secret Access Key of the Whilter credential: it does not belong to access key ID "${drop.accessKeyId}"`,
			};
		case 'InvalidAccessKeyId':
			return {
				reason: `S3 does not know the access key ID "${drop.accessKeyId}" (InvalidAccessKeyId)`,
				check: 'Check the S3 Access Key ID of the Whilter credential (a deleted or deactivated key, or a key of another account or store)',
			};
		case 'AuthorizationHeaderMalformed': {
			const expected = typeof e.Region === 'string' ? e.Region : /expecting '([^']+)'/.exec(message)?.[1];
			if (!expected && !/region/i.test(message)) return undefined;
			return {
				reason: `S3 refused the region "${drop.region}"${expected ? `: the store expects "${expected}"` : ''} (AuthorizationHeaderMalformed)`,
				check: `Check the S3 Region of the Whilter credential${expected ? `: set it to "${expected}"` : ''}`,
			};
		}
		case 'RequestTimeTooSkewed': {
			const times = typeof e.RequestTime === 'string' && typeof e.ServerTime === 'string' ? ` (the request said ${e.RequestTime}, the store ${e.ServerTime})` : '';
			return {
				reason: `S3 refused the request time: the clock of the n8n machine is more than 15 minutes off the store's${times} (RequestTimeTooSkewed)`,
				check: 'Check the clock of the n8n machine (NTP, time zone of the system clock): S3 accepts requests within 15 minutes of its own time',
			};
		}
		case 'AccessDenied': {
			const action = call ? IAM_ACTION[call] : undefined;
			return {
				reason: `S3 denied ${call ?? 'the call'} to access key ID "${drop.accessKeyId}" (AccessDenied)`,
				check: `Check the IAM permissions of the access key${action ? `: ${call} needs ${action}` : ''}. The S3 drop needs ${DROP_IAM_ACTIONS.join(', ')} on arn:aws:s3:::${drop.bucket}/${drop.prefix ? `${drop.prefix}/` : ''}* (s3:GetObject also covers HeadObject; the multipart calls are covered by s3:PutObject)`,
			};
		}
		case 'NoSuchBucket':
			return {
				reason: `the store has no bucket "${drop.bucket}" (NoSuchBucket)`,
				check: 'Check the S3 Bucket of the Whilter credential (and that the S3 Endpoint and Region are the store Whilter gave you)',
			};
		default:
			return undefined;
	}
}

/** The S3 operation that failed (PutObject, UploadPart, GetObject…), set on every error an S3 call throws. */
export function s3CallOf(error: unknown): string | undefined {
	const call = (error as { s3Call?: unknown } | undefined)?.s3Call;
	return typeof call === 'string' ? call : undefined;
}

function isTimeout(error: unknown): error is Error {
	return error instanceof Error && error.name === 'TimeoutError';
}

/**
 * The SDK's timeout messages name neither S3, the operation, the bucket nor the key ("the request
 * socket timed out after 120000 ms of inactivity"): every S3 error gets the operation it came from,
 * and a timeout a message saying all of it, wherever it surfaces (the upload, a results file read).
 */
function nameTheCall(client: S3Client, timeouts: S3Timeouts): void {
	const explain = (error: Error, call: string, input: { Bucket?: unknown; Key?: unknown }) => {
		if (error.message.startsWith('S3 ')) return;
		const where = `${call}, bucket "${String(input.Bucket)}", key "${String(input.Key)}"`;
		error.message = /establish a connection/i.test(error.message)
			? `S3 accepted no connection within ${secondsText(timeouts.connectMs)} (${where})`
			: `S3 sent nothing for ${secondsText(timeouts.idleMs)} (${where}), so the call was given up`;
	};
	client.middlewareStack.add(
		(next, context) => async (args) => {
			const call = (context.commandName ?? 'S3 call').replace(/Command$/, '');
			const input = args.input as { Bucket?: unknown; Key?: unknown };
			let failure: unknown;
			try {
				const result = await next(args);
				// A body that stalls after the answer began (GetObject) fails its stream, not this call.
				const body = (result.output as { Body?: unknown }).Body;
				if (body && typeof (body as Readable).once === 'function') {
					(body as Readable).once('error', (error) => {
						if (isTimeout(error)) explain(error, call, input);
					});
				}
				return result;
			} catch (error) {
				failure = error;
			}
			if (failure && typeof failure === 'object') Object.assign(failure, { s3Call: call });
			if (isTimeout(failure)) explain(failure, call, input);
			throw failure;
		},
		{ step: 'initialize', name: 'whilterNameTheS3Call' },
	);
}

/**
 * n8n routes outbound HTTP through a proxy (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY) by
 * replacing Node's global agents with its own: n8n 2.41 in every process, 2.8 and 1.x in the main
 * process. The AWS SDK makes agents of its own and would go around the proxy, so where n8n has put
 * its agents in place the S3 client uses them; otherwise it keeps the SDK's.
 */
function proxyAgentsOfN8n(): { httpAgent?: http.Agent; httpsAgent?: https.Agent } {
	return {
		...(http.globalAgent.constructor !== http.Agent ? { httpAgent: http.globalAgent } : {}),
		...(https.globalAgent.constructor !== https.Agent ? { httpsAgent: https.globalAgent } : {}),
	};
}

export function createS3Client(drop: S3Drop, abortSignal?: AbortSignal, timeouts: S3Timeouts = S3_TIMEOUTS): S3Client {
	const client = new S3Client({
		region: drop.region,
		credentials: { accessKeyId: drop.accessKeyId, secretAccessKey: drop.secretAccessKey },
		...(drop.endpoint
			? {
					endpoint: drop.endpoint,
					// Many S3-compatible stores mis-handle the SDK's default aws-chunked checksum trailer
					// on streamed bodies (s3rver stores the object corrupted): only send checksums when the
					// operation requires one.
					requestChecksumCalculation: 'WHEN_REQUIRED' as const,
					responseChecksumValidation: 'WHEN_REQUIRED' as const,
				}
			: {}),
		forcePathStyle: drop.forcePathStyle,
		retryStrategy: sdkRetryStrategy({ abortSignal }),
		// socketTimeout is the idle timeout. requestTimeout would bound the whole request (a 5 MiB
		// part on a slow link included) and, in this SDK, only logs a warning unless told to throw.
		requestHandler: { connectionTimeout: timeouts.connectMs, socketTimeout: timeouts.idleMs, ...proxyAgentsOfN8n() },
	});
	nameTheCall(client, timeouts);
	return client;
}

export interface UploadResult {
	bucket: string;
	key: string;
	bytes: number;
	etag?: string;
	/** False when the store answered the conditional write with 501: the check before the upload was then the only guard. */
	conditionalWrite?: boolean;
}

/** The drop already holds a file at the key, and the upload was told not to replace it. Nothing was changed. */
export class ExistingObjectError extends Error {
	constructor(
		readonly bucket: string,
		readonly key: string,
		/** When the file there was uploaded, when S3 said. */
		readonly lastModified: Date | undefined,
	) {
		super(`The S3 drop already holds a file at bucket "${bucket}", key "${key}"`);
		this.name = 'ExistingObjectError';
	}
}

/** Marks an object as this upload's: a 412 to a write retried after a lost answer is then told from another run's file. */
const UPLOAD_MARK_METADATA = 'n8n-upload-mark';

/**
 * The object at the key, or undefined when there is none, or when HEAD was refused (403, 400): an
 * answer to HEAD has no body, so it cannot say why (wrong secret, region, clock, permissions). The
 * write that follows gets S3's reason in full, and its condition still guards the key.
 */
async function headObject(client: S3Client, bucket: string, key: string, abortSignal?: AbortSignal): Promise<HeadObjectCommandOutput | undefined> {
	let failure: unknown;
	try {
		return await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), abortSignal ? { abortSignal } : {});
	} catch (error) {
		failure = error;
	}
	const status = failureFacts(failure).status;
	if (status === 404 || status === 403 || status === 400) return undefined;
	throw failure;
}

function isPreconditionFailed(error: unknown): boolean {
	return failureFacts(error).status === 412 || (error as { name?: string } | undefined)?.name === 'PreconditionFailed';
}

/**
 * Some S3-compatible stores answer `If-None-Match` with 501 NotImplemented. The request (PutObject, or
 * CompleteMultipartUpload with the parts already sent) is then sent once more without it, and
 * `onUnsupported` is told. Runs before signing and retries, so the second request is signed as sent.
 */
function withoutConditionWhenUnsupported(client: S3Client, onUnsupported: () => void): void {
	client.middlewareStack.add(
		(next) => async (args) => {
			let failure: unknown;
			try {
				return await next(args);
			} catch (error) {
				failure = error;
			}
			const headers = (args.request as { headers?: Record<string, string> } | undefined)?.headers;
			const header = headers ? Object.keys(headers).find((name) => name.toLowerCase() === 'if-none-match') : undefined;
			if (!headers || !header || failureFacts(failure).status !== 501) throw failure;
			onUnsupported();
			delete headers[header];
			return await next(args);
		},
		{ step: 'build', name: 'whilterConditionalWriteFallback' },
	);
}

/**
 * Streams a body into `<prefix>/<file name>` as a multipart upload (one PUT when it fits a part).
 * On failure the multipart upload is aborted so no half file is left for Whilter to find.
 *
 * Unless `replaceExisting`, an object already at the key is never replaced, in two steps:
 * - HeadObject first: an existing file is refused before any byte is sent (not after minutes of
 *   upload), and its LastModified tells the user when the earlier run put it there;
 * - the write itself is conditional (`If-None-Match: *` on PutObject and CompleteMultipartUpload), so a
 *   run that writes the same key between the check and the end of this upload is not overwritten
 *   either: S3 answers 412 and the multipart upload is aborted.
 * A store that answers the condition with 501 gets the write again without it; the check before is
 * then the only guard.
 */
export async function uploadToDrop(
	drop: S3Drop,
	key: string,
	body: Readable,
	options: { contentType: string; abortSignal?: AbortSignal; replaceExisting?: boolean; timeouts?: S3Timeouts },
): Promise<UploadResult> {
	const client = createS3Client(drop, options.abortSignal, options.timeouts);
	const guard = options.replaceExisting !== true;
	const token = randomBytes(12).toString('hex');
	let conditionalWrite = guard;
	let bytes = 0;
	let bodyError: unknown;
	// Counts the bytes on their way to S3; pipeline carries a failing body (a bad row found
	// mid-stream) into the upload, which then fails instead of finishing with what it had.
	const counted = new Transform({
		transform(chunk: Buffer, _encoding, done) {
			bytes += chunk.length;
			done(null, chunk);
		},
	});
	// Joined before the first await: a body that fails while S3 is asked about the key (a bad row)
	// must have a listener, or its 'error' event would be unhandled and end the process.
	pipeline(body, counted, (error) => {
		if (error) bodyError = error;
	});
	try {
		if (guard) {
			withoutConditionWhenUnsupported(client, () => (conditionalWrite = false));
			const existing = await headObject(client, drop.bucket, key, options.abortSignal);
			if (existing) throw new ExistingObjectError(drop.bucket, key, existing.LastModified);
		}
		let etag: string | undefined;
		let failure: unknown;
		try {
			etag = await sendInParts(
				client,
				// The condition goes with PutObject and CompleteMultipartUpload, the mark with the object.
				{ Bucket: drop.bucket, Key: key, ContentType: options.contentType, ...(guard ? { IfNoneMatch: '*', Metadata: { [UPLOAD_MARK_METADATA]: token } } : {}) },
				counted,
				{ partSize: PART_SIZE_BYTES, inFlight: PARTS_IN_FLIGHT, abortSignal: options.abortSignal },
			);
		} catch (error) {
			failure = error;
		}
		if (failure !== undefined) {
			if (bodyError || !guard || !isPreconditionFailed(failure)) throw failure;
			const existing = await headObject(client, drop.bucket, key, options.abortSignal).catch(() => undefined);
			// This upload's own write, stored before its answer was lost and refused when retried.
			if (existing?.Metadata?.[UPLOAD_MARK_METADATA] !== token) throw new ExistingObjectError(drop.bucket, key, existing?.LastModified);
			etag = existing.ETag;
		}
		if (bodyError) throw bodyError;
		return { bucket: drop.bucket, key, bytes, etag: etag?.replace(/"/g, ''), ...(guard ? { conditionalWrite } : {}) };
	} catch (error) {
		// Nothing reads the body any more: release it (and the file or binary stream behind it).
		counted.destroy();
		body.destroy();
		throw bodyError ?? error;
	} finally {
		client.destroy();
	}
}
