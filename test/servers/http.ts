import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a contract server saw: tests assert on it (bodies, counts, headers). */
export interface RecordedRequest {
	method: string;
	path: string;
	query: URLSearchParams;
	headers: http.IncomingHttpHeaders;
	/** Parsed JSON when the body was JSON, else the raw bytes. */
	body: unknown;
	raw: Buffer;
	faulted: boolean;
	status?: number;
	time: number;
}

export type Fault = { method?: string; path?: string | RegExp; times?: number } & (
	| { kind: 'status'; status: 429 | 500 | 502 | 503 | 504; retryAfter?: number }
	| { kind: 'latency'; ms: number }
	/** Destroys the socket without answering; nothing happens on the server. */
	| { kind: 'reset' }
	/** The request is processed (state changes), then the socket is destroyed before the answer. */
	| { kind: 'reset-after' }
);

export class FaultInjector {
	private readonly faults: Array<Fault & { left: number }> = [];

	add(fault: Fault): void {
		this.faults.push({ ...fault, left: fault.times ?? 1 });
	}

	clear(): void {
		this.faults.splice(0);
	}

	take(method: string, path: string): Fault | undefined {
		const fault = this.faults.find(
			(f) =>
				f.left > 0 &&
				(!f.method || f.method === method) &&
				(!f.path || (typeof f.path === 'string' ? path === f.path || path.startsWith(`${f.path}`) : f.path.test(path))),
		);
		if (fault) fault.left--;
		return fault;
	}
}

export interface Reply {
	status: number;
	body?: unknown;
	/** Sent as is instead of a JSON body (e.g. a media file). */
	raw?: Buffer;
	headers?: Record<string, string>;
}

export type Handler = (request: RecordedRequest) => Promise<Reply> | Reply;

export interface ContractServer {
	url: string;
	requests: RecordedRequest[];
	faults: FaultInjector;
	close(): Promise<void>;
}

export const MAX_BODY_BYTES = 16 * 1024 * 1024;

function parseBody(raw: Buffer, contentType: string | undefined): unknown {
	if (!raw.length) return undefined;
	if (contentType?.includes('application/json')) {
		try {
			return JSON.parse(raw.toString('utf8')) as unknown;
		} catch {
			return raw;
		}
	}
	return raw;
}

/** An HTTP server on a random 127.0.0.1 port with a request log and fault injection. */
export async function startContractServer(handler: Handler, options: { maxBodyBytes?: number } = {}): Promise<ContractServer> {
	const requests: RecordedRequest[] = [];
	const faults = new FaultInjector();
	const maxBody = options.maxBodyBytes ?? MAX_BODY_BYTES;
	const server = http.createServer((req, res) => {
		const url = new URL(req.url ?? '/', 'http://127.0.0.1');
		const chunks: Buffer[] = [];
		let size = 0;
		let tooLarge = false;
		req.on('data', (chunk: Buffer) => {
			size += chunk.length;
			if (size > maxBody) tooLarge = true;
			else chunks.push(chunk);
		});
		req.on('end', () => {
			const raw = Buffer.concat(chunks);
			const entry: RecordedRequest = {
				method: req.method ?? 'GET',
				path: decodeURIComponent(url.pathname),
				query: url.searchParams,
				headers: req.headers,
				body: parseBody(raw, req.headers['content-type']),
				raw,
				faulted: false,
				time: Date.now(),
			};
			requests.push(entry);
			const send = (reply: Reply) => {
				entry.status = reply.status;
				if (reply.raw) {
					res.writeHead(reply.status, { 'content-type': 'application/octet-stream', ...(reply.headers ?? {}) });
					res.end(reply.raw);
					return;
				}
				const json = reply.body === undefined ? '' : JSON.stringify(reply.body);
				res.writeHead(reply.status, { 'content-type': 'application/json', ...(reply.headers ?? {}) });
				res.end(json);
			};
			if (tooLarge) return send({ status: 413, body: { message: `Body over ${maxBody} bytes` } });
			const fault = faults.take(entry.method, entry.path);
			if (fault) entry.faulted = true;
			const run = async () => {
				if (fault?.kind === 'reset') return void req.socket.destroy();
				if (fault?.kind === 'status') {
					return send({
						status: fault.status,
						body: { message: `injected ${fault.status}` },
						headers: fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {},
					});
				}
				if (fault?.kind === 'latency') await new Promise((r) => setTimeout(r, fault.ms));
				let reply: Reply;
				try {
					reply = await handler(entry);
				} catch (error) {
					reply = { status: 500, body: { message: `contract server error: ${(error as Error).message}` } };
				}
				if (fault?.kind === 'reset-after') return void req.socket.destroy();
				send(reply);
			};
			void run();
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
		requests,
		faults,
		close: async () => {
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

export function bearer(request: RecordedRequest): string | undefined {
	const value = request.headers.authorization;
	return typeof value === 'string' && value.startsWith('Bearer ') ? value.slice(7) : undefined;
}

export function isJson(request: RecordedRequest): boolean {
	return String(request.headers['content-type'] ?? '').includes('application/json');
}
