/**
 * Runs a node type's `webhook()` in-process, the way n8n 2.41's webhook handlers do, so the Whilter
 * Trigger's callback handling and Whilter Batch's resume can be checked in milliseconds instead of
 * through a real n8n process (test/e2e).
 *
 * What is n8n's own here: the Workflow (n8n-workflow: node parameters completed with their defaults),
 * the context (n8n-core's WebhookContext, constructed as n8n's WebhookService.runWebhook constructs
 * it: workflow, node, additionalData, mode 'webhook', webhookData, closeFunctions, runExecutionData),
 * credentials (the harness's TestCredentialsHelper, which follows n8n's rules), HTTP calls (n8n-core's
 * request helpers), custom data (n8n-core reads it from runExecutionData.resultData.metadata).
 *
 * What stands in for n8n's HTTP server (the `n8n` package, not part of n8n-core):
 * - the request: an express-like object with what n8n's body parser leaves on it (`body` parsed from
 *   `rawBody` as n8n does: JSON for application/json, a string for text/plain, `{}` when empty;
 *   `rawBody`, `headers` lower-cased, `method`, `query`, `params`, `contentType`);
 * - the response: a recorder of what the node writes (status, headers, JSON);
 * - the answer when the node writes none, by n8n's rules for `responseMode: 'onReceived'`: the
 *   `webhookResponse` with 200, `{message: 'Webhook call received'}` when there is neither that
 *   nor workflow data, `{message: 'Workflow was started'}` when the workflow starts, 500 when
 *   `webhook()` throws. A body n8n cannot parse as JSON is answered 422 by n8n before any node runs.
 *
 * n8n-core's logger (what a node writes with `this.logger`) is collected in `n8nLogs` and per call in
 * `result.logs` instead of being printed.
 *
 * The workflow's static data: each call is its own workflow (its own id, empty static data) unless
 * the call names a `StoredWorkflow` (`storedWorkflow()`). Then its static data is handed to the
 * Workflow as n8n loads it from the database, and after a production webhook call it is stored back
 * as n8n 2.41's LiveWebhooks does: only when the node changed it and webhook() did not throw, as JSON
 * (the database column). n8n saves nothing for a waiting execution's restart webhook.
 *
 * Not exported by run.ts and so rebuilt here (to fold into run.ts later): the INodeTypes over the
 * package's nodes, and the additionalData base.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';

import type {
	IDataObject,
	INode,
	INodeCredentials,
	INodeExecutionData,
	INodeParameters,
	INodeType,
	IRunExecutionData,
	IWebhookData,
	IWebhookFunctions,
	IWebhookResponseData,
	IWorkflowExecuteAdditionalData,
	WorkflowExecuteMode,
} from 'n8n-workflow';
import { createRunExecutionData, deepCopy, NodeHelpers, Workflow } from 'n8n-workflow';

// run.ts points n8n-core at its temp folder before n8n-core is loaded: it is imported first.
import { baseAdditionalData, packageNodeTypes, testNodeTypes } from './run';
import type { CredentialStore } from './run';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const core = require('n8n-core') as typeof import('n8n-core');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Container } = require('@n8n/di') as typeof import('@n8n/di');

export interface LogEntry {
	level: string;
	message: string;
	metadata?: IDataObject;
}

/**
 * Everything n8n-core's logger is given (what `this.logger` writes in a node), kept here instead of
 * printed. The Logger is n8n-core's own singleton (its copy of @n8n/backend-common), so the context
 * still reaches it the n8n way; only its output goes to this list.
 */
export const n8nLogs: LogEntry[] = [];
{
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const backendCommon = require(require.resolve('@n8n/backend-common', { paths: [dirname(require.resolve('n8n-core/package.json'))] })) as {
		Logger: new (...args: never[]) => unknown;
	};
	const logger = Container.get(backendCommon.Logger) as { log: (level: string, message: string, metadata?: IDataObject) => void };
	logger.log = (level, message, metadata) => {
		n8nLogs.push({ level, message, metadata });
	};
}

