/**
 * The details of Whilter's task contract that the documentation leaves open, each in every form the
 * contract server can be set to: the callback URL's field, the form of `file-path`, the client-id,
 * the priority's type, and the results file's format, location and column case. For each, Whilter
 * Batch (items) → Whilter Status (Wait, then Get Results as items and as a CSV file) runs against a
 * server that accepts only that form, with the node options set to match; the task-body forms also
 * run with the default options, which the server refuses at once with a message naming what it wanted.
 */
import type { IBinaryData, IDataObject, INodeParameters } from 'n8n-workflow';

import { CredentialStore, runChain, shutdownN8nCore } from '../harness/run';
import type { NodeSpec } from '../harness/run';
import { DEFAULT_DROP, WHILTER_CLIENT, whilterCredentialData } from '../harness/whilter';
import { startS3Server } from '../servers/s3';
import type { S3Server } from '../servers/s3';
import { ROW_ERROR, startWhilterServer } from '../servers/whilter';
import type { WhilterServer, WhilterServerOptions } from '../servers/whilter';

// The harness has pointed n8n-core at its temp folder by now; the binary store is read directly.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const core = require('n8n-core') as typeof import('n8n-core');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Container } = require('@n8n/di') as typeof import('@n8n/di');

jest.setTimeout(60_000);

const { bucket: BUCKET } = DEFAULT_DROP;
const CALLBACK = 'http://127.0.0.1:9/webhook/whilter';
const ITEMS: IDataObject[] = Array.from({ length: 6 }, (_, i) => ({ phone: `+91980000000${i}`, name: `Customer ${i}` }));

type Variant = Partial<Omit<WhilterServerOptions, 's3'>>;

interface Case {
	name: string;
	server: Variant;
	/** Whilter Batch's options for this form. */
	options: IDataObject;
	/** Options without the form (defaults), and what the refusal says; absent when defaults read the variant too. */
	refusedWithDefaults?: { options: IDataObject; message: RegExp };
	/** What the server must have received in the task body. */
	body?: IDataObject;
}

const CASES: Case[] = [
	{
		name: 'callbackField "callbackUrl"',
		server: { callbackField: 'callbackUrl' },
		options: { callbackField: 'callbackUrl', callbackUrl: CALLBACK },
		refusedWithDefaults: { options: { callbackUrl: CALLBACK }, message: /Unknown field\(s\): callback-url \(the callback URL goes in "callbackUrl"\)/ },
		body: { callbackUrl: CALLBACK },
	},
	{
		name: 'filePathForm "s3"',
		server: { filePathForm: 's3' },
		options: { filePathForm: 's3' },
		refusedWithDefaults: { options: {}, message: /"file-path" must be s3:\/\/<bucket>\/<key>/ },
		body: { 'file-path': expect.stringMatching(/^s3:\/\/whilter-drop\/variants\/\d+\/T-100_spring\.zip$/) },
	},
	{
		name: 'filePathForm "https"',
		server: { filePathForm: 'https' },
		options: { filePathForm: 'https' },
		refusedWithDefaults: { options: {}, message: /"file-path" must be the URL of the object at the S3 endpoint/ },
		body: { 'file-path': expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/whilter-drop\/variants\/\d+\/T-100_spring\.zip$/) },
	},
	{
		name: 'filePathForm "key"',
		server: { filePathForm: 'key' },
		options: { filePathForm: 'key' },
		body: { 'file-path': expect.stringMatching(/^variants\/\d+\/T-100_spring\.zip$/) },
	},
	{
		name: 'expectedClientId "acme-account-7"',
		server: { expectedClientId: 'acme-account-7' },
		options: { clientIdValue: 'acme-account-7' },
		refusedWithDefaults: { options: {}, message: /"client-id" must be "acme-account-7"/ },
		body: { 'client-id': 'acme-account-7' },
	},
	{
		name: 'expectedClientId the OAuth client id (default Client ID Value)',
		server: { expectedClientId: WHILTER_CLIENT.clientId },
		options: {},
		body: { 'client-id': WHILTER_CLIENT.clientId },
	},
	{
		name: 'priorityForm "number"',
		server: { priorityForm: 'number' },
		options: { priority: 2, priorityForm: 'number' },
		body: { priority: 2 },
	},
	{
		name: 'priorityForm "text"',
		server: { priorityForm: 'text' },
		options: { priority: 2, priorityForm: 'text' },
		refusedWithDefaults: { options: { priority: 2 }, message: /"priority" must be an integer written as a string/ },
		body: { priority: '2' },
	},
	{
		name: 'priorityForm "omit"',
		server: { priorityForm: 'omit' },
		options: { priority: 2, priorityForm: 'omit' },
		refusedWithDefaults: { options: { priority: 2 }, message: /"priority" is not a field of this API/ },
	},
	...(['csv', 'zip', 'gzip'] as const).map((resultsFormat) => ({ name: `resultsFormat "${resultsFormat}"`, server: { resultsFormat }, options: {} })),
	...(['key', 's3', 'https'] as const).map((resultsLocation) => ({ name: `resultsLocation "${resultsLocation}"`, server: { resultsLocation }, options: {} })),
	...(['lower', 'upper'] as const).map((resultColumnsCase) => ({ name: `resultColumnsCase "${resultColumnsCase}"`, server: { resultColumnsCase }, options: {} })),
	{
		name: 'all results variants at once: a gzip at an https URL with upper-case columns',
		server: { resultsFormat: 'gzip', resultsLocation: 'https', resultColumnsCase: 'upper' },
		options: {},
	},
];

