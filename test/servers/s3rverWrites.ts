/**
 * s3rver's filesystem store resolves a write once its hashing stream has seen the bytes, not once the
 * file stream has written them, so it can answer a PutObject, UploadPart or CompleteMultipartUpload
 * 200 before the bytes are on disk: a GetObject right after the answer can then get NoSuchKey or a
 * short object on a busy machine, and a CompleteMultipartUpload can read a part still being written.
 * S3 gives read-after-write consistency. These writes replace the store's two writing methods: the
 * bytes go to a staging file outside s3rver's tree (a file inside it would be listed, or vanish under
 * a listing), which is renamed into place once it is closed, so an answer means the bytes are there
 * and a reader sees the old file or the new one, never half of one.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** The part of s3rver's FilesystemStore (lib/stores/filesystem.js, version 3) these writes use and replace. */
export interface S3rverStore {
	getResourcePath(bucket: string, key: string | undefined, resource: string): string;
	putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
	putObject(object: { bucket: string; key: string; content: Buffer | Readable; metadata: unknown }): Promise<Written>;
	putPart(bucket: string, uploadId: string, partNumber: number, content: Readable): Promise<Written>;
}

interface Written {
	size: number;
	md5: string;
}

interface Staged extends Written {
	/** The staging file holding the bytes, closed. */
	file: string;
}

/** Writes `content` to a new file in `staging`, counting and hashing it; resolves once the file is closed. */
async function stage(content: Buffer | Readable, staging: string): Promise<Staged> {
	const hash = createHash('md5');
	let size = 0;
	const counting = new Transform({
		transform(chunk: Buffer, _encoding, callback) {
			hash.update(chunk);
			size += chunk.length;
			callback(null, chunk);
		},
	});
	const file = join(staging, randomUUID());
	try {
		await pipeline(Buffer.isBuffer(content) ? Readable.from([content]) : content, counting, createWriteStream(file));
	} catch (error) {
		await rm(file, { force: true });
		throw error;
	}
	return { file, size, md5: hash.digest('hex') };
}

/** Moves a staged file to `path` (its folder made) in one step, so a reader finds the old file or the whole new one. */
async function place(staged: Staged, path: string): Promise<Written> {
	try {
		await rename(staged.file, path);
	} catch (error) {
		await rm(staged.file, { force: true });
		throw error;
	}
	return { size: staged.size, md5: staged.md5 };
}

/**
 * Makes the store's object and part writes resolve only once their bytes are in place. Each file's
 * ETag (and an object's metadata) is written before its bytes are moved in: s3rver finds an object
 * or a part by its bytes' file, so once it is found, all of it is there.
 */
export function writeBeforeAnswering(store: S3rverStore, staging: string): void {
	store.putObject = async (object) => {
		const path = store.getResourcePath(object.bucket, object.key, 'object');
		const staged = await stage(object.content, staging);
		await mkdir(dirname(path), { recursive: true });
		await store.putMetadata(object.bucket, object.key, object.metadata, staged.md5);
		return await place(staged, path);
	};
	store.putPart = async (bucket, uploadId, partNumber, content) => {
		const path = join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId, String(partNumber));
		const staged = await stage(content, staging);
		await mkdir(dirname(path), { recursive: true });
		await writeFile(`${path}.md5`, staged.md5);
		return await place(staged, path);
	};
}