const PACKAGE = 'n8n-nodes-whilter';

/** The key Whilter Batch keeps the waited-for task under in the execution's custom data (persisted with waiting executions). */
export function batchTaskKey(nodeId: string): string {
	return `whilter_task_${nodeId.replace(/[^A-Za-z0-9]/g, '')}`.slice(0, 50);
}

export interface WebhookNodeSpec {
	/** Node type name without package prefix: 'whilterTrigger', 'whilterBatch'. */
	type: string;
	name?: string;
	id?: string;
	parameters?: INodeParameters;
	credentials?: INodeCredentials;
	webhookId?: string;
}

export interface WebhookRequestInit {
	/** Sent as JSON (the raw body is its serialisation) unless `raw` is given. */
	json?: unknown;
	/** The raw body bytes as sent. */
	raw?: string | Buffer;
	/** Default application/json when there is a body. */
	contentType?: string;
	headers?: Record<string, string | string[]>;
	method?: string;
	query?: Record<string, string>;
}

/** A waiting execution: its run data as n8n stored it, or just the custom data it holds. */
export type WaitingExecution = { runData: IRunExecutionData; executionId?: string } | { customData: Record<string, string>; executionId?: string };

/** A saved workflow whose static data lasts from one webhook call to the next, as in n8n's database. */
export interface StoredWorkflow {
	id: string;
	staticData: IDataObject;
	/** How often a call stored changed static data. */
	saves: number;
}

let workflowCounter = 0;

export function storedWorkflow(staticData: IDataObject = {}): StoredWorkflow {
	return { id: `webhook-test-workflow-${++workflowCounter}`, staticData: deepCopy(staticData), saves: 0 };
}

export interface WebhookCall {
	credentials: CredentialStore;
	/** The workflow the node is in; default: a new one with empty static data (nothing kept between calls). */
	workflow?: StoredWorkflow;
	request: WebhookRequestInit;
	/** The node owning the webhook; for a waiting execution given as runData, the node waiting in it. */
	node?: WebhookNodeSpec;
	/**
	 * Given: the node's restart webhook runs for this waiting execution (n8n's /webhook-waiting/<id>),
	 * with its run data (custom data included). Not given: the node's production webhook.
	 */
	waiting?: WaitingExecution;
}

export interface WebhookResult {
	/** The HTTP status the caller gets. */
	status: number;
	/** Headers the node set on the response (names lower-cased). */
	headers: Record<string, string>;
	/** The JSON body the caller gets. */
	json: unknown;
	/** Whether the node wrote the answer itself (a refusal). */
	answeredByNode: boolean;
	webhookResponse?: unknown;
	/** What the workflow would start (or resume) with; undefined when nothing starts. */
	workflowData?: INodeExecutionData[][];
	/** The first output's items' JSON (empty when nothing starts). */
	items: IDataObject[];
	/** What webhook() threw (n8n answers 500 and, for a waiting execution, fails it). */
	error?: Error & { description?: string };
	/** The request object the node saw. */
	request: FakeRequest;
	/** What n8n's logger was given during this call. */
	logs: LogEntry[];
}

/** What n8n's express request carries once its raw-body reader and body parser have run. */
export interface FakeRequest {
	method: string;
	url: string;
	path: string;
	headers: Record<string, string | string[]>;
	query: Record<string, string>;
	params: Record<string, string>;
	rawBody: Buffer;
	body: unknown;
	contentType?: string;
	get(name: string): string | string[] | undefined;
	header(name: string): string | string[] | undefined;
}

/** Records what a node writes through the express response API it may use. */
class ResponseRecorder {
	statusCode = 200;
	readonly headers: Record<string, string> = {};
	body: unknown;
	ended = false;

	get headersSent(): boolean {
		return this.ended;
	}

	status(code: number): this {
		this.statusCode = code;
		return this;
	}

	sendStatus(code: number): this {
		this.statusCode = code;
		return this.end();
	}

	setHeader(name: string, value: string | number | readonly string[]): this {
		this.headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
		return this;
	}

