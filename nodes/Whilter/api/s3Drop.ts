import { Transform, pipeline } from 'node:stream';
import type { Readable } from 'node:stream';

import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

import { InputError } from '../../shared/errors';
import { sdkRetryStrategy } from '../../shared/retry';
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

export const PART_SIZE_BYTES = 8 * 1024 * 1024;
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

export function createS3Client(drop: S3Drop, abortSignal?: AbortSignal): S3Client {
	return new S3Client({
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
	});
}

export interface UploadResult {
	bucket: string;
	key: string;
	bytes: number;
	etag?: string;
}

/**
 * Streams a body into `<prefix>/<file name>` as a multipart upload (one PUT when it fits a part).
 * On failure the multipart upload is aborted so no half file is left for Whilter to find.
 */
export async function uploadToDrop(
	drop: S3Drop,
	key: string,
	body: Readable,
	options: { contentType: string; abortSignal?: AbortSignal },
): Promise<UploadResult> {
	const client = createS3Client(drop, options.abortSignal);
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
	pipeline(body, counted, (error) => {
		if (error) bodyError = error;
	});
	const upload = new Upload({
		client,
		params: { Bucket: drop.bucket, Key: key, Body: counted, ContentType: options.contentType },
		partSize: PART_SIZE_BYTES,
		queueSize: PARTS_IN_FLIGHT,
		leavePartsOnError: false,
	});
	const onAbort = () => void upload.abort().catch(() => undefined);
	options.abortSignal?.addEventListener('abort', onAbort, { once: true });
	try {
		const result = await upload.done();
		if (bodyError) throw bodyError;
		return { bucket: drop.bucket, key, bytes, etag: result.ETag?.replace(/"/g, '') };
	} catch (error) {
		throw bodyError ?? error;
	} finally {
		options.abortSignal?.removeEventListener('abort', onAbort);
		client.destroy();
	}
}
