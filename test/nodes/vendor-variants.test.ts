/**
 * Every answer a vendor could plausibly give where its documentation is silent or contradicts itself,
 * one named variant each, run through the nodes against the contract servers switched to it:
 * - Whilter's task status words: lower-case, the public upper-case set, and synonyms in mixed case
 *   (Queued, Running, Succeeded or COMPLETED_WITH_ERRORS, Canceled; `finished` in the callback),
 *   through Whilter Status (Get, Wait for Completion) and the Whilter Trigger's confirmation;
 * - Insider's size key (`file_size` as its field list says, `File_size` as its example spells it)
 *   through Upload and Get URL and Get URL, and a gateway that refuses a GET without the
 *   `Content-Type: application/json` Insider's examples send;
 * - TimePay's per-customer errors in each shape through Initiate's 207 partial success.
 */
import type { IDataObject, INodeParameters } from 'n8n-workflow';
import { sleep } from 'n8n-workflow';

import { useVirtualClock } from '../harness/clock';
import { CredentialStore, runChain, shutdownN8nCore } from '../harness/run';
import type { NodeSpec } from '../harness/run';
import { seedTaskAt, startWhilterWithS3, whilterCredentialData } from '../harness/whilter';
import type { WhilterWithS3 } from '../harness/whilter';
import { startWebhookRelay } from '../harness/webhook';
import type { WebhookRelay } from '../harness/webhook';
import { startInsiderServer } from '../servers/insider';
import type { InsiderServer } from '../servers/insider';
import { ERROR_SHAPES, startTimePayServer, UNREACHABLE } from '../servers/timepay';
import type { ErrorShape, TimePayServer } from '../servers/timepay';
import type { StatusVariant, WhilterServer } from '../servers/whilter';

// Wait for Completion polls with n8n-workflow's sleep, here on the virtual clock (test/harness/clock.ts).
jest.mock('n8n-workflow', () => {
	const actual = jest.requireActual<typeof import('n8n-workflow')>('n8n-workflow');
	return { ...actual, sleep: jest.fn(actual.sleep) };
});
const clock = useVirtualClock(jest.mocked(sleep));

jest.setTimeout(60_000);

const store = new CredentialStore();

afterAll(async () => {
	await shutdownN8nCore();
});

