/**
 * A server that never finishes answering, for deadline tests: it accepts every connection and reads
 * each request whole (so an upload is sent in full), then either says nothing at all ('silent') or
 * sends the status line, the headers and the first bytes of a body it never completes ('stall').
 * Node's own server timeouts are off, so only the client can end the wait; close() drops every
 * connection it still holds.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type SilentMode = 'silent' | 'stall';

export interface SilentRequest {
	method: string;
	/** The URL path, without the query. */
	path: string;
	headers: http.IncomingHttpHeaders;
	/** Bytes of request body received. */
	bodyBytes: number;
}

export interface SilentServer {
	url: string;
	/** Every request read so far, in order. */
	requests: SilentRequest[];
	/** Connections still open: a client that gave up closes its own. */
	openConnections(): number;
	close(): Promise<void>;
}

export interface SilentServerOptions {
	mode?: SilentMode;
	/** 'stall': the Content-Type and the first bytes sent (the declared Content-Length is larger). */
	contentType?: string;
	firstBytes?: Buffer;
}

export async function startSilentServer(options: SilentServerOptions = {}): Promise<SilentServer> {
	const mode = options.mode ?? 'silent';
	const firstBytes = options.firstBytes ?? Buffer.from('first bytes of a body that never ends');
	const requests: SilentRequest[] = [];
	const sockets = new Set<Socket>();
	const server = http.createServer((req, res) => {
		const entry: SilentRequest = { method: req.method ?? 'GET', path: new URL(req.url ?? '/', 'http://127.0.0.1').pathname, headers: req.headers, bodyBytes: 0 };
		req.on('data', (chunk: Buffer) => {
			entry.bodyBytes += chunk.length;
		});
		req.on('end', () => {
			requests.push(entry);
			if (mode === 'silent') return;
			res.writeHead(200, {
				'content-type': options.contentType ?? 'application/octet-stream',
				'content-length': String(firstBytes.length * 1000),
			});
			res.write(firstBytes);
		});
	});
	// Node's defaults would end a request after 300 s or drop idle keep-alive sockets: the client's deadline is what is tested.
	server.requestTimeout = 0;
	server.headersTimeout = 0;
	server.timeout = 0;
	server.on('connection', (socket: Socket) => {
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		requests,
		openConnections: () => sockets.size,
		close: async () => {
			for (const socket of sockets) socket.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}
