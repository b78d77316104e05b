/**
 * Whilter.AI as documented (seeds whilter-batch-media-api.txt and moengage-x-whilter-realtime.txt,
 * DESIGN §4): the token endpoint, the batch task API (create, status, cancel) and the real-time API
 * (request, status). Strict about what it accepts, stateful on a clock the test moves (`advance`),
 * and on completion it writes the output CSV to S3 and POSTs the callback the way the seed describes.
 */
import { randomUUID } from 'node:crypto';

import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import Papa from 'papaparse';
import { ZipFile } from 'yazl';

import { bearer, isHttpUrl, isJson, json, jsonObject, startServer, unknownKeys } from './http';
import type { ContractServer, RecordedRequest, Reply } from './http';
import { readZipEntries } from './zipEntries';

export interface WhilterServerOptions {
	/** The `<client>` path segment of the batch API, e.g. 'acme'. */
	client: string;
	clientId: string;
	clientSecret: string;
	/** When set, the real-time endpoints also require this `x-api-key`. */
	apiKey?: string;
	/** The client's S3 drop: the server reads the uploaded ZIPs and writes the output CSVs here. */
	s3: { endpoint: string; bucket: string; region: string; accessKeyId: string; secretAccessKey: string };
	tokenTtlSeconds?: number;
	/** Every n-th output row fails (empty media-url, an error text); default 5, 0 never. */
	failRowEvery?: number;
	/** Status polls a real-time request answers PROCESSING before SUCCESS (default 2). */
	realtimeReadyAfterPolls?: number;
	/** How long each real-time call (request or status) takes to answer; can also be changed at runtime on the server. */
	realtimeDelayMs?: RealtimeDelay;
	/**
	 * Where the made media live: 'self' serves them from this server under /media (the sandbox, so a
	 * workflow can download a row's video); default https://media.example.test (not reachable).
	 */
	mediaBaseUrl?: 'self' | string;
	/** Tasks move one step every so many ms by themselves (the sandbox); tests call advance(). */
	autoAdvanceMs?: number;
	/** The status answer's shape; can also be changed at runtime on the server. */
	statusVariant?: StatusVariant;
	/** Fixed port (the sandbox); default random. */
	port?: number;
}

/** 'seed': lower-case statuses and `count`; 'upper': the public variant, PENDING/IN_PROGRESS/COMPLETED with `total-count` and `processed`. */
export type StatusVariant = 'seed' | 'upper';

export type TaskState = 'pending' | 'in-progress' | 'completed' | 'cancelled';

export interface Task {
	id: string;
	/** The body the task was created with, as sent. */
	body: Record<string, unknown>;
	state: TaskState;
	inputKey: string;
	createdAt: number;
	updatedAt: number;
	/** Set once completed: where the output CSV is (outputKeyFor(inputKey, id)). */
	outputKey?: string;
	/** Data rows in the output, and how many of them failed. */
	rows?: number;
	failedRows?: number;
	/** Why completing failed (bad ZIP, missing file): the task then stays in progress. */
	error?: string;
	callback?: { status: number } | { error: string };
}

export interface CallbackRecord {
	taskId: string;
	url: string;
	body: Record<string, unknown>;
	/** The receiver's answer, or the network error when there was none. */
	status?: number;
	error?: string;
	time: number;
}

export type RealtimeStatus = 'PROCESSING' | 'SUCCESS' | 'FAILURE';

/**
 * Milliseconds a real-time call takes, fixed or per call: the function sees the request's body (for a
 * status call, the body the request was created with), so a test can make later items finish first.
 */
export type RealtimeDelay = number | ((body: Record<string, unknown>, call: 'request' | 'status') => number);

export interface RealtimeRequest {
	id: string;
	body: Record<string, unknown>;
	polls: number;
	status: RealtimeStatus;
	createdAt: number;
}

