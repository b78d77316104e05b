import { randomUUID } from 'node:crypto';

import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import Papa from 'papaparse';

import type { RecordedRequest, Reply } from './http';
import { bearer, isJson, startContractServer } from './http';
import type { ContractServer } from './http';
import { readZipEntries } from './zipEntries';

/**
 * Whilter.AI as documented (seed whilter-batch-media-api.txt, moengage-x-whilter-realtime.txt,
 * DESIGN §4): token, batch task create/status/cancel, real-time request/status. Strict about what
 * it accepts, stateful on a clock the test moves (`advance`), and it writes the output CSV and
 * POSTs the callback the way the seed describes.
 */
export interface WhilterServerOptions {
	client: string;
	clientId: string;
	clientSecret: string;
	apiKey?: string;
	s3: { endpoint: string; bucket: string; region: string; accessKeyId: string; secretAccessKey: string };
	tokenTtlSeconds?: number;
	/** Every n-th output row fails (empty media-url, an error text). */
	failRowEvery?: number;
	/** Status polls a real-time request answers PROCESSING before SUCCESS. */
	realtimeReadyAfterPolls?: number;
	/** Tasks move on by themselves every so many ms (the sandbox); tests use advance(). */
	autoAdvanceMs?: number;
}

export type TaskState = 'pending' | 'in-progress' | 'completed' | 'cancelled';

export interface Task {
	id: string;
	body: Record<string, unknown>;
	state: TaskState;
	inputKey: string;
	outputKey?: string;
	rows?: number;
	callback?: { status: number } | { error: string };
}

export interface RealtimeRequest {
	id: string;
	body: Record<string, unknown>;
	polls: number;
}

const TASK_KEYS = ['client-id', 'campaign-id', 'template-id', 'file-name', 'file-path', 'row-count', 'expected-output-duration'];
const TASK_OPTIONAL = ['priority', 'callback-url'];
const REALTIME_REQUIRED = ['client-request-id', 'customer-id', 'use-case-id', 'user-id'];
const REALTIME_LISTS = ['phrase-texts', 'image-texts', 'video-texts', 'image-urls', 'video-urls'];

function bad(status: number, message: string): Reply {
	return { status, body: { message } };
}

function isHttpUrl(value: unknown): boolean {
	try {
		const url = new URL(String(value));
		return url.protocol === 'http:' || url.protocol === 'https:';
	} catch {
		return false;
	}
}

async function unzipSingleCsv(zip: Buffer): Promise<string> {
	const csvs = (await readZipEntries(zip)).filter((e) => e.name.endsWith('.csv'));
	if (csvs.length !== 1) throw new Error(`the ZIP must hold exactly one CSV, it holds ${csvs.length}`);
	return csvs[0].text;
}

export interface WhilterServer extends ContractServer {
	tasks: Map<string, Task>;
	realtime: Map<string, RealtimeRequest>;
	tokensIssued: number;
	statusVariant: 'seed' | 'upper';
	expireTokens(): void;
	expireTokenAfterUses(uses: number): void;
	/** Moves one task (or every open task) one step: pending → in-progress → completed. */
	advance(taskId?: string): Promise<void>;
	/** A task whose input file is uploaded, created as the API would (for tests of other nodes). */
	seedTask(options: { rows: number; campaign?: string; callbackUrl?: string }): Promise<string>;
	/** The latest issued token, for tests that call the API themselves. */
	issueToken(): string;
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
	const tokens = new Map<string, { uses: number; maxUses: number; expiresAt: number }>();
	let maxUsesForNew = Infinity;
	const tasks = new Map<string, Task>();
	const realtime = new Map<string, RealtimeRequest>();
	const failEvery = options.failRowEvery ?? 5;
	const readyAfter = options.realtimeReadyAfterPolls ?? 2;
	let handle: WhilterServer;

	const issueToken = () => {
		const token = `wt-${randomUUID()}`;
		tokens.set(token, { uses: 0, maxUses: maxUsesForNew, expiresAt: Date.now() + (options.tokenTtlSeconds ?? 3600) * 1000 });
		handle.tokensIssued++;
		return token;
	};

