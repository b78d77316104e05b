/**
 * The batch file's upload to the S3 drop (uploadToDrop, sendInParts) against the S3 server: what S3
 * stores, which calls carry what, and how much memory the parts take: a fixed set of part buffers,
 * reused for every part, never a new buffer per part.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

import { S3Client, UploadPartCommand } from '@aws-sdk/client-s3';

import { sendInParts } from '../../nodes/Whilter/api/partUpload';
import { PART_SIZE_BYTES, PARTS_IN_FLIGHT, createS3Client, uploadToDrop } from '../../nodes/Whilter/api/s3Drop';
import type { S3Drop } from '../../nodes/Whilter/api/s3Drop';
import { startS3Server } from '../servers/s3';
import type { S3Server } from '../servers/s3';

const BUCKET = 'drop';
const MiB = 1024 * 1024;
let s3: S3Server;
let drop: S3Drop;

beforeAll(async () => {
	s3 = await startS3Server({ buckets: [BUCKET] });
	drop = {
		bucket: BUCKET,
		prefix: 'in',
		region: s3.region,
		accessKeyId: s3.accessKeyId,
		secretAccessKey: s3.secretAccessKey,
		endpoint: s3.endpoint,
		forcePathStyle: true,
	};
});

afterAll(async () => s3?.close());

afterEach(() => {
	s3.faults.clear();
	s3.beforeHandling = undefined;
	jest.restoreAllMocks();
});

/** `size` random bytes as a stream of 64 KiB chunks, made as it is read (failing at `failAt`); with its SHA-256 and the bytes given so far. */
function randomStream(size: number, failAt?: number): { stream: Readable; sha256: string; produced: () => number } {
	const block = randomBytes(64 * 1024);
	const hash = createHash('sha256');
	for (let sent = 0; sent < size; sent += block.length) hash.update(block.subarray(0, Math.min(block.length, size - sent)));
	let sent = 0;
	const stream = new Readable({
		read() {
			if (failAt !== undefined && sent >= failAt) {
				this.destroy(new Error('row 123456: the bad row'));
				return;
			}
			if (sent >= size) {
				this.push(null);
				return;
			}
			const chunk = Buffer.from(block.subarray(0, Math.min(block.length, size - sent)));
			sent += chunk.length;
			this.push(chunk);
		},
	});
	return { stream, sha256: hash.digest('hex'), produced: () => sent };
}

const sha256Of = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function requestsFor(key: string) {
	return s3.requests.filter((r) => r.path === `/${BUCKET}/${key}`);
}