describe('Whilter status words', () => {
	let servers: WhilterWithS3;
	let whilter: WhilterServer;
	let credential: { id: string; name: string };
	let relay: WebhookRelay;

	beforeAll(async () => {
		servers = await startWhilterWithS3();
		whilter = servers.whilter;
		credential = store.add('whilterApi', whilterCredentialData(whilter, servers.drop));
		// Whilter's own callback POST reaches a Trigger that confirms it with the status API (the default).
		relay = await startWebhookRelay(() => ({
			node: { type: 'whilterTrigger', parameters: { event: 'batchTask' }, credentials: { whilterApi: credential } },
			credentials: store,
		}));
	});

	afterAll(async () => {
		await relay?.close();
		await servers?.close();
	});

	afterEach(() => {
		whilter.statusVariant = 'lower';
		relay.calls.splice(0);
	});

	const statusNode = (parameters: INodeParameters): NodeSpec => ({
		name: 'Status',
		type: 'whilterStatus',
		parameters: { taskId: '={{ $json.taskId }}', ...parameters },
		credentials: { whilterApi: credential },
	});

	/** The words the status API answers in, per variant; `completed*` is a completion with failed rows. */
	const VARIANTS: Array<[StatusVariant, Record<'pending' | 'in-progress' | 'completed' | 'completed*' | 'failed' | 'cancelled', string>, string, string]> = [
		['lower', { pending: 'pending', 'in-progress': 'in-progress', completed: 'completed', 'completed*': 'completed', failed: 'failed', cancelled: 'cancelled' }, 'completed', 'completed'],
		['upper', { pending: 'PENDING', 'in-progress': 'IN_PROGRESS', completed: 'COMPLETED', 'completed*': 'COMPLETED', failed: 'FAILED', cancelled: 'CANCELLED' }, 'COMPLETED', 'COMPLETED'],
		[
			'synonyms',
			{ pending: 'Queued', 'in-progress': 'Running', completed: 'Succeeded', 'completed*': 'COMPLETED_WITH_ERRORS', failed: 'Errored', cancelled: 'Canceled' },
			'finished',
			'COMPLETED_WITH_ERRORS',
		],
	];

	describe.each(VARIANTS)('%s', (variant, words, callbackWord, callbackWordWithErrors) => {
		beforeEach(() => {
			whilter.statusVariant = variant;
		});

		it('Status Get reads every state in these words', async () => {
			// Rows 5, 10 … of an output fail: 3 rows complete clean, 6 rows complete with errors.
			const ids = [
				await seedTaskAt(whilter, 0, { rows: 3, campaign: 'words' }),
				await seedTaskAt(whilter, 1, { rows: 3, campaign: 'words' }),
				await seedTaskAt(whilter, 2, { rows: 3, campaign: 'words' }),
				await seedTaskAt(whilter, 2, { rows: 6, campaign: 'words' }),
				await seedTaskAt(whilter, 1, { rows: 3, campaign: 'words' }),
				await seedTaskAt(whilter, 0, { rows: 3, campaign: 'words' }),
			];
			// The batch API documents no failed state; the nodes accept one, so the server is told to show it.
			(whilter.tasks.get(ids[4]) as unknown as { state: string }).state = 'failed';
			(whilter.tasks.get(ids[5]) as unknown as { state: string }).state = 'cancelled';
			const result = await runChain({ items: ids.map((taskId) => ({ json: { taskId } })), nodes: [statusNode({ operation: 'get' })], credentials: store });
			expect(result.error).toBeUndefined();
			const out = result.output('Status').map((item) => item.json);
			expect(out.map((json) => json.status)).toEqual(['pending', 'in-progress', 'completed', 'completed', 'failed', 'cancelled']);
			expect(out.map((json) => (json.response as IDataObject).status)).toEqual([
				words.pending,
				words['in-progress'],
				words.completed,
				words['completed*'],
				words.failed,
				words.cancelled,
			]);
			expect(out.map((json) => json['task-id'])).toEqual(ids);
			expect(out[2]).toMatchObject({ count: 3, 'file-path': whilter.outputKeyOf(ids[2]) });
			// The public variant also says how many rows are done.
			if (variant === 'upper') expect(out[1]).toMatchObject({ count: 3, processed: 1 });
		});

		it('Status Wait for Completion waits through pending and in-progress and ends at completed', async () => {
			const id = await seedTaskAt(whilter, 0, { rows: 3, campaign: 'wait' });
			clock.current.at(150, async () => await whilter.advance(id));
			clock.current.at(300, async () => await whilter.advance(id));
			const result = await runChain({
				items: [{ json: { taskId: id } }],
				nodes: [statusNode({ operation: 'wait', checkInterval: 0.05, maxCheckInterval: 0.1, waitTimeout: 20 })],
				credentials: store,
			});
			expect(result.error).toBeUndefined();
			const [out] = result.output('Status');
			expect(out.json).toMatchObject({ 'task-id': id, status: 'completed', 'file-path': whilter.outputKeyOf(id), response: { status: words.completed } });
			// Checks at 0, 50, 125 (pending), 225 (in-progress) and 325 ms (completed).
			expect(whilter.requests.filter((r) => r.method === 'GET' && r.path === `/acme/task/status/${id}`)).toHaveLength(5);
		});

		it.each([
			['without failed rows', 3, callbackWord],
			['with failed rows', 6, callbackWordWithErrors],
		])('Trigger: the completion callback %s starts the workflow once the status API confirms it', async (_what, rows, word) => {
			const taskId = await seedTaskAt(whilter, 2, { rows, campaign: 'callback' });
			const mark = whilter.requests.length;
			const record = await whilter.sendCallback({ taskId, url: `${relay.url}/webhook/x/whilter` });
			expect(record.body.status).toBe(word);
			expect(record.status).toBe(200);
			expect(relay.calls).toHaveLength(1);
			expect(relay.calls[0].result.items).toEqual([expect.objectContaining({ 'task-id': taskId, status: 'completed', confirmed: true })]);
			expect(whilter.requests.slice(mark).filter((r) => r.method === 'GET' && r.path === `/acme/task/status/${taskId}`)).toHaveLength(1);
		});
	});
});