	const authorised = (request: RecordedRequest, needsApiKey: boolean): Reply | undefined => {
		const token = bearer(request);
		const state = token ? tokens.get(token) : undefined;
		if (!state || state.uses >= state.maxUses || Date.now() > state.expiresAt) return bad(401, 'Token expired or invalid');
		state.uses++;
		if (needsApiKey && options.apiKey && request.headers['x-api-key'] !== options.apiKey) return bad(403, 'Invalid x-api-key');
		return undefined;
	};

	const outputKeyOf = (task: Task) => {
		const dir = task.inputKey.includes('/') ? task.inputKey.slice(0, task.inputKey.lastIndexOf('/')) : '';
		return `${dir ? `${dir}/` : ''}output/${task.id}.csv`;
	};

	const complete = async (task: Task) => {
		const object = await s3.send(new GetObjectCommand({ Bucket: options.s3.bucket, Key: task.inputKey }));
		const csv = await unzipSingleCsv(Buffer.from(await object.Body!.transformToByteArray()));
		const parsed = Papa.parse<Record<string, string>>(csv, { header: true, skipEmptyLines: true });
		const rows = parsed.data.map((row, index) => {
			const failed = (index + 1) % failEvery === 0;
			return {
				...row,
				'media-url': failed ? '' : `https://media.example.test/${task.id}/${index}.mp4`,
				error: failed ? 'Template render failed: missing personalisation value' : '',
			};
		});
		const output = Papa.unparse({ fields: [...(parsed.meta.fields ?? []), 'media-url', 'error'], data: rows }, { newline: '\r\n' });
		task.outputKey = outputKeyOf(task);
		task.rows = rows.length;
		await s3.send(
			new PutObjectCommand({ Bucket: options.s3.bucket, Key: task.outputKey, Body: Buffer.from(output, 'utf8'), ContentType: 'text/csv' }),
		);
		task.state = 'completed';
		const callbackUrl = task.body['callback-url'];
		if (typeof callbackUrl === 'string') {
			try {
				const response = await fetch(callbackUrl, {
					method: 'POST',
					headers: { 'content-type': 'application/json' },
					body: JSON.stringify({ 'task-id': task.id, status: 'completed', 'file-path': task.outputKey, count: task.rows, message: 'Task completed' }),
				});
				task.callback = { status: response.status };
				await response.arrayBuffer();
			} catch (error) {
				task.callback = { error: (error as Error).message };
			}
		}
	};

	const statusBody = (task: Task) => {
		const upper = handle.statusVariant === 'upper';
		const filePath = task.outputKey ?? task.inputKey;
		const count = task.rows ?? Number(task.body['row-count']);
		if (upper) {
			const processed = task.state === 'completed' ? count : task.state === 'in-progress' ? Math.floor(count / 2) : 0;
			return { 'task-id': task.id, status: task.state.toUpperCase().replace('-', '_'), 'total-count': count, processed, message: `Task ${task.state}`, 'file-path': filePath };
		}
		return { 'task-id': task.id, status: task.state, count, message: `Task ${task.state}`, 'file-path': filePath };
	};