	header(name: string | Record<string, string>, value?: string): this {
		if (typeof name === 'object') for (const [k, v] of Object.entries(name)) this.setHeader(k, v);
		else if (value !== undefined) this.setHeader(name, value);
		return this;
	}

	set(name: string | Record<string, string>, value?: string): this {
		return this.header(name, value);
	}

	getHeader(name: string): string | undefined {
		return this.headers[name.toLowerCase()];
	}

	getHeaders(): Record<string, string> {
		return { ...this.headers };
	}

	removeHeader(name: string): void {
		delete this.headers[name.toLowerCase()];
	}

	type(value: string): this {
		return this.setHeader('content-type', value);
	}

	writeHead(code: number, headers?: Record<string, string>): this {
		this.statusCode = code;
		for (const [k, v] of Object.entries(headers ?? {})) this.setHeader(k, v);
		return this;
	}

	json(body: unknown): this {
		this.setHeader('content-type', 'application/json; charset=utf-8');
		this.body = body;
		return this.end();
	}

	send(body?: unknown): this {
		this.body = body;
		return this.end();
	}

	end(body?: unknown): this {
		if (body !== undefined) this.body = body;
		this.ended = true;
		return this;
	}
}

class UnparsableBody extends Error {}

function buildRequest(init: WebhookRequestInit, path: string): FakeRequest {
	const raw =
		init.raw !== undefined ? (Buffer.isBuffer(init.raw) ? init.raw : Buffer.from(init.raw, 'utf8')) : init.json !== undefined ? Buffer.from(JSON.stringify(init.json), 'utf8') : Buffer.alloc(0);
	const headers: Record<string, string | string[]> = {};
	for (const [name, value] of Object.entries(init.headers ?? {})) headers[name.toLowerCase()] = value;
	const contentTypeHeader = init.contentType ?? (headers['content-type'] as string | undefined) ?? (raw.length ? 'application/json' : undefined);
	if (contentTypeHeader !== undefined) headers['content-type'] = contentTypeHeader;
	if (headers['content-length'] === undefined && raw.length) headers['content-length'] = String(raw.length);
	// n8n's body parser branches on the media type without parameters, lower-cased.
	const contentType = contentTypeHeader?.split(';')[0].trim().toLowerCase();
	let body: unknown;
	if (raw.length) {
		const text = raw.toString('utf8');
		if (contentType === 'application/json') {
			try {
				body = JSON.parse(text) as unknown;
			} catch (error) {
				throw new UnparsableBody(error instanceof Error ? error.message : String(error));
			}
		} else if (contentType === 'text/plain') {
			body = text;
		}
	}
	const query = init.query ?? {};
	const search = new URLSearchParams(query).toString();
	const get = (name: string) => headers[name.toLowerCase()];
	return {
		method: (init.method ?? 'POST').toUpperCase(),
		url: `/${path}${search ? `?${search}` : ''}`,
		path: `/${path}`,
		headers,
		query,
		params: {},
		rawBody: raw,
		body: body ?? {},
		contentType,
		get,
		header: get,
	};
}

function nodeOf(spec: WebhookNodeSpec): INode {
	const type = spec.type.replace(/^.*\./, '');
	const typeObject = packageNodeTypes[type];
	if (!typeObject) throw new Error(`Unknown node type ${spec.type}`);
	return {
		id: spec.id ?? `${type}-node-0001`,
		name: spec.name ?? typeObject.description.displayName,
		type: `${PACKAGE}.${type}`,
		typeVersion: 1,
		position: [0, 0],
		parameters: spec.parameters ?? {},
		credentials: spec.credentials,
		webhookId: spec.webhookId ?? randomUUID(),
	};
}

/** The run data of a waiting execution that holds only custom data, with the node on its stack as n8n leaves it. */
function waitingRunData(node: INode, customData: Record<string, string>): IRunExecutionData {
	return createRunExecutionData({
		resultData: { runData: {}, lastNodeExecuted: node.name, metadata: { ...customData } },
		executionData: { nodeExecutionStack: [{ node, data: { main: [[{ json: {} }]] }, source: null }] },
		waitTill: new Date(Date.now() + 60 * 60_000),
	});
}