describe('Insider', () => {
	const KEY = 'INS.variant-auth-key';
	const servers: InsiderServer[] = [];

	afterAll(async () => {
		for (const server of servers) await server.close();
	});

	async function insiderIn(options: { sizeKey?: 'file_size' | 'File_size'; getContentType?: 'any' | 'json' }) {
		const insider = await startInsiderServer({ authKey: KEY, ...options });
		servers.push(insider);
		return { insider, credential: store.add('insiderApi', { authKey: KEY, baseUrl: insider.url }) };
	}

	const pdf = Buffer.from('%PDF-1.4 variant');
	const pdfItem = () => ({ json: {}, binary: { data: { data: pdf.toString('base64'), mimeType: 'application/pdf', fileName: 'offer.pdf' } } });

	const mediaNode = (credential: { id: string; name: string }, parameters: INodeParameters): NodeSpec => ({
		name: 'Insider',
		type: 'insiderWhatsAppMedia',
		parameters,
		credentials: { insiderApi: credential },
	});

	/** Upload and Get URL, then Get URL with the Media ID taken from the item (the default). */
	async function uploadThenGetUrl(credential: { id: string; name: string }) {
		const result = await runChain({
			items: [pdfItem()],
			nodes: [mediaNode(credential, { operation: 'uploadAndGetUrl' }), { ...mediaNode(credential, { operation: 'getUrl' }), name: 'Get URL' }],
			credentials: store,
		});
		return { result, uploaded: result.output('Insider'), got: result.output('Get URL') };
	}

	describe.each(['file_size', 'File_size'] as const)('answering its size as %s', (sizeKey) => {
		it('Upload and Get URL, then Get URL, output file-size, with Insider\'s answer unchanged under response', async () => {
			const { insider, credential } = await insiderIn({ sizeKey });
			const { result, uploaded, got } = await uploadThenGetUrl(credential);
			expect(result.error).toBeUndefined();
			const id = String(uploaded[0].json.id);
			expect(insider.media.has(id)).toBe(true);
			expect(uploaded[0].json).toMatchObject({ id, 'file-size': pdf.length, 'mime-type': 'application/pdf' });
			expect(got[0].json).toMatchObject({ id, 'file-size': pdf.length, 'mime-type': 'application/pdf', url: `${insider.url}/media-files/${id}` });
			expect(got[0].json.response).toMatchObject({ [sizeKey]: pdf.length });
			expect(uploaded[0].json.response).toMatchObject({ upload: { id }, media: { [sizeKey]: pdf.length } });
		});
	});

	describe('a gateway that refuses a GET without Content-Type: application/json', () => {
		it('Upload and Get URL, then Get URL, send it and succeed', async () => {
			const { insider, credential } = await insiderIn({ getContentType: 'json' });
			const { result, got } = await uploadThenGetUrl(credential);
			expect(result.error).toBeUndefined();
			expect(got[0].json).toMatchObject({ 'file-size': pdf.length, 'mime-type': 'application/pdf' });
			const gets = insider.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/media/'));
			expect(gets).toHaveLength(2);
			for (const get of gets) expect(get.headers['content-type']).toMatch(/^application\/json/);
		});
	});
});

describe('TimePay per-customer errors', () => {
	const TOKEN = 'tp-variant-token';
	/** camp-loans (demoCampaigns): of LOANID-2043150 … -2043161, -2043155-FAIL and -2043161-FAIL cannot be messaged. */
	const FAILED = ['LOANID-2043155-FAIL', 'LOANID-2043161-FAIL'];
	let timepay: TimePayServer;
	let credential: { id: string; name: string };

	beforeAll(async () => {
		timepay = await startTimePayServer({ token: TOKEN });
		credential = store.add('timePayApi', { token: TOKEN, baseUrl: timepay.url });
	});

	afterAll(async () => {
		await timepay?.close();
	});

	const initiate = async (options: INodeParameters = {}) =>
		await runChain({
			items: [{ json: {} }],
			nodes: [
				{
					name: 'TimePay',
					type: 'timePayInitiate',
					parameters: { campaign: { __rl: true, mode: 'id', value: 'camp-loans' }, templateId: 'tmpl-1', audience: 'wholeCampaign', options },
					credentials: { timePayApi: credential },
				},
			],
			credentials: store,
		});

	describe.each(ERROR_SHAPES.map((shape) => [shape] as [ErrorShape]))('errors written as %s', (shape) => {
		beforeEach(() => {
			timepay.errorShape = shape;
		});

		it('a 207 lists the failed customers and why in failed-customers', async () => {
			const result = await initiate();
			expect(result.error).toBeUndefined();
			const [out] = result.output('TimePay');
			expect(out.json).toMatchObject({ success: false, 'partial-success': true, 'status-code': 207, response: { results: { failed: 2 } } });
			expect(out.json['failed-customers']).toEqual(FAILED.map((customerId) => ({ 'customer-id': customerId, reason: UNREACHABLE })));
		});

		it('with "Treat Partial Success as Error" the error names the failed customers and the reason', async () => {
			const result = await initiate({ treatPartialSuccessAsError: true });
			expect(result.error?.httpCode).toBe('207');
			expect(result.error?.description).toContain(`Failed customers: ${FAILED.join(', ')}.`);
			expect(result.error?.description).toContain(`TimePay's reasons: ${UNREACHABLE} (2 customers).`);
		});
	});
});