let s3: S3Server;

beforeAll(async () => {
	s3 = await startS3Server({ buckets: [BUCKET] });
});

afterAll(async () => {
	await s3?.close();
	await shutdownN8nCore();
});

// Each variant uploads under a prefix of its own: the runs share one bucket, and a file name is never reused.
describe.each(CASES.map((c, index) => ({ ...c, prefix: `variants/${index}` })))('Whilter contract variant: $name', ({ server, options, refusedWithDefaults, body, prefix }) => {
	let whilter: WhilterServer;
	let store: CredentialStore;
	let credential: { id: string; name: string };

	beforeAll(async () => {
		whilter = await startWhilterServer({
			...WHILTER_CLIENT,
			...server,
			s3: { endpoint: s3.endpoint, bucket: BUCKET, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
		});
		store = new CredentialStore();
		credential = store.add('whilterApi', whilterCredentialData(whilter, { s3, bucket: BUCKET, prefix }));
	});

	afterAll(async () => {
		await whilter?.close();
	});

	function batchNode(batchOptions: IDataObject): NodeSpec {
		return {
			name: 'Batch',
			type: 'whilterBatch',
			parameters: { inputSource: 'items', identifierColumn: 'phone', templateId: 'T-100', campaignId: 'spring', options: { ...batchOptions } as INodeParameters },
			credentials: { whilterApi: credential },
		};
	}

	function statusNode(parameters: IDataObject): NodeSpec {
		return {
			name: 'Status',
			type: 'whilterStatus',
			parameters: { taskId: '={{ $json["task-id"] }}', operation: 'getResults', waitForCompletion: true, checkInterval: 0.05, waitTimeout: 30, ...parameters },
			credentials: { whilterApi: credential },
		};
	}

	test('Batch → Status Wait + Get Results (items and CSV file) with the options set to match', async () => {
		const batch = await runChain({ items: ITEMS.map((json) => ({ json })), nodes: [batchNode(options)], credentials: store });
		expect(batch.error).toBeUndefined();
		const [task] = batch.output('Batch');
		const taskId = String(task.json['task-id']);
		expect(whilter.tasks.get(taskId)?.body).toMatchObject(body ?? {});
		// pending → in-progress → completed: the output file is written before the node asks.
		await whilter.advance(taskId);
		await whilter.advance(taskId);

		const items = await runChain({ items: [{ json: task.json }], nodes: [statusNode({})], credentials: store });
		expect(items.error).toBeUndefined();
		const rows = items.output('Status').map((i) => i.json);
		expect(rows).toHaveLength(ITEMS.length);
		// Whatever case the file writes them in, the columns come out as media-url and error.
		expect(rows.map((row) => Object.keys(row))).toEqual(ITEMS.map(() => ['phone', 'name', 'media-url', 'error']));
		expect(rows.map((row) => row.phone)).toEqual(ITEMS.map((item) => item.phone));
		expect(rows[4]).toMatchObject({ 'media-url': '', error: ROW_ERROR });
		expect(rows[0]['media-url']).toMatch(/\.mp4$/);
		// Read from the drop with its keys whatever the location's form (an https URL of a private bucket too).
		const outputKey = whilter.outputKeyOf(taskId);
		const reads = s3.requests.filter((r) => r.method === 'GET' && decodeURIComponent(r.path.split('?')[0]) === `/${BUCKET}/${outputKey}`);
		expect(reads.length).toBeGreaterThan(0);
		for (const read of reads) expect(read.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /);

		const failed = await runChain({ items: [{ json: task.json }], nodes: [statusNode({ rowFilter: 'failed' })], credentials: store });
		expect(failed.output('Status').map((i) => i.json.phone)).toEqual([ITEMS[4].phone]);

		const file = await runChain({ items: [{ json: task.json }], nodes: [statusNode({ resultFormat: 'binary' })], credentials: store });
		expect(file.error).toBeUndefined();
		const binary = file.output('Status')[0].binary?.data as IBinaryData;
		expect(binary).toMatchObject({ mimeType: 'text/csv', fileName: `${taskId}.csv` });
		// The CSV itself, decompressed, with the file's own header.
		const text = (await Container.get(core.BinaryDataService).getAsBuffer(binary)).toString('utf8');
		const added = server.resultColumnsCase === 'upper' ? 'MEDIA-URL,ERROR' : 'media-url,error';
		expect(text.split('\r\n')[0]).toBe(`phone,name,${added}`);
		expect(text.split('\r\n').filter(Boolean)).toHaveLength(ITEMS.length + 1);
	});

	if (refusedWithDefaults) {
		test('with the default options: the task call is refused at once, saying what Whilter expected', async () => {
			const before = whilter.tasks.size;
			const batch = await runChain({
				items: ITEMS.map((json) => ({ json })),
				// Unique File Name: the file of the run above is still in the drop.
				nodes: [batchNode({ ...refusedWithDefaults.options, uniqueFileName: true })],
				credentials: store,
			});
			expect(batch.error).toBeDefined();
			expect(`${batch.error?.message} ${batch.error?.description ?? ''}`).toMatch(refusedWithDefaults.message);
			expect(batch.error?.message).toMatch(/Whilter created no task/);
			expect(whilter.tasks.size).toBe(before);
		});
	}
});
