/**
 * Every S3 call has a deadline: a store that accepted the connection and went silent fails the call
 * after the time it was given (S3 Timeout of Whilter Batch; the package's default for the results
 * reader, shortened here), with an error that names S3, the operation, the bucket and the key. The
 * store is the S3 proxy holding requests unanswered (silence); what is asserted is the outcome, not
 * how long it took.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IDataObject, INodeParameters } from 'n8n-workflow';
import { sleep } from 'n8n-workflow';

import { useVirtualClock } from '../harness/clock';
import { writeRandomCsv } from '../harness/randomCsv';
import { CredentialStore, runChain, shutdownN8nCore } from '../harness/run';
import { DEFAULT_DROP, seedTaskAt, startWhilterWithS3, whilterCredentialData } from '../harness/whilter';
import type { WhilterWithS3 } from '../harness/whilter';

// Retries of S3 calls (if any) wait on the virtual clock; the deadlines themselves are real timers.
jest.mock('n8n-workflow', () => {
	const actual = jest.requireActual<typeof import('n8n-workflow')>('n8n-workflow');
	return { ...actual, sleep: jest.fn(actual.sleep) };
});
useVirtualClock(jest.mocked(sleep));

// The results reader (Whilter Status, Trigger, Batch's resume) uses the package's default deadlines,
// 10 s to connect and 120 s without a byte: 5 s here, so the test does not sit them out, while the
// calls that are answered (HeadObject, CreateMultipartUpload) keep ample time on a busy machine.
jest.mock('../../nodes/Whilter/api/s3Drop', () => {
	const actual = jest.requireActual<typeof import('../../nodes/Whilter/api/s3Drop')>('../../nodes/Whilter/api/s3Drop');
	return {
		...actual,
		createS3Client: (...[drop, signal, timeouts]: Parameters<typeof actual.createS3Client>) =>
			actual.createS3Client(drop, signal, timeouts ?? { connectMs: 5000, idleMs: 5000 }),
	};
});

const { bucket: BUCKET, prefix: PREFIX } = DEFAULT_DROP;
let servers: WhilterWithS3;
const store = new CredentialStore();
let credential: { id: string; name: string };
let workDir: string;

beforeAll(async () => {
	workDir = mkdtempSync(join(tmpdir(), 'whilter-s3-deadlines-'));
	servers = await startWhilterWithS3();
	credential = store.add('whilterApi', whilterCredentialData(servers.whilter, servers.drop));
});

afterEach(() => servers.s3.clearSilences());

afterAll(async () => {
	await servers?.close();
	rmSync(workDir, { recursive: true, force: true });
	await shutdownN8nCore();
});

const customers: IDataObject[] = [{ phone: '+911' }, { phone: '+912' }];

async function submit(campaignName: string, options: INodeParameters = { s3Timeout: 5 }) {
	return await runChain({
		items: customers.map((json) => ({ json })),
		nodes: [
			{
				name: 'Batch',
				type: 'whilterBatch',
				parameters: { inputSource: 'items', identifierColumn: 'phone', templateId: 'T-100', campaignId: 'c', campaignName, options },
				credentials: { whilterApi: credential },
			},
		],
		credentials: store,
	});
}

const quoted = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** The message of an upload that timed out in `call`. */
function timedOut(key: string, call: string): RegExp {
	const where = `bucket "${BUCKET}", key "${key}"`;
	return new RegExp(`^Uploading the batch file to S3 failed \\(${quoted(where)}\\): S3 sent nothing for 5 s \\(${call}, ${quoted(where)}\\), so the call was given up$`);
}