let executionCounter = 0;

/** Calls the node's webhook() once, as n8n does for one HTTP request to its URL. */
export async function callWebhook(call: WebhookCall): Promise<WebhookResult> {
	const waiting = call.waiting;
	let node: INode;
	let runExecutionData: IRunExecutionData | null = null;
	if (waiting && 'runData' in waiting) {
		const stacked = waiting.runData.executionData?.nodeExecutionStack[0]?.node;
		if (!stacked && !call.node) throw new Error('The waiting execution has no node on its stack');
		// A copy: the Workflow completes its nodes' parameters in place, and the run data stays as stored.
		node = call.node ? nodeOf(call.node) : deepCopy(stacked!);
		runExecutionData = waiting.runData;
	} else {
		if (!call.node) throw new Error('callWebhook needs a node');
		node = nodeOf(call.node);
		if (waiting) runExecutionData = waitingRunData(node, waiting.customData);
	}

	const stored = call.workflow ?? storedWorkflow();
	const workflowId = stored.id;
	const workflow = new Workflow({
		id: workflowId,
		name: 'webhook test',
		nodes: [node],
		connections: {},
		active: true,
		nodeTypes: testNodeTypes,
		// A copy, as n8n reads it from the database for each request.
		staticData: deepCopy(stored.staticData),
		settings: {},
	});
	// The workflow's copy: parameters completed with their defaults, as n8n loads a saved workflow.
	const workflowNode = workflow.getNode(node.name)!;
	const nodeType = testNodeTypes.getByNameAndVersion(workflowNode.type, workflowNode.typeVersion) as INodeType;
	if (!nodeType.webhook) throw new Error(`${workflowNode.type} has no webhook()`);
	// A waiting execution is resumed through the restart webhook; anything else reaches the production one.
	const description = nodeType.description.webhooks?.find((w) => (runExecutionData ? w.restartWebhook === true : w.restartWebhook !== true));
	if (!description) throw new Error(`${workflowNode.type} has no ${runExecutionData ? 'restart' : 'production'} webhook`);
	const webhookPath = String(description.path ?? '').replace(/^\/+|\/+$/g, '');
	const executionId = runExecutionData ? (waiting?.executionId ?? `waiting-${++executionCounter}`) : undefined;
	const path = runExecutionData
		? `webhook-waiting/${executionId}${webhookPath ? `/${webhookPath}` : ''}`
		: `webhook/${NodeHelpers.getNodeWebhookPath(workflowId, workflowNode, webhookPath, false, false)}`;

	let request: FakeRequest;
	try {
		request = buildRequest(call.request, path);
	} catch (error) {
		if (!(error instanceof UnparsableBody)) throw error;
		// n8n answers this itself; no node sees the request.
		const json = { message: 'Failed to parse request body', hint: error.message };
		return { status: 422, headers: {}, json, answeredByNode: false, items: [], request: buildRequest({ ...call.request, raw: '' }, path), logs: [] };
	}
	const response = new ResponseRecorder();
	const additionalData = baseAdditionalData(call.credentials, executionId, workflowId);
	additionalData.httpRequest = request as unknown as IWorkflowExecuteAdditionalData['httpRequest'];
	additionalData.httpResponse = response as unknown as IWorkflowExecuteAdditionalData['httpResponse'];
	const webhookData: IWebhookData = {
		httpMethod: (description.httpMethod as IWebhookData['httpMethod']) ?? 'POST',
		node: workflowNode.name,
		path,
		webhookDescription: description,
		workflowId,
		workflowExecuteAdditionalData: additionalData,
		webhookId: workflowNode.webhookId,
	};
	const mode: WorkflowExecuteMode = 'webhook';
	const context = new core.WebhookContext(workflow, workflowNode, additionalData, mode, webhookData, [], runExecutionData);

	let outcome: IWebhookResponseData | undefined;
	let error: WebhookResult['error'];
	const logStart = n8nLogs.length;
	try {
		outcome = await nodeType.webhook.call(context as unknown as IWebhookFunctions);
	} catch (thrown) {
		error = thrown as WebhookResult['error'];
	}
	if (!runExecutionData && !error && workflow.staticData.__dataChanged === true) {
		stored.staticData = JSON.parse(JSON.stringify(workflow.staticData)) as IDataObject;
		stored.saves++;
	}

	const workflowData = outcome?.workflowData;
	const items = (workflowData?.[0] ?? []).map((item) => item.json);
	const logs = n8nLogs.slice(logStart);
	const base = { headers: { ...response.headers }, webhookResponse: outcome?.webhookResponse, workflowData, items, error, request, logs };
	if (response.ended) return { ...base, status: response.statusCode, json: response.body, answeredByNode: true };
	if (error) return { ...base, status: 500, json: { message: error.message }, answeredByNode: false };
	if (workflowData === undefined) {
		const json = outcome?.webhookResponse !== undefined ? outcome.webhookResponse : { message: 'Webhook call received' };
		return { ...base, status: description.responseCode ? Number(description.responseCode) : 200, json, answeredByNode: false };
	}
	// n8n's rule for an onReceived webhook that starts the workflow: the description's responseData
	// (n8n's default, when it is left out, is the literal text "firstEntryJson"), else the node's
	// webhookResponse, else its own message.
	const responseData = description.responseData === undefined ? 'firstEntryJson' : description.responseData;
	const json = responseData === 'noData' ? undefined : responseData ? responseData : (outcome?.webhookResponse ?? { message: 'Workflow was started' });
	return { ...base, status: 200, json, answeredByNode: false };
}