export interface WhilterServer extends ContractServer {
	tasks: Map<string, Task>;
	realtime: Map<string, RealtimeRequest>;
	/** See WhilterServerOptions.realtimeDelayMs; undefined answers at once. */
	realtimeDelayMs: RealtimeDelay | undefined;
	/** Real-time calls (request or status, past the token check) being handled right now. */
	readonly realtimeInFlight: number;
	/** The most real-time calls handled at once since the start or the last resetRealtimeStats(). */
	readonly realtimeMaxInFlight: number;
	resetRealtimeStats(): void;
	callbacks: CallbackRecord[];
	tokensIssued: number;
	statusVariant: StatusVariant;
	/** Every token issued so far stops working (the next call gets 401). */
	expireTokens(): void;
	/** Every token (issued and to come) stops working after `uses` more authenticated calls. */
	expireTokenAfterUses(uses: number): void;
	/**
	 * Moves one task (or every open task) one step: pending → in-progress → completed. Completing
	 * writes the output CSV and POSTs the callback; the promise resolves once both are done.
	 */
	advance(taskId?: string): Promise<void>;
	/** Where a task's output CSV is (or will be) written. */
	outputKeyOf(taskId: string): string;
	/** A task whose input ZIP is uploaded, created as the API would (for tests of other nodes). */
	seedTask(options: { rows: number; campaign?: string; callbackUrl?: string }): Promise<string>;
	/** A valid token, for tests that call the API themselves. */
	issueToken(): string;
	/**
	 * POSTs a task's callback now, to any URL (tests of the Whilter Trigger): the payload the server
	 * sends on completion (or `body` instead), with extra `headers` (e.g. a shared secret or basic
	 * auth); recorded in `callbacks` like the completion's own.
	 */
	sendCallback(options: { taskId: string; url: string; headers?: Record<string, string>; body?: Record<string, unknown> }): Promise<CallbackRecord>;
	/**
	 * POSTs the documented real-time callback `{client-request-id, user-id, video-url}` of a real-time
	 * request, with `whilter-request-id` added when asked (the documented payload lacks it).
	 */
	sendRealtimeCallback(options: { whilterRequestId: string; url: string; headers?: Record<string, string>; includeWhilterRequestId?: boolean }): Promise<CallbackRecord>;
}

const TASK_REQUIRED_STRINGS = ['client-id', 'campaign-id', 'template-id', 'file-name', 'file-path'] as const;
const TASK_KEYS = [...TASK_REQUIRED_STRINGS, 'row-count', 'expected-output-duration', 'priority', 'callback-url'];
const REALTIME_REQUIRED = ['client-request-id', 'customer-id', 'use-case-id', 'user-id'] as const;
const REALTIME_LISTS = ['phrase-texts', 'image-texts', 'video-texts', 'image-urls', 'video-urls'] as const;
const REALTIME_KEYS = [...REALTIME_REQUIRED, 'reference-record-id', ...REALTIME_LISTS];
/** `<TemplateID>_Priority_<Campaign>.zip` or `<TemplateID>_<Campaign>.zip`; `_` separates the parts, so neither part may hold one. */
const FILE_NAME = /^([A-Za-z0-9-]+)_(?:Priority_)?([A-Za-z0-9-]+)\.zip$/;
const DEFAULT_MEDIA_BASE = 'https://media.example.test';

/** A tiny MP4 (an ftyp box only): enough for a media type check and a download, not for a player. */
export const SAMPLE_MP4 = Buffer.from('0000001866747970697336000000000069736f6d6d703432', 'hex');
const SAMPLE_PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

export const ROW_ERROR = 'Template render failed: missing personalisation value';

function bad(status: number, message: string): Reply {
	return json(status, { message });
}

function isNonEmptyString(value: unknown): value is string {
	return typeof value === 'string' && value.trim() !== '';
}

/** The output CSV's key: beside the input, in `output/`. Predictable, so tests can read it before asking the status API. */
export function outputKeyFor(inputKey: string, taskId: string): string {
	const slash = inputKey.lastIndexOf('/');
	return `${slash === -1 ? '' : inputKey.slice(0, slash + 1)}output/${taskId}.csv`;
}

/**
 * The output file the seed describes: the input CSV unchanged, plus `media-url` and `error`. Parsed
 * as arrays, not objects, so duplicate or odd headers come back exactly as sent.
 */