	const createTask = async (request: RecordedRequest): Promise<Reply> => {
		if (!isJson(request)) return bad(415, 'Content-Type must be application/json');
		const body = request.body;
		if (typeof body !== 'object' || body === null || Buffer.isBuffer(body) || Array.isArray(body)) return bad(400, 'Body must be a JSON object');
		const fields = body as Record<string, unknown>;
		const unknown = Object.keys(fields).filter((k) => !TASK_KEYS.includes(k) && !TASK_OPTIONAL.includes(k));
		if (unknown.length) return bad(400, `Unknown field(s): ${unknown.join(', ')}`);
		for (const key of ['client-id', 'campaign-id', 'template-id', 'file-name', 'file-path']) {
			if (typeof fields[key] !== 'string' || !(fields[key] as string).trim()) return bad(400, `"${key}" is required (string)`);
		}
		if (!Number.isInteger(fields['row-count']) || (fields['row-count'] as number) < 0) return bad(400, '"row-count" must be a non-negative integer');
		if (typeof fields['expected-output-duration'] !== 'number' || fields['expected-output-duration'] < 0) {
			return bad(400, '"expected-output-duration" must be a non-negative number');
		}
		if (fields.priority !== undefined && !Number.isInteger(fields.priority)) return bad(400, '"priority" must be an integer');
		if (fields['callback-url'] !== undefined && !isHttpUrl(fields['callback-url'])) return bad(400, '"callback-url" must be an http(s) URL');
		const name = /^([A-Za-z0-9-]+)_(?:Priority_)?([A-Za-z0-9-]+)\.zip$/.exec(fields['file-name'] as string);
		if (!name || name[1] !== fields['template-id']) {
			return bad(400, `"file-name" must be <TemplateID>_[Priority_]<CampaignName>.zip with TemplateID "${String(fields['template-id'])}"`);
		}
		const key = fields['file-path'] as string;
		if (!key.endsWith(`/${fields['file-name'] as string}`) && key !== fields['file-name']) {
			return bad(400, '"file-path" must end with "file-name"');
		}
		try {
			await s3.send(new HeadObjectCommand({ Bucket: options.s3.bucket, Key: key }));
		} catch {
			return bad(400, `file not found in the drop: ${key}`);
		}
		const task: Task = { id: `task-${randomUUID()}`, body: fields, state: 'pending', inputKey: key };
		tasks.set(task.id, task);
		return {
			status: 200,
			body: {
				'client-id': fields['client-id'],
				'campaign-id': fields['campaign-id'],
				'template-id': fields['template-id'],
				'task-id': task.id,
				message: 'Task created successfully.',
			},
		};
	};

	const realtimeRequest = (request: RecordedRequest): Reply => {
		if (!isJson(request)) return bad(415, 'Content-Type must be application/json');
		const fields = request.body as Record<string, unknown>;
		if (typeof fields !== 'object' || fields === null || Buffer.isBuffer(fields)) return bad(400, 'Body must be a JSON object');
		const known = [...REALTIME_REQUIRED, 'reference-record-id', ...REALTIME_LISTS];
		const unknown = Object.keys(fields).filter((k) => !known.includes(k));
		if (unknown.length) return bad(400, `Unknown field(s): ${unknown.join(', ')}`);
		for (const key of REALTIME_REQUIRED) {
			if (typeof fields[key] !== 'string' || !(fields[key] as string).trim()) return bad(400, `"${key}" is required (string)`);
		}
		for (const key of REALTIME_LISTS) {
			const list = fields[key];
			if (list === undefined) continue;
			if (!Array.isArray(list) || list.some((v) => typeof v !== 'string')) return bad(400, `"${key}" must be a list of strings`);
			if (key.endsWith('-urls') && list.some((v) => !isHttpUrl(v))) return bad(400, `"${key}" must hold http(s) URLs`);
		}
		const id = `wr-${randomUUID()}`;
		realtime.set(id, { id, body: fields, polls: 0 });
		return { status: 200, body: { status: 'SUCCESS', message: 'Request accepted', 'client-request-id': fields['client-request-id'], 'whilter-request-id': id } };
	};

	const realtimeStatus = (id: string): Reply => {
		const entry = realtime.get(id);
		if (!entry) return bad(404, `Unknown request ${id}`);
		entry.polls++;
		const useCase = entry.body['use-case-id'];
		if (useCase === 'never' || entry.polls < readyAfter) {
			return { status: 200, body: { status: 'PROCESSING', message: 'Processing', 'video-url': null, 'image-url': null } };
		}
		if (useCase === 'fail') {
			return { status: 200, body: { status: 'FAILURE', message: 'Rendering failed: image-texts[0] is too long', 'video-url': null, 'image-url': null } };
		}
		return {
			status: 200,
			body: { status: 'SUCCESS', message: 'Ready', 'video-url': `https://media.example.test/rt/${id}.mp4`, 'image-url': `https://media.example.test/rt/${id}.png` },
		};
	};