describe('Whilter Batch: S3 Timeout', () => {
	it('a store that accepts the connection and never answers: the check for an existing file (HeadObject) fails, nothing is registered', async () => {
		const key = `${PREFIX}/T-100_Silent.zip`;
		servers.s3.silence({ path: `/${BUCKET}/${key}`, times: 10 });
		const tasks = servers.whilter.tasks.size;
		const result = await submit('Silent');
		expect(result.error?.message).toMatch(timedOut(key, 'HeadObject'));
		expect(result.error?.description).toMatch(/Nothing was registered with Whilter/);
		expect(servers.whilter.tasks.size).toBe(tasks);
	});

	it('the upload (PutObject) is never answered: it fails naming the call; the file is not there and no task was created', async () => {
		const key = `${PREFIX}/T-100_Silent-Put.zip`;
		servers.s3.silence({ method: 'PUT', path: `/${BUCKET}/${key}`, times: 10 });
		const tasks = servers.whilter.tasks.size;
		const result = await submit('Silent-Put');
		expect(result.error?.message).toMatch(timedOut(key, 'PutObject'));
		expect(servers.whilter.tasks.size).toBe(tasks);
		expect(await servers.s3.listKeys(BUCKET, key)).toEqual([]);
	});

	it('a part of a multipart upload is never answered: UploadPart fails, the upload is aborted (no parts left), no task', async () => {
		const key = `${PREFIX}/T-100_Silent-Part.zip`;
		servers.s3.silence({ method: 'PUT', path: `/${BUCKET}/${key}`, query: /partNumber=2(&|$)/, times: 10 });
		const tasks = servers.whilter.tasks.size;
		const mark = servers.s3.requests.length;
		const result = await runChain({
			items: [{ json: {} }],
			files: [{ property: 'data', path: await writeRandomCsv(workDir), fileName: 'random.csv', mimeType: 'text/csv' }],
			nodes: [
				{
					name: 'Batch',
					type: 'whilterBatch',
					parameters: { inputSource: 'file', binaryPropertyName: 'data', identifierColumn: 'phone', templateId: 'T-100', campaignId: 'c', campaignName: 'Silent-Part', options: { s3Timeout: 5 } },
					credentials: { whilterApi: credential },
				},
			],
			credentials: store,
		});
		expect(result.error?.message).toMatch(timedOut(key, 'UploadPart'));
		expect(servers.whilter.tasks.size).toBe(tasks);
		const aborts = servers.s3.requests.slice(mark).filter((r) => r.method === 'DELETE' && r.path === `/${BUCKET}/${key}`);
		expect(aborts.map((r) => r.status)).toEqual([204]);
		expect(servers.s3.openUploads(BUCKET)).toEqual([]);
		expect(await servers.s3.listKeys(BUCKET, key)).toEqual([]);
	}, 120_000);

	it('a store that answers is not cut off by the same short timeout', async () => {
		const result = await submit('Answered');
		expect(result.error).toBeUndefined();
		expect(result.output('Batch')[0].json['file-path']).toBe(`${PREFIX}/T-100_Answered.zip`);
	});

	it.each([0, -5, 'soon'])('S3 Timeout %p is refused before anything is sent to S3', async (s3Timeout) => {
		const mark = servers.s3.requests.length;
		const result = await submit(`Bad-Timeout-${String(s3Timeout)}`, { s3Timeout });
		expect(result.error?.message).toBe(`The "S3 Timeout (Seconds)" option is ${String(s3Timeout)}: it must be a number of seconds above 0`);
		expect(servers.s3.requests.length).toBe(mark);
	});
});

describe('reading a results file from the S3 drop (Whilter Status → Get Results)', () => {
	async function getResults(taskId: string) {
		return await runChain({
			items: [{ json: { taskId } }],
			nodes: [{ name: 'Status', type: 'whilterStatus', parameters: { operation: 'getResults', taskId: '={{ $json.taskId }}' }, credentials: { whilterApi: credential } }],
			credentials: store,
		});
	}

	it('GetObject never answered: the item fails naming the file, the call and the time', async () => {
		const taskId = await seedTaskAt(servers.whilter, 2, { rows: 4, campaign: 'silent-results' });
		const key = servers.whilter.outputKeyOf(taskId);
		servers.s3.silence({ method: 'GET', path: `/${BUCKET}/${key}`, times: 10 });
		const result = await getResults(taskId);
		expect(result.error?.message).toBe(
			`Item 0: cannot read the results file s3://${BUCKET}/${key}: S3 sent nothing for 5 s (GetObject, bucket "${BUCKET}", key "${key}"), so the call was given up`,
		);
	});

	it('the file starts, then S3 sends nothing more: the read fails naming the file, the call and the time', async () => {
		const taskId = await seedTaskAt(servers.whilter, 2, { rows: 4, campaign: 'stalled-results' });
		const key = servers.whilter.outputKeyOf(taskId);
		servers.s3.silence({ method: 'GET', path: `/${BUCKET}/${key}`, afterFirstBytes: true, times: 10 });
		const result = await getResults(taskId);
		expect(result.error?.message).toMatch(
			new RegExp(`^Item 0: reading the results file s3://${quoted(BUCKET)}/${quoted(key)} failed after row 0: S3 sent nothing for 5 s \\(GetObject, bucket "${quoted(BUCKET)}", key "${quoted(key)}"\\), so the call was given up$`),
		);
	});
});