export function buildOutputCsv(inputCsv: string, taskId: string, failRowEvery: number, mediaBase = DEFAULT_MEDIA_BASE): { csv: string; rows: number; failed: number } {
	const parsed = Papa.parse<string[]>(inputCsv, { skipEmptyLines: true });
	const [header = [], ...rows] = parsed.data;
	let failed = 0;
	const out = rows.map((row, index) => {
		const padded = [...row, ...Array<string>(Math.max(0, header.length - row.length)).fill('')];
		const fails = failRowEvery > 0 && (index + 1) % failRowEvery === 0;
		if (fails) failed++;
		return [...padded, fails ? '' : `${mediaBase}/${taskId}/${index}.mp4`, fails ? ROW_ERROR : ''];
	});
	const csv = Papa.unparse({ fields: [...header, 'media-url', 'error'], data: out }, { newline: '\r\n' });
	return { csv: `${csv}\r\n`, rows: rows.length, failed };
}

async function singleCsvOf(zip: Buffer): Promise<string> {
	const csvs = (await readZipEntries(zip)).filter((e) => e.name.toLowerCase().endsWith('.csv'));
	if (csvs.length !== 1) throw new Error(`the ZIP must hold exactly one CSV, it holds ${csvs.length}`);
	return csvs[0].text;
}

/** The body rules of POST /<client>/task; the message of the first broken rule, or undefined. */
function taskBodyProblem(fields: Record<string, unknown>): string | undefined {
	const unknown = unknownKeys(fields, TASK_KEYS);
	if (unknown.length) return `Unknown field(s): ${unknown.join(', ')}`;
	for (const key of TASK_REQUIRED_STRINGS) if (!isNonEmptyString(fields[key])) return `"${key}" is required (a non-empty string)`;
	const rowCount = fields['row-count'];
	if (typeof rowCount !== 'number' || !Number.isInteger(rowCount) || rowCount < 0) return '"row-count" is required (a non-negative integer)';
	const duration = fields['expected-output-duration'];
	if (typeof duration !== 'number' || !Number.isFinite(duration) || duration < 0) return '"expected-output-duration" is required (a non-negative number)';
	if (fields.priority !== undefined && !Number.isInteger(fields.priority)) return '"priority" must be an integer';
	if (fields['callback-url'] !== undefined && !isHttpUrl(fields['callback-url'])) return '"callback-url" must be an http(s) URL';
	const fileName = fields['file-name'] as string;
	const name = FILE_NAME.exec(fileName);
	if (!name || name[1] !== fields['template-id']) {
		return `"file-name" must be <TemplateID>_Priority_<CampaignName>.zip or <TemplateID>_<CampaignName>.zip with TemplateID "${String(fields['template-id'])}"`;
	}
	// The file is uploaded to `<prefix>/<file name>`: a path naming another file is a client bug worth a 400.
	const key = fields['file-path'] as string;
	if (key !== fileName && !key.endsWith(`/${fileName}`)) return '"file-path" must end with "file-name"';
	return undefined;
}

/** The body rules of POST /video/request; the message of the first broken rule, or undefined. */
function realtimeBodyProblem(fields: Record<string, unknown>): string | undefined {
	const unknown = unknownKeys(fields, REALTIME_KEYS);
	if (unknown.length) return `Unknown field(s): ${unknown.join(', ')}`;
	for (const key of REALTIME_REQUIRED) if (!isNonEmptyString(fields[key])) return `"${key}" is required (a non-empty string)`;
	if (fields['reference-record-id'] !== undefined && typeof fields['reference-record-id'] !== 'string') return '"reference-record-id" must be a string';
	for (const key of REALTIME_LISTS) {
		const list = fields[key];
		if (list === undefined) continue;
		if (!Array.isArray(list) || list.some((v) => typeof v !== 'string')) return `"${key}" must be a list of strings`;
		if (key.endsWith('-urls') && !list.every(isHttpUrl)) return `"${key}" must hold http(s) URLs`;
	}
	return undefined;
}

/** Issued bearer tokens with their expiry and remaining uses. */
class TokenStore {
	issued = 0;
	private readonly tokens = new Map<string, { uses: number; maxUses: number; expiresAt: number }>();
	private maxUsesForNew = Number.POSITIVE_INFINITY;

	constructor(private readonly ttlSeconds: number) {}

