/**
 * The base every contract server stands on: a plain `node:http` server on 127.0.0.1 (port 0 unless a
 * fixed one is asked for), the request body read with a size limit and parsed when it is JSON, JSON
 * answers, a log of every request, and one fault injector whose API the S3 proxy (s3.ts) shares.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

/** What a contract server saw: tests assert on it (bodies, counts, headers, timing). */
export interface RecordedRequest {
	method: string;
	/** The URL path, percent-decoded, without the query. */
	path: string;
	query: URLSearchParams;
	headers: http.IncomingHttpHeaders;
	/** Parsed JSON when the content type says JSON and it parses, else the raw bytes (undefined when empty). */
	body: unknown;
	raw: Buffer;
	/** A fault was applied to this request (it may still have been answered, e.g. after latency). */
	faulted: boolean;
	fault?: FaultKind;
	/** The status sent back; undefined when the connection was dropped instead. */
	status?: number;
	/** When the request arrived (ms since the epoch): retry tests measure the gaps. */
	time: number;
	/** When its headers were read, on the monotonic clock (performance.now()): a server that answers a fixed time after arrival counts from here. */
	arrived: number;
}

/** Which requests a fault applies to; every given field must match. */
export interface FaultMatch {
	/** HTTP method, upper case. */
	method?: string;
	/** A string matches the path exactly; a RegExp is tested against the path. */
	path?: string | RegExp;
	/** A string names a query parameter that must be present (S3's UploadPart: 'partNumber'); a RegExp is tested against the raw query. */
	query?: string | RegExp;
	/** How many matching requests it hits before it is used up (default 1). */
	times?: number;
}

export type Fault = FaultMatch &
	(
		| { kind: 'status'; status: 429 | 500 | 502 | 503 | 504; retryAfter?: number /* seconds, sent as Retry-After */ }
		/** The request waits this long, then is handled normally. */
		| { kind: 'latency'; ms: number }
		/** The socket is destroyed without an answer; the request is not handled (no state changes). */
		| { kind: 'reset' }
		/** The request is handled (state changes, e.g. a task is created), then the socket is destroyed instead of answering. */
		| { kind: 'reset-after' }
		/** The request is handled, the answer's head and part of its body are sent (the head promising all of it), then the socket is destroyed. */
		| { kind: 'truncate' }
	);

export type FaultKind = Fault['kind'];

function matches(fault: FaultMatch, method: string, path: string, query: string): boolean {
	if (fault.method && fault.method.toUpperCase() !== method) return false;
	if (fault.path !== undefined && (typeof fault.path === 'string' ? fault.path !== path : !fault.path.test(path))) return false;
	if (fault.query !== undefined) {
		if (typeof fault.query === 'string') return new URLSearchParams(query).has(fault.query);
		return fault.query.test(query);
	}
	return true;
}

/**
 * What a storm may do to a request. `slow` answers after `slowMs`, meant to be past the client's
 * timeout; `status-…-retry-after` sends Retry-After.
 */
export const STORM_KINDS = [
	'429',
	'429-retry-after',
	'500',
	'502',
	'503',
	'503-retry-after',
	'504',
	'reset',
	'reset-after',
	'slow',
	'truncate',
] as const;

export type StormKind = (typeof STORM_KINDS)[number];

export interface StormOptions {
	/** With `name`, decides every request's fate: the same seed and request order give the same faults. */
	seed: number;
	/** Names the server in the decision, so two servers of one campaign get different faults. */
	name: string;
	/** Share of the matching requests that get a fault (0..1). */
	rate: number;
	kinds: readonly StormKind[];
	/** Only requests matching this are considered (and counted in the sequence); `times` is ignored. */
	match?: FaultMatch;
	/** The latency of a `slow` fault (default 1500 ms). */
	slowMs?: number;
	/** The Retry-After of the `…-retry-after` kinds, in seconds (default 1). */
	retryAfterSeconds?: number;
}

/** A storm's decision for one request, as kept in its log. */
export interface StormEvent {
	seq: number;
	kind: StormKind;
	method: string;
	path: string;
}

/** A 32-bit FNV-1a hash of the text: the storm's per-request key. */
export function hash32(text: string): number {
	let h = 0x811c9dc5;
	for (let i = 0; i < text.length; i++) {
		h ^= text.charCodeAt(i);
		h = Math.imul(h, 0x01000193) >>> 0;
	}
	return h >>> 0;
}