/** One request the relay received, and what the node made of it. */
export interface RelayedCall {
	path: string;
	result: WebhookResult;
}

export interface WebhookRelay {
	/** http://127.0.0.1:<port>: POST here (any path) and the webhook runs. */
	url: string;
	calls: RelayedCall[];
	close(): Promise<void>;
}

/**
 * A tiny stand-in for n8n's webhook endpoint: every request it receives (raw bytes and headers as
 * sent, e.g. by the Whilter contract server's own callback) goes through callWebhook, and the caller
 * gets the answer n8n would give.
 */
export async function startWebhookRelay(make: (request: WebhookRequestInit, path: string) => Omit<WebhookCall, 'request'>): Promise<WebhookRelay> {
	const calls: RelayedCall[] = [];
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (chunk: Buffer) => chunks.push(chunk));
		req.on('end', () => {
			const url = new URL(req.url ?? '/', 'http://relay');
			const headers: Record<string, string | string[]> = {};
			for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers[name] = value;
			const request: WebhookRequestInit = {
				raw: Buffer.concat(chunks),
				headers,
				method: req.method,
				query: Object.fromEntries(url.searchParams),
			};
			callWebhook({ ...make(request, url.pathname), request })
				.then((result) => {
					calls.push({ path: url.pathname, result });
					res.writeHead(result.status, { ...result.headers, 'content-type': 'application/json' });
					res.end(JSON.stringify(result.json ?? null));
				})
				.catch((error: unknown) => {
					res.writeHead(500, { 'content-type': 'application/json' });
					res.end(JSON.stringify({ message: error instanceof Error ? error.message : String(error) }));
				});
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		calls,
		close: async () => {
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

/** The `message` of a webhook's JSON answer. */
export function messageOf(result: WebhookResult): string {
	return String((result.json as IDataObject | undefined)?.message);
}

/** A refusal: the node answered with this status (and message), and nothing started or resumed. */
export function expectRefused(result: WebhookResult, status: number, message?: string | RegExp): void {
	expect({ status: result.status, started: result.workflowData !== undefined, error: result.error?.message }).toEqual({ status, started: false, error: undefined });
	expect(result.answeredByNode).toBe(true);
	if (typeof message === 'string') expect(messageOf(result)).toBe(message);
	else if (message) expect(messageOf(result)).toMatch(message);
}
