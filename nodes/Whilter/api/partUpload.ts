import {
	AbortMultipartUploadCommand,
	CompleteMultipartUploadCommand,
	CreateMultipartUploadCommand,
	PutObjectCommand,
	UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { CompletedPart, S3Client, UploadPartCommandOutput } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';

import { giveTurn, turnClock } from '../../shared/turns';

/** What every call of one upload carries: the object's address, and for the write itself its type, condition and metadata. */
export interface PartUploadParams {
	Bucket: string;
	Key: string;
	ContentType?: string;
	IfNoneMatch?: string;
	Metadata?: Record<string, string>;
}

export interface PartUploadOptions {
	/** Every part but the last is exactly this long (S3: 5 MiB at least). */
	partSize: number;
	/** Parts sent at once; the next part fills meanwhile. */
	inFlight: number;
	abortSignal?: AbortSignal;
	/** Makes a part buffer (tests count them); Buffer.allocUnsafe by default. */
	allocate?: (size: number) => Buffer;
}

/** S3 numbers parts 1 to 10,000. */
export const MAX_PARTS = 10_000;

function abortError(): Error {
	return Object.assign(new Error('Upload aborted.'), { name: 'AbortError' });
}

/** The part's checksums as S3 returned them: CompleteMultipartUpload must repeat them when the store computed any. */
function checksumsOf(output: UploadPartCommandOutput): Partial<CompletedPart> {
	const checksums: Partial<CompletedPart> = {};
	for (const name of ['ChecksumCRC32', 'ChecksumCRC32C', 'ChecksumCRC64NVME', 'ChecksumSHA1', 'ChecksumSHA256'] as const) {
		if (output[name]) checksums[name] = output[name];
	}
	return checksums;
}

/**
 * Reads the body through its 'data' events: `take(chunk)` copies what it can and returns how much;
 * when it took less, `makeRoom()` sends the full part (the body paused meanwhile) and the rest is
 * taken. The body also pauses for a turn of the event loop once a turn's budget is spent.
 *
 * Not the body's async iterator, which lib-storage reads through: taking every chunk in a turn of
 * its own let the streams behind fill up, their chunks lived through two young-generation
 * collections, and their memory then waited in V8's old space for a full one (about 14 MB for a
 * million rows). Chunks taken as they come are dropped young. Resolves at the body's end.
 */
async function readBody(body: Readable, take: (chunk: Buffer, at: number) => number, makeRoom: () => Promise<void>, stopped: AbortSignal, whyStopped: () => unknown): Promise<void> {
	// The upload starts reading as it sets itself up (its S3 client, the check that the key is free):
	// a turn between the two keeps them from holding the event loop as one block.
	await giveTurn();
	const detach: Array<() => void> = [];
	try {
		await new Promise<void>((resolve, reject) => {
			let handingOver: Promise<void> | undefined;
			let yielding = false;
			let ended = false;
			const clock = turnClock();
			const onData = (chunk: Buffer) => {
				let at = take(chunk, 0);
				if (at === chunk.length) {
					if (!yielding && clock.due()) {
						yielding = true;
						body.pause();
						void clock.next().then(() => {
							yielding = false;
							if (!handingOver) body.resume();
						});
					}
					return;
				}
				body.pause();
				handingOver = (async () => {
					while (at < chunk.length) {
						await makeRoom();
						at = take(chunk, at);
					}
					handingOver = undefined;
					if (!yielding) body.resume();
				})();
				handingOver.catch(reject);
			};
			// The body may end while the part before its last bytes is still being handed over.
			const onEnd = () => {
				ended = true;
				void (handingOver ?? Promise.resolve()).then(resolve, reject);
			};
			// Destroyed without an error before its end: nothing else would end this wait.
			const onClose = () => {
				if (!ended) reject(new Error('The file being uploaded was closed before all of it was read'));
			};
			const onStop = () => reject(whyStopped());
			body.on('data', onData);
			body.once('end', onEnd);
			body.once('error', reject);
			body.once('close', onClose);
			stopped.addEventListener('abort', onStop, { once: true });
			detach.push(
				() => body.off('data', onData),
				() => body.off('end', onEnd),
				() => body.off('error', reject),
				() => body.off('close', onClose),
				() => stopped.removeEventListener('abort', onStop),
			);
			if (stopped.aborted) onStop();
			// The body may have failed or ended before the upload began (a bad first row found while S3 was asked about the key).
			else if (body.errored) reject(body.errored);
			else if (body.readableEnded) onEnd();
			else if (body.destroyed) onClose();
		});
	} finally {
		for (const off of detach) off();
	}
}

/**
 * Sends a stream to S3: as one PutObject when it fits one part, else as a multipart upload, which is
 * aborted when anything fails so that no parts are left behind. Returns the object's ETag.
 *
 * The bytes are copied into part-sized buffers that are made once and reused for every part: one
 * filling while up to `inFlight` are sent, so an upload holds at most (inFlight + 1) × partSize
 * however large the stream, and the parts leave nothing for the collector. (lib-storage, used
 * before, kept each part's chunks until the part was full, then joined them into a new buffer.)
 *
 * A full part is sent only when the next byte arrives: a stream that ends exactly at a part's end
 * sends that part as its last, and a stream of one part is one PutObject.
 */
export async function sendInParts(client: S3Client, params: PartUploadParams, body: Readable, options: PartUploadOptions): Promise<string | undefined> {
	const { partSize, inFlight } = options;
	const allocate = options.allocate ?? ((size: number) => Buffer.allocUnsafe(size));
	// Stops every call of this upload: the caller's cancel, or the first part that fails.
	const stop = new AbortController();
	const onAbort = () => stop.abort();
	const calls = { abortSignal: stop.signal };
	options.abortSignal?.addEventListener('abort', onAbort, { once: true });
	if (options.abortSignal?.aborted) stop.abort();

	const { Bucket, Key } = params;
	const free: Buffer[] = [];
	const sending = new Set<Promise<void>>();
	const parts: CompletedPart[] = [];
	let partFailure: { error: unknown } | undefined;
	const throwIfAPartFailed = () => {
		if (partFailure) throw partFailure.error;
	};
	const whyStopped = () => (options.abortSignal?.aborted ? abortError() : (partFailure?.error ?? abortError()));
	let uploadId: string | undefined;
	let partNumber = 0;

	const startPart = async (buffer: Buffer, length: number): Promise<void> => {
		while (sending.size >= inFlight) await Promise.race(sending);
		throwIfAPartFailed();
		if (stop.signal.aborted) throw whyStopped();
		const number = ++partNumber;
		if (number > MAX_PARTS) {
			throw new Error(`The file is larger than S3 allows for one upload: more than ${MAX_PARTS} parts of ${partSize / 1024 / 1024} MiB`);
		}
		if (uploadId === undefined) {
			// The SDK's default checksums (stores that are AWS S3) are declared when the upload is created, as S3 expects.
			const checksummed = (await client.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED';
			const create = { Bucket, Key, ContentType: params.ContentType, Metadata: params.Metadata, ...(checksummed ? { ChecksumAlgorithm: 'CRC32' as const } : {}) };
			uploadId = (await client.send(new CreateMultipartUploadCommand(create), calls)).UploadId;
			if (!uploadId) throw new Error(`S3 started no multipart upload for bucket "${Bucket}", key "${Key}" (no UploadId in its answer)`);
		}
		// Not stopped with the others: a part cut off mid-way may still be stored after the upload is
		// aborted, leaving a part behind. Each ends within the S3 timeouts, and then the upload is aborted.
		const sent: Promise<void> = client
			.send(new UploadPartCommand({ Bucket, Key, UploadId: uploadId, PartNumber: number, Body: buffer.subarray(0, length) }))
			.then((output) => {
				if (!output.ETag) throw new Error(`S3 returned no ETag for part ${number} of bucket "${Bucket}", key "${Key}"`);
				parts.push({ PartNumber: number, ETag: output.ETag, ...checksumsOf(output) });
				free.push(buffer);
			})
			.catch((error: unknown) => {
				partFailure ??= { error };
				stop.abort();
			})
			.finally(() => sending.delete(sent));
		sending.add(sent);
	};

	let current: Buffer | undefined;
	let filled = 0;
	/** Copies chunk[at…] into the part being filled; stops (returning where) at a full part that more bytes follow. */
	const take = (chunk: Buffer, at: number): number => {
		while (at < chunk.length) {
			if (current && filled === partSize) return at;
			current ??= free.pop() ?? allocate(partSize);
			const length = Math.min(chunk.length - at, partSize - filled);
			current.set(chunk.subarray(at, at + length), filled);
			filled += length;
			at += length;
		}
		return at;
	};
	/** More bytes after a full part: it is not the last one, and goes. */
	const makeRoom = async () => {
		await startPart(current!, filled);
		current = undefined;
		filled = 0;
	};

	try {
		await readBody(body, take, makeRoom, stop.signal, whyStopped);
		throwIfAPartFailed();
		if (partNumber === 0) {
			const put = await client.send(new PutObjectCommand({ ...params, Body: current ? current.subarray(0, filled) : Buffer.alloc(0) }), calls);
			return put.ETag;
		}
		await startPart(current!, filled);
		while (sending.size) await Promise.race(sending);
		throwIfAPartFailed();
		parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
		const completed = await client.send(
			new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: parts }, ...(params.IfNoneMatch ? { IfNoneMatch: params.IfNoneMatch } : {}) }),
			calls,
		);
		uploadId = undefined;
		return completed.ETag;
	} catch (error) {
		// The first part that failed says why, not the cancellation of the others it caused.
		const cause = options.abortSignal?.aborted ? abortError() : (partFailure?.error ?? error);
		stop.abort();
		while (sending.size) await Promise.allSettled([...sending]);
		if (uploadId !== undefined) {
			// Not under the stopped signal: the abort must reach S3 even when the upload was cancelled.
			await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId })).catch((abortFailure: unknown) => {
				if (cause instanceof Error && cause.cause === undefined) cause.cause = abortFailure;
			});
		}
		throw cause;
	} finally {
		options.abortSignal?.removeEventListener('abort', onAbort);
	}
}