/** mulberry32's output for one state: a number in [0, 1). */
export function unitFloat(state: number): number {
	let t = (state + 0x6d2b79f5) >>> 0;
	t = Math.imul(t ^ (t >>> 15), t | 1);
	t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
	return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

function stormFault(kind: StormKind, options: StormOptions): Fault {
	const retryAfter = options.retryAfterSeconds ?? 1;
	switch (kind) {
		case '429':
			return { kind: 'status', status: 429 };
		case '429-retry-after':
			return { kind: 'status', status: 429, retryAfter };
		case '503-retry-after':
			return { kind: 'status', status: 503, retryAfter };
		case '500':
		case '502':
		case '503':
		case '504':
			return { kind: 'status', status: Number(kind) as 500 | 502 | 503 | 504 };
		case 'slow':
			return { kind: 'latency', ms: options.slowMs ?? 1500 };
		default:
			return { kind };
	}
}

/**
 * Faults queued by a test; the first one that matches a request (and has uses left) is taken. A
 * storm (storm()) decides for the requests no queued fault took.
 */
export class FaultInjector {
	private readonly queued: Array<Fault & { left: number }> = [];
	private stormOptions: StormOptions | undefined;
	private stormSeq = 0;
	/** Every fault the storm applied, in order. */
	readonly stormLog: StormEvent[] = [];

	/** From now on each matching request gets a fault with probability `rate`, decided from (seed, name, its sequence number). */
	storm(options: StormOptions): void {
		this.stormOptions = options;
		this.stormSeq = 0;
	}

	/** Ends the storm (its log is kept). */
	calm(): void {
		this.stormOptions = undefined;
	}

	add(fault: Fault): void {
		this.queued.push({ ...fault, left: fault.times ?? 1 });
	}

	clear(): void {
		this.queued.splice(0);
	}

	/** Faults added but not used up yet: a test can assert that its faults were all hit. */
	pending(): number {
		return this.queued.reduce((sum, f) => sum + f.left, 0);
	}

	/** The fault for this request, if any, counting it as used. `query` is the raw query string without '?'. */
	take(method: string, path: string, query = ''): Fault | undefined {
		const fault = this.queued.find((f) => f.left > 0 && matches(f, method, path, query));
		if (!fault) return this.fromStorm(method, path, query);
		fault.left--;
		return fault;
	}

	private fromStorm(method: string, path: string, query: string): Fault | undefined {
		const options = this.stormOptions;
		if (!options || !options.kinds.length) return undefined;
		if (options.match && !matches(options.match, method, path, query)) return undefined;
		const seq = this.stormSeq++;
		const key = hash32(`${options.seed}:${options.name}:${seq}`);
		if (unitFloat(key) >= options.rate) return undefined;
		const kind = options.kinds[Math.floor(unitFloat(key ^ 0x9e3779b9) * options.kinds.length)];
		this.stormLog.push({ seq, kind, method, path });
		return stormFault(kind, options);
	}
}

export interface Reply {
	status: number;
	/** Sent as JSON unless `raw` is given. */
	body?: unknown;
	/** Sent as is instead of a JSON body (e.g. a media file). */
	raw?: Buffer;
	headers?: Record<string, string>;
}

export type Handler = (request: RecordedRequest) => Promise<Reply> | Reply;

export interface ContractServer {
	url: string;
	port: number;
	requests: RecordedRequest[];
	faults: FaultInjector;
	close(): Promise<void>;
}

export interface ServerOptions {
	/** Fixed port for the sandbox; default 0 (a random free port). */
	port?: number;
	maxBodyBytes?: number;
}

export const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** The body a JSON-speaking API sees: parsed when declared JSON and valid, else the bytes (the handler then answers 400/415). */
function parseBody(raw: Buffer, contentType: string | undefined): unknown {
	if (!raw.length) return undefined;
	if (contentType?.toLowerCase().includes('application/json')) {
		try {
			return JSON.parse(raw.toString('utf8')) as unknown;
		} catch {
			return raw;
		}
	}
	return raw;
}

export function json(status: number, body: unknown, headers?: Record<string, string>): Reply {
	return { status, body, headers };
}

function send(res: http.ServerResponse, entry: RecordedRequest, reply: Reply): void {
	if (res.destroyed) return;
	entry.status = reply.status;
	if (reply.raw) {
		res.writeHead(reply.status, { 'content-type': 'application/octet-stream', 'content-length': String(reply.raw.length), ...reply.headers });
		res.end(reply.raw);
		return;
	}
	const text = reply.body === undefined ? '' : JSON.stringify(reply.body);
	res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...reply.headers });
	res.end(text);
}

/** The answer's head with its full length, then half its body, then the connection dropped. */
function sendTruncated(res: http.ServerResponse, entry: RecordedRequest, reply: Reply): void {
	if (res.destroyed) return;
	const body = reply.raw ?? Buffer.from(reply.body === undefined ? '' : JSON.stringify(reply.body), 'utf8');
	entry.status = reply.status;
	res.writeHead(reply.status, {
		'content-type': reply.raw ? 'application/octet-stream' : 'application/json; charset=utf-8',
		...reply.headers,
		'content-length': String(body.length),
	});
	res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
}

