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

/** Faults queued by a test; the first one that matches a request (and has uses left) is taken. */
export class FaultInjector {
	private readonly queued: Array<Fault & { left: number }> = [];

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
		if (!fault) return undefined;
		fault.left--;
		return fault;
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

async function runHandler(handler: Handler, entry: RecordedRequest): Promise<Reply> {
	try {
		return await handler(entry);
	} catch (error) {
		// A bug in a contract server must show up as a 500 the test can see, not as a hung request.
		return json(500, { message: `contract server error: ${error instanceof Error ? error.message : String(error)}` });
	}
}

/** Applies the fault (if any) and the handler to one fully read request. */
async function respond(handler: Handler, faults: FaultInjector, entry: RecordedRequest, rawQuery: string, res: http.ServerResponse): Promise<void> {
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
	const reply = await runHandler(handler, entry);
	if (fault?.kind === 'reset-after') return void res.socket?.destroy();
	send(res, entry, reply);
}

/** An HTTP server on 127.0.0.1 with a request log and fault injection; `handler` is the vendor's contract. */
export async function startServer(handler: Handler, options: ServerOptions = {}): Promise<ContractServer> {
	const requests: RecordedRequest[] = [];
	const faults = new FaultInjector();
	const maxBody = options.maxBodyBytes ?? MAX_BODY_BYTES;
	const server = http.createServer((req, res) => {
		const url = new URL(req.url ?? '/', 'http://127.0.0.1');
		const time = Date.now();
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
			};
			requests.push(entry);
			if (size > maxBody) return send(res, entry, json(413, { message: `Body over ${maxBody} bytes` }));
			void respond(handler, faults, entry, url.search.slice(1), res);
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