describe('uploadToDrop', () => {
	it(`sends every part from the same ${PARTS_IN_FLIGHT + 1} buffers: memory does not grow with the file`, async () => {
		const bodies: Uint8Array[] = [];
		const send = S3Client.prototype.send;
		jest.spyOn(S3Client.prototype, 'send').mockImplementation(function (this: S3Client, command: unknown, ...rest: unknown[]) {
			if (command instanceof UploadPartCommand) bodies.push(command.input.Body as Uint8Array);
			return (send as (...args: unknown[]) => Promise<unknown>).call(this, command, ...rest);
		} as S3Client['send']);
		const size = 8 * PART_SIZE_BYTES + 12_345;
		const { stream, sha256 } = randomStream(size);

		const result = await uploadToDrop(drop, 'in/eight-parts.zip', stream, { contentType: 'application/zip' });

		expect(result.bytes).toBe(size);
		expect(sha256Of(await s3.getObjectBuffer(BUCKET, 'in/eight-parts.zip'))).toBe(sha256);
		expect(bodies).toHaveLength(9);
		expect(bodies.slice(0, 8).every((body) => body.byteLength === PART_SIZE_BYTES)).toBe(true);
		const backingStores = new Set(bodies.map((body) => body.buffer));
		expect(backingStores.size).toBeLessThanOrEqual(PARTS_IN_FLIGHT + 1);
	});

	it('a stream of exactly one part is one PutObject, with the condition and the content type', async () => {
		const { stream, sha256 } = randomStream(PART_SIZE_BYTES);
		const mark = s3.requests.length;

		await uploadToDrop(drop, 'in/one-part.zip', stream, { contentType: 'application/zip' });

		const calls = requestsFor('in/one-part.zip').filter((r) => s3.requests.indexOf(r) >= mark);
		expect(calls.map((r) => `${r.method}${/uploads|uploadId|partNumber/.test(r.query) ? ' (multipart)' : ''}`)).toEqual(['HEAD', 'PUT']);
		expect(calls[1].headers['if-none-match']).toBe('*');
		expect(calls[1].headers['content-type']).toBe('application/zip');
		expect(sha256Of(await s3.getObjectBuffer(BUCKET, 'in/one-part.zip'))).toBe(sha256);
	});

	it('a stream ending exactly at a part boundary: two full parts, nothing empty sent', async () => {
		const { stream, sha256 } = randomStream(2 * PART_SIZE_BYTES);
		const mark = s3.requests.length;

		await uploadToDrop(drop, 'in/two-parts.zip', stream, { contentType: 'application/zip' });

		const parts = requestsFor('in/two-parts.zip').filter((r) => s3.requests.indexOf(r) >= mark && /partNumber=/.test(r.query));
		expect(parts.map((r) => [r.params.get('partNumber'), r.headers['content-length']])).toEqual([
			['1', String(PART_SIZE_BYTES)],
			['2', String(PART_SIZE_BYTES)],
		]);
		const complete = requestsFor('in/two-parts.zip').find((r) => s3.requests.indexOf(r) >= mark && r.method === 'POST' && /uploadId=/.test(r.query));
		expect(complete?.headers['if-none-match']).toBe('*');
		expect(sha256Of(await s3.getObjectBuffer(BUCKET, 'in/two-parts.zip'))).toBe(sha256);
	});

	it('an empty stream is an empty object', async () => {
		await uploadToDrop(drop, 'in/empty.zip', Readable.from([]), { contentType: 'application/zip' });
		expect(await s3.getObjectBuffer(BUCKET, 'in/empty.zip')).toHaveLength(0);
	});

	it('a body that fails after parts were sent: the upload is aborted, no parts stay, the error is the body’s', async () => {
		const { stream } = randomStream(6 * PART_SIZE_BYTES, 3 * PART_SIZE_BYTES + 1000);

		await expect(uploadToDrop(drop, 'in/bad-row.zip', stream, { contentType: 'application/zip' })).rejects.toThrow('row 123456: the bad row');

		expect(s3.openUploads(BUCKET)).toEqual([]);
		await expect(s3.listKeys(BUCKET, 'in/bad-row.zip')).resolves.toEqual([]);
		expect(requestsFor('in/bad-row.zip').some((r) => r.method === 'DELETE' && /uploadId=/.test(r.query))).toBe(true);
	});
});