	issue(): string {
		const token = `wt-${randomUUID()}`;
		this.tokens.set(token, { uses: 0, maxUses: this.maxUsesForNew, expiresAt: Date.now() + this.ttlSeconds * 1000 });
		this.issued++;
		return token;
	}

	/** Counts one authenticated use; false when the token is unknown, expired or used up. */
	use(token: string | undefined): boolean {
		const state = token === undefined ? undefined : this.tokens.get(token);
		if (!state || state.uses >= state.maxUses || Date.now() > state.expiresAt) return false;
		state.uses++;
		return true;
	}

	expireAll(): void {
		this.tokens.clear();
	}

	expireAfterUses(uses: number): void {
		this.maxUsesForNew = uses;
		for (const state of this.tokens.values()) state.maxUses = state.uses + uses;
	}
}

async function zipOf(entryName: string, text: string): Promise<Buffer> {
	const zip = new ZipFile();
	zip.addBuffer(Buffer.from(text, 'utf8'), entryName);
	zip.end();
	const chunks: Buffer[] = [];
	for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

export async function startWhilterServer(options: WhilterServerOptions): Promise<WhilterServer> {
	const s3 = new S3Client({
		endpoint: options.s3.endpoint,
		region: options.s3.region,
		forcePathStyle: true,
		credentials: { accessKeyId: options.s3.accessKeyId, secretAccessKey: options.s3.secretAccessKey },
		requestChecksumCalculation: 'WHEN_REQUIRED',
		responseChecksumValidation: 'WHEN_REQUIRED',
	});
	const bucket = options.s3.bucket;
	const ttl = options.tokenTtlSeconds ?? 3600;
	const tokens = new TokenStore(ttl);
	const tasks = new Map<string, Task>();
	const realtime = new Map<string, RealtimeRequest>();
	const callbacks: CallbackRecord[] = [];
	const failEvery = options.failRowEvery ?? 5;
	const readyAfter = options.realtimeReadyAfterPolls ?? 2;
	// A completion in flight, so a timer tick and advance() never complete the same task twice.
	const completing = new Map<string, Promise<void>>();
	let statusVariant: StatusVariant = options.statusVariant ?? 'seed';

	const setState = (task: Task, state: TaskState) => {
		task.state = state;
		task.updatedAt = Date.now();
	};

	const callbackBodyOf = (task: Task): Record<string, unknown> => ({ 'task-id': task.id, status: 'completed', 'file-path': task.outputKey, count: task.rows, message: 'Task completed' });

	/** One callback POST, recorded in `callbacks` (the completion's own, sendCallback, sendRealtimeCallback). */
	const postOnDemand = async (id: string, url: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<CallbackRecord> => {
		const record: CallbackRecord = { taskId: id, url, body, time: Date.now() };
		callbacks.push(record);
		try {
			const response = await fetch(url, {
				method: 'POST',
				headers: { 'content-type': 'application/json', ...headers },
				body: JSON.stringify(body),
				// A receiver that never answers must not hang advance() (and the test) forever.
				signal: AbortSignal.timeout(15_000),
			});
			await response.arrayBuffer();
			record.status = response.status;
		} catch (error) {
			record.error = error instanceof Error ? error.message : String(error);
		}
		return record;
	};

	const postCallback = async (task: Task, url: string) => {
		const record = await postOnDemand(task.id, url, callbackBodyOf(task));
		task.callback = record.error === undefined ? { status: record.status ?? 0 } : { error: record.error };
	};

	/** Reads the input ZIP, writes the output CSV, marks the task completed, then calls back. */
	const complete = async (task: Task) => {
		try {
			const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: task.inputKey }));
			if (!object.Body) throw new Error(`s3://${bucket}/${task.inputKey} has no body`);
			const csv = await singleCsvOf(Buffer.from(await object.Body.transformToByteArray()));
			const output = buildOutputCsv(csv, task.id, failEvery, mediaBase());
			const outputKey = outputKeyFor(task.inputKey, task.id);
			await s3.send(new PutObjectCommand({ Bucket: bucket, Key: outputKey, Body: Buffer.from(output.csv, 'utf8'), ContentType: 'text/csv; charset=utf-8' }));
			Object.assign(task, { outputKey, rows: output.rows, failedRows: output.failed, error: undefined });
		} catch (error) {
			task.error = error instanceof Error ? error.message : String(error);
			throw error;
		}
		// A task cancelled while its output was being written stays cancelled.
		if (task.state !== 'in-progress') return;
		setState(task, 'completed');
		const callbackUrl = task.body['callback-url'];
		if (typeof callbackUrl === 'string') await postCallback(task, callbackUrl);
	};

	const advanceOne = async (task: Task) => {
		const inFlight = completing.get(task.id);
		if (inFlight) return await inFlight;
		if (task.state === 'pending') return setState(task, 'in-progress');
		if (task.state !== 'in-progress') return;
		const done = complete(task).finally(() => completing.delete(task.id));
		completing.set(task.id, done);
		await done;
	};

	const statusBody = (task: Task) => {
		const filePath = task.state === 'completed' && task.outputKey ? task.outputKey : task.inputKey;
		const count = task.rows ?? Number(task.body['row-count']);
		const message = task.error ? `Processing failed: ${task.error}` : `Task ${task.state}`;
		if (statusVariant === 'upper') {
			const processed = task.state === 'completed' ? count : task.state === 'in-progress' ? Math.floor(count / 2) : 0;
			const status = task.state.toUpperCase().replace('-', '_');
			return { 'task-id': task.id, status, 'total-count': count, processed, message, 'file-path': filePath };
		}
		return { 'task-id': task.id, status: task.state, count, message, 'file-path': filePath };
	};

	const token = (request: RecordedRequest): Reply => {
		if (!isJson(request)) return bad(415, 'Content-Type must be application/json');
		const body = jsonObject(request);
		if (!body || !isNonEmptyString(body.client_id) || !isNonEmptyString(body.client_secret)) return bad(400, 'client_id and client_secret are required');
		if (body.client_id !== options.clientId || body.client_secret !== options.clientSecret) return bad(401, 'Invalid client credentials');
		return json(200, { access_token: tokens.issue(), expires_in: ttl, token_type: 'Bearer' });
	};

	const createTask = async (request: RecordedRequest): Promise<Reply> => {
		if (!isJson(request)) return bad(415, 'Content-Type must be application/json');
		const fields = jsonObject(request);
		if (!fields) return bad(400, 'The body must be a JSON object');
		const problem = taskBodyProblem(fields);
		if (problem) return bad(400, problem);
		const key = fields['file-path'] as string;
		try {
			await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
		} catch {
			return bad(400, `file not found in the S3 drop: ${key}`);
		}
		const now = Date.now();
		const task: Task = { id: `task-${randomUUID()}`, body: fields, state: 'pending', inputKey: key, createdAt: now, updatedAt: now };
		tasks.set(task.id, task);
		const { 'client-id': clientId, 'campaign-id': campaignId, 'template-id': templateId } = fields;
		return json(200, { 'client-id': clientId, 'campaign-id': campaignId, 'template-id': templateId, 'task-id': task.id, message: 'Task created successfully.' });
	};

	const cancelTask = (taskId: string): Reply => {
		const task = tasks.get(taskId);
		if (!task) return bad(404, `Task ${taskId} not found`);
		if (task.state === 'completed') return bad(409, `Task ${taskId} is already completed`);
		setState(task, 'cancelled');
		return json(200, { 'task-id': task.id, status: 'cancelled', message: 'Task cancelled successfully.' });
	};

	const realtimeRequest = (request: RecordedRequest): Reply => {
		if (!isJson(request)) return bad(415, 'Content-Type must be application/json');
		const fields = jsonObject(request);
		if (!fields) return bad(400, 'The body must be a JSON object');
		const problem = realtimeBodyProblem(fields);
		if (problem) return bad(400, problem);
		const id = `wr-${randomUUID()}`;
		realtime.set(id, { id, body: fields, polls: 0, status: 'PROCESSING', createdAt: Date.now() });
		return json(200, { status: 'SUCCESS', message: 'Request accepted', 'client-request-id': fields['client-request-id'], 'whilter-request-id': id });
	};

	/** Each poll is a tick of the real-time clock: PROCESSING for `readyAfter - 1` polls, then the outcome the use case asks for. */
	const realtimeStatus = (id: string): Reply => {
		const entry = realtime.get(id);
		if (!entry) return bad(404, `Request ${id} not found`);
		entry.polls++;
		const useCase = entry.body['use-case-id'];
		if (entry.status === 'PROCESSING' && useCase !== 'never' && entry.polls >= readyAfter) entry.status = useCase === 'fail' ? 'FAILURE' : 'SUCCESS';
		if (entry.status === 'PROCESSING') return json(200, { status: 'PROCESSING', message: 'Processing', 'video-url': null, 'image-url': null });
		if (entry.status === 'FAILURE') {
			return json(200, { status: 'FAILURE', message: 'Rendering failed: image-texts[0] is too long', 'video-url': null, 'image-url': null });
		}
		return json(200, { status: 'SUCCESS', message: 'Ready', 'video-url': `${mediaBase()}/rt/${id}.mp4`, 'image-url': `${mediaBase()}/rt/${id}.png` });
	};

	let realtimeDelayMs: RealtimeDelay | undefined = options.realtimeDelayMs;
	let realtimeInFlight = 0;
	let realtimeMaxInFlight = 0;
	/** Runs one real-time call after its delay, counting how many are being handled at once. */
	const timedRealtime = async (body: Record<string, unknown>, call: 'request' | 'status', handle: () => Reply): Promise<Reply> => {
		realtimeInFlight++;
		realtimeMaxInFlight = Math.max(realtimeMaxInFlight, realtimeInFlight);
		try {
			const ms = typeof realtimeDelayMs === 'function' ? realtimeDelayMs(body, call) : (realtimeDelayMs ?? 0);
			if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
			return handle();
		} finally {
			realtimeInFlight--;
		}
	};

	/** Real-time calls need the x-api-key too when one is configured (API-gateway style: 403). */
	const apiKeyProblem = (request: RecordedRequest): Reply | undefined =>
		options.apiKey !== undefined && request.headers['x-api-key'] !== options.apiKey ? bad(403, 'Forbidden: missing or invalid x-api-key') : undefined;

	const clientPrefix = `/${options.client}`;
	const route = async (request: RecordedRequest): Promise<Reply> => {
		const { method, path } = request;
		if (method === 'POST' && path === '/getToken/token') return token(request);
		// Made media are public files on a CDN: no token.
		if (method === 'GET' && options.mediaBaseUrl === 'self' && /^\/media\/.+\.(mp4|png)$/.test(path)) {
			return path.endsWith('.png')
				? { status: 200, raw: SAMPLE_PNG, headers: { 'content-type': 'image/png' } }
				: { status: 200, raw: SAMPLE_MP4, headers: { 'content-type': 'video/mp4' } };
		}
		if (!tokens.use(bearer(request))) return bad(401, 'Token expired or invalid');

		if (method === 'POST' && (path === '/video/request' || path === '/video/demo')) {
			return apiKeyProblem(request) ?? (await timedRealtime(jsonObject(request) ?? {}, 'request', () => realtimeRequest(request)));
		}
		const realtimeMatch = method === 'GET' ? /^\/status\/([^/]+)$/.exec(path) : null;
		if (realtimeMatch) {
			const id = realtimeMatch[1];
			return apiKeyProblem(request) ?? (await timedRealtime(realtime.get(id)?.body ?? {}, 'status', () => realtimeStatus(id)));
		}
		const cancelMatch = method === 'POST' ? /^\/image\/task\/cancel\/([^/]+)$/.exec(path) : null;
		if (cancelMatch) return cancelTask(cancelMatch[1]);

		if (!path.startsWith(`${clientPrefix}/`)) return bad(404, `Unknown client path: ${path}`);
		const rest = path.slice(clientPrefix.length);
		if (method === 'POST' && rest === '/task') return await createTask(request);
		const statusMatch = method === 'GET' ? /^\/task\/status\/([^/]+)$/.exec(rest) : null;
		if (statusMatch) {
			const task = tasks.get(statusMatch[1]);
			return task ? json(200, statusBody(task)) : bad(404, `Task ${statusMatch[1]} not found`);
		}
		return bad(404, `No route for ${method} ${path}`);
	};

	const server = await startServer(route, { port: options.port });
	const mediaBase = () => (options.mediaBaseUrl === 'self' ? `${server.url}/media` : (options.mediaBaseUrl ?? DEFAULT_MEDIA_BASE));

	let timer: NodeJS.Timeout | undefined;
	if (options.autoAdvanceMs) {
		timer = setInterval(() => {
			// Errors are kept on the task (and shown by the status API), not thrown into the timer.
			for (const task of tasks.values()) void advanceOne(task).catch(() => undefined);
		}, options.autoAdvanceMs);
		timer.unref();
	}

	const seedTask = async ({ rows, campaign = 'seeded', callbackUrl }: { rows: number; campaign?: string; callbackUrl?: string }) => {
		const fileName = `T-SEED_${campaign}.zip`;
		const key = `seeded/${randomUUID()}/${fileName}`;
		const csv = ['phone,name', ...Array.from({ length: rows }, (_, i) => `+9190000${String(i).padStart(5, '0')},Seed ${i}`)].join('\r\n');
		await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await zipOf(fileName.replace(/\.zip$/, '.csv'), `${csv}\r\n`) }));
		const now = Date.now();
		const task: Task = {
			id: `task-${randomUUID()}`,
			body: {
				'client-id': options.clientId,
				'campaign-id': campaign,
				'template-id': 'T-SEED',
				'file-name': fileName,
				'file-path': key,
				'row-count': rows,
				'expected-output-duration': 0,
				...(callbackUrl ? { 'callback-url': callbackUrl } : {}),
			},
			state: 'pending',
			inputKey: key,
			createdAt: now,
			updatedAt: now,
		};
		tasks.set(task.id, task);
		return task.id;
	};

	return {
		...server,
		tasks,
		realtime,
		get realtimeDelayMs() {
			return realtimeDelayMs;
		},
		set realtimeDelayMs(delay: RealtimeDelay | undefined) {
			realtimeDelayMs = delay;
		},
		get realtimeInFlight() {
			return realtimeInFlight;
		},
		get realtimeMaxInFlight() {
			return realtimeMaxInFlight;
		},
		resetRealtimeStats: () => {
			realtimeMaxInFlight = realtimeInFlight;
		},
		callbacks,
		get tokensIssued() {
			return tokens.issued;
		},
		get statusVariant() {
			return statusVariant;
		},
		set statusVariant(variant: StatusVariant) {
			statusVariant = variant;
		},
		expireTokens: () => tokens.expireAll(),
		expireTokenAfterUses: (uses) => tokens.expireAfterUses(uses),
		advance: async (taskId) => {
			if (taskId !== undefined && !tasks.has(taskId)) throw new Error(`Unknown task ${taskId}`);
			const chosen = taskId !== undefined ? [tasks.get(taskId) as Task] : [...tasks.values()];
			for (const task of chosen) await advanceOne(task);
		},
		outputKeyOf: (taskId) => {
			const task = tasks.get(taskId);
			if (!task) throw new Error(`Unknown task ${taskId}`);
			return outputKeyFor(task.inputKey, task.id);
		},
		seedTask,
		issueToken: () => tokens.issue(),
		sendCallback: async ({ taskId, url, headers, body }) => {
			const task = tasks.get(taskId);
			if (!task && !body) throw new Error(`Unknown task ${taskId}`);
			return await postOnDemand(taskId, url, body ?? callbackBodyOf(task as Task), headers);
		},
		sendRealtimeCallback: async ({ whilterRequestId, url, headers, includeWhilterRequestId }) => {
			const entry = realtime.get(whilterRequestId);
			if (!entry) throw new Error(`Unknown real-time request ${whilterRequestId}`);
			const body: Record<string, unknown> = {
				'client-request-id': entry.body['client-request-id'],
				'user-id': entry.body['user-id'],
				'video-url': entry.status === 'SUCCESS' ? `${mediaBase()}/rt/${whilterRequestId}.mp4` : null,
				...(includeWhilterRequestId ? { 'whilter-request-id': whilterRequestId } : {}),
			};
			return await postOnDemand(whilterRequestId, url, body, headers);
		},
		close: async () => {
			if (timer) clearInterval(timer);
			await Promise.allSettled(completing.values());
			s3.destroy();
			await server.close();
		},
	};
}