	const client = `/${options.client}`;
	const server = await startContractServer(async (request) => {
		const { method, path } = request;
		if (method === 'POST' && path === '/getToken/token') {
			if (!isJson(request)) return bad(415, 'Content-Type must be application/json');
			const body = request.body as Record<string, unknown> | undefined;
			if (!body || typeof body !== 'object' || Buffer.isBuffer(body) || !body.client_id || !body.client_secret) {
				return bad(400, 'client_id and client_secret are required');
			}
			if (body.client_id !== options.clientId || body.client_secret !== options.clientSecret) return bad(401, 'Invalid client credentials');
			return { status: 200, body: { access_token: issueToken(), expires_in: options.tokenTtlSeconds ?? 3600, token_type: 'Bearer' } };
		}
		const realtimePath = method === 'POST' && (path === '/video/request' || path === '/video/demo');
		const realtimeStatusMatch = method === 'GET' ? /^\/status\/([^/]+)$/.exec(path) : null;
		const denied = authorised(request, realtimePath || !!realtimeStatusMatch);
		if (denied) return denied;
		if (realtimePath) return realtimeRequest(request);
		if (realtimeStatusMatch) return realtimeStatus(realtimeStatusMatch[1]);
		const cancel = method === 'POST' ? /^\/image\/task\/cancel\/([^/]+)$/.exec(path) : null;
		if (cancel) {
			const task = tasks.get(cancel[1]);
			if (!task) return bad(404, `Unknown task ${cancel[1]}`);
			if (task.state === 'completed') return bad(409, 'Task already completed');
			task.state = 'cancelled';
			return { status: 200, body: { 'task-id': task.id, status: 'cancelled', message: 'Task cancelled' } };
		}
		if (!path.startsWith(`${client}/`)) return bad(404, `Unknown client path ${path}`);
		const rest = path.slice(client.length);
		if (method === 'POST' && rest === '/task') return await createTask(request);
		const status = method === 'GET' ? /^\/task\/status\/([^/]+)$/.exec(rest) : null;
		if (status) {
			const task = tasks.get(status[1]);
			return task ? { status: 200, body: statusBody(task) } : bad(404, `Unknown task ${status[1]}`);
		}
		return bad(404, `No route for ${method} ${path}`);
	});

	const advanceOne = async (task: Task) => {
		if (task.state === 'pending') task.state = 'in-progress';
		else if (task.state === 'in-progress') await complete(task);
	};
	let timer: NodeJS.Timeout | undefined;
	handle = {
		...server,
		tasks,
		realtime,
		tokensIssued: 0,
		statusVariant: 'seed',
		expireTokens: () => tokens.clear(),
		expireTokenAfterUses: (uses) => {
			maxUsesForNew = uses;
			for (const state of tokens.values()) state.maxUses = state.uses + uses;
		},
		advance: async (taskId) => {
			const chosen = taskId ? [tasks.get(taskId)] : [...tasks.values()];
			for (const task of chosen) {
				if (!task) throw new Error(`Unknown task ${taskId}`);
				await advanceOne(task);
			}
		},
		seedTask: async ({ rows, campaign = 'seeded', callbackUrl }) => {
			const yazl = await import('yazl');
			const fileName = `T-SEED_${campaign}.zip`;
			const key = `seeded/${randomUUID()}/${fileName}`;
			const zip = new yazl.ZipFile();
			const csv = ['phone,name', ...Array.from({ length: rows }, (_, i) => `+9190000${String(i).padStart(5, '0')},Seed ${i}`)].join('\r\n');
			zip.addBuffer(Buffer.from(csv + '\r\n'), fileName.replace(/\.zip$/, '.csv'));
			zip.end();
			const chunks: Buffer[] = [];
			for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
			await s3.send(new PutObjectCommand({ Bucket: options.s3.bucket, Key: key, Body: Buffer.concat(chunks) }));
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
			};
			tasks.set(task.id, task);
			return task.id;
		},
		issueToken: () => issueToken(),
		close: async () => {
			if (timer) clearInterval(timer);
			s3.destroy();
			await server.close();
		},
	};
	if (options.autoAdvanceMs) {
		timer = setInterval(() => {
			for (const task of tasks.values()) void advanceOne(task).catch(() => undefined);
		}, options.autoAdvanceMs);
		timer.unref();
	}
	return handle;
}