describe('sendInParts', () => {
	it('never has more parts at the store than it was given in flight: the next waits, the body paused', async () => {
		let release!: () => void;
		const released = new Promise<void>((resolve) => (release = resolve));
		const arrived: string[] = [];
		s3.beforeHandling = async (request) => {
			const part = request.params.get('partNumber');
			if (!part) return;
			arrived.push(part);
			if (part === '1' || part === '2') await released;
		};
		const source = randomStream(5 * MiB * 5);
		const client = createS3Client(drop);
		try {
			const upload = sendInParts(client, { Bucket: BUCKET, Key: 'in/in-flight.zip' }, source.stream, { partSize: 5 * MiB, inFlight: 2 });
			// Parts 1 and 2 are held at the store; the third is full once the body has given more than three parts.
			while (source.produced() <= 3 * 5 * MiB) await new Promise((resolve) => setImmediate(resolve));
			// Time for a third request to arrive, had it been sent.
			await new Promise((resolve) => setTimeout(resolve, 100));
			expect(arrived).toEqual(['1', '2']);
			expect(source.produced()).toBeLessThan(4 * 5 * MiB);
			release();
			await upload;
		} finally {
			client.destroy();
		}
		expect([...arrived].sort()).toEqual(['1', '2', '3', '4', '5']);
		expect(sha256Of(await s3.getObjectBuffer(BUCKET, 'in/in-flight.zip'))).toBe(source.sha256);
	});

	it('makes no more buffers than the parts in flight plus the one filling', async () => {
		let made = 0;
		const { stream, sha256 } = randomStream(5 * MiB * 7 + 1);
		const client = createS3Client(drop);
		try {
			await sendInParts(client, { Bucket: BUCKET, Key: 'in/buffers.zip' }, stream, {
				partSize: 5 * MiB,
				inFlight: 1,
				allocate: (size) => {
					made++;
					return Buffer.allocUnsafe(size);
				},
			});
		} finally {
			client.destroy();
		}
		expect(made).toBeLessThanOrEqual(2);
		expect(sha256Of(await s3.getObjectBuffer(BUCKET, 'in/buffers.zip'))).toBe(sha256);
	});

	it('cancelled while parts are at the store: rejects as aborted, the upload is aborted, no parts stay', async () => {
		const cancel = new AbortController();
		s3.beforeHandling = async (request) => {
			if (request.params.get('partNumber') === '2') cancel.abort();
		};
		const { stream } = randomStream(5 * MiB * 4);
		const client = createS3Client(drop);
		try {
			await expect(sendInParts(client, { Bucket: BUCKET, Key: 'in/cancelled.zip' }, stream, { partSize: 5 * MiB, inFlight: 2, abortSignal: cancel.signal })).rejects.toMatchObject({
				name: 'AbortError',
			});
		} finally {
			client.destroy();
		}
		expect(s3.openUploads(BUCKET)).toEqual([]);
		await expect(s3.listKeys(BUCKET, 'in/cancelled.zip')).resolves.toEqual([]);
	});

	it('a body that failed, or was closed, before the upload began: rejected with why, nothing sent', async () => {
		const failed = new Readable({ read() {} });
		failed.on('error', () => undefined);
		failed.destroy(new Error('row 2: the identifier is empty'));
		const closed = new Readable({ read() {} });
		closed.destroy();
		await new Promise((resolve) => setImmediate(resolve));
		const mark = s3.requests.length;
		const client = createS3Client(drop);
		try {
			await expect(sendInParts(client, { Bucket: BUCKET, Key: 'in/failed.zip' }, failed, { partSize: 5 * MiB, inFlight: 2 })).rejects.toThrow('row 2: the identifier is empty');
			await expect(sendInParts(client, { Bucket: BUCKET, Key: 'in/closed.zip' }, closed, { partSize: 5 * MiB, inFlight: 2 })).rejects.toThrow('closed before all of it was read');
		} finally {
			client.destroy();
		}
		expect(s3.requests.length).toBe(mark);
	});

	it("with the SDK's default checksums (as for AWS S3): declared at the create, sent with every part, the object intact", async () => {
		const client = new S3Client({
			region: s3.region,
			endpoint: s3.endpoint,
			forcePathStyle: true,
			credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
			requestChecksumCalculation: 'WHEN_SUPPORTED',
		});
		const { stream, sha256 } = randomStream(5 * MiB * 2 + 777);
		const mark = s3.requests.length;
		try {
			await sendInParts(client, { Bucket: BUCKET, Key: 'in/checksums.zip' }, stream, { partSize: 5 * MiB, inFlight: 2 });
		} finally {
			client.destroy();
		}
		const calls = s3.requests.slice(mark).filter((r) => r.path === `/${BUCKET}/in/checksums.zip`);
		const create = calls.find((r) => r.method === 'POST' && /(^|&)uploads(=|&|$)/.test(r.query));
		expect(create?.headers['x-amz-checksum-algorithm']).toBe('CRC32');
		const parts = calls.filter((r) => /partNumber=/.test(r.query));
		expect(parts).toHaveLength(3);
		for (const part of parts) expect(part.headers['x-amz-checksum-crc32']).toMatch(/^[A-Za-z0-9+/]{6}==$/);
		expect(sha256Of(await s3.getObjectBuffer(BUCKET, 'in/checksums.zip'))).toBe(sha256);
	});
});