async function runHandler(handler: Handler, entry: RecordedRequest): Promise<Reply> {
	try {
		return await handler(entry);
	} catch (error) {
		// A bug in a contract server must show up as a 500 the test can see, not as a hung request.
		return json(500, { message: `contract server error: ${error instanceof Error ? error.message : String(error)}` });
	}
}

/** Applies the fault (if any) and the handler to one fully read request. */
async function respond(
	handler: Handler,
	faults: FaultInjector,
	entry: RecordedRequest,
	rawQuery: string,
	res: http.ServerResponse,
	isClosed: () => boolean = () => false,
): Promise<void> {
	const fault = faults.take(entry.method, entry.path, rawQuery);
	if (fault) {
		entry.faulted = true;
		entry.fault = fault.kind;
	}
	if (fault?.kind === 'reset') return void res.socket?.destroy();
	if (fault?.kind === 'status') {
		const headers: Record<string, string> = fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {};
		return send(res, entry, json(fault.status, { message: `injected fault: HTTP ${fault.status}` }, headers));
	}
	if (fault?.kind === 'latency') await new Promise((resolve) => setTimeout(resolve, fault.ms));
	// A delayed request still acts once its client gave up (a slow server does), but not once the server was closed.
	if (isClosed()) return void res.socket?.destroy();
	const reply = await runHandler(handler, entry);
	if (fault?.kind === 'reset-after') return void res.socket?.destroy();
	if (fault?.kind === 'truncate') return sendTruncated(res, entry, reply);
	send(res, entry, reply);
}

/** An HTTP server on 127.0.0.1 with a request log and fault injection; `handler` is the vendor's contract. */
export async function startServer(handler: Handler, options: ServerOptions = {}): Promise<ContractServer> {
	const requests: RecordedRequest[] = [];
	const faults = new FaultInjector();
	const maxBody = options.maxBodyBytes ?? MAX_BODY_BYTES;
	let closed = false;
	const server = http.createServer((req, res) => {
		const url = new URL(req.url ?? '/', 'http://127.0.0.1');
		const time = Date.now();
		const arrived = performance.now();
		const chunks: Buffer[] = [];
		let size = 0;
		req.on('data', (chunk: Buffer) => {
			size += chunk.length;
			// Past the limit the rest is drained, not kept: the client still gets its 413.
			if (size <= maxBody) chunks.push(chunk);
		});
		req.on('error', () => res.destroy());
		req.on('end', () => {
			const raw = Buffer.concat(chunks);
			let path = url.pathname;
			try {
				path = decodeURIComponent(url.pathname);
			} catch {
				// A malformed escape stays as sent; the routes will not match it.
			}
			const entry: RecordedRequest = {
				method: req.method ?? 'GET',
				path,
				query: url.searchParams,
				headers: req.headers,
				body: parseBody(raw, req.headers['content-type']),
				raw,
				faulted: false,
				time,
				arrived,
			};
			requests.push(entry);
			if (size > maxBody) return send(res, entry, json(413, { message: `Body over ${maxBody} bytes` }));
			void respond(handler, faults, entry, url.search.slice(1), res, () => closed);
		});
	});
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
	});
	const port = (server.address() as AddressInfo).port;
	return {
		url: `http://127.0.0.1:${port}`,
		port,
		requests,
		faults,
		close: async () => {
			closed = true;
			// Keep-alive sockets from fetch would hold close() open (and jest with it).
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

/** The earlier name of startServer, kept for callers written against it. */
export const startContractServer = startServer;

/** The bearer token of a request, if it sent one. */
export function bearer(request: RecordedRequest): string | undefined {
	const value = request.headers.authorization;
	return typeof value === 'string' && /^Bearer /i.test(value) ? value.slice(7).trim() : undefined;
}

export function isJson(request: RecordedRequest): boolean {
	return String(request.headers['content-type'] ?? '')
		.toLowerCase()
		.startsWith('application/json');
}

/** The body as a JSON object, or undefined when it is missing, not JSON, or not an object (an array, a string, …). */
export function jsonObject(request: RecordedRequest): Record<string, unknown> | undefined {
	const body = request.body;
	if (typeof body !== 'object' || body === null || Array.isArray(body) || Buffer.isBuffer(body)) return undefined;
	return body as Record<string, unknown>;
}

export function isHttpUrl(value: unknown): boolean {
	if (typeof value !== 'string') return false;
	try {
		const url = new URL(value);
		return url.protocol === 'http:' || url.protocol === 'https:';
	} catch {
		return false;
	}
}

/** Keys of `body` outside `allowed`: strict servers answer 400 for them. */
export function unknownKeys(body: Record<string, unknown>, allowed: readonly string[]): string[] {
	return Object.keys(body).filter((key) => !allowed.includes(key));
}

/** A loopback URL nothing listens on (a port just given up): a vendor that cannot be reached. */
export async function closedPortUrl(): Promise<string> {
	const server = net.createServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	await new Promise<void>((resolve) => server.close(() => resolve()));
	return `http://127.0.0.1:${port}`;
}
