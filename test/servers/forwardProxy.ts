/**
 * A forward HTTP proxy on 127.0.0.1, as a company network puts between n8n and the internet: it
 * takes absolute-form requests (`GET http://host:port/path`, what a client sends to an HTTP proxy for
 * an http:// address), forwards them, and logs the host and method of each. CONNECT (https://
 * addresses) is answered 405: the servers here speak plain HTTP.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
	method: string;
	/** `host:port` of the address the client asked for. */
	host: string;
	path: string;
}

export interface ForwardProxy {
	url: string;
	requests: ProxiedRequest[];
	close(): Promise<void>;
}

export async function startForwardProxy(): Promise<ForwardProxy> {
	const requests: ProxiedRequest[] = [];
	const server = http.createServer((req, res) => {
		let target: URL;
		try {
			target = new URL(req.url ?? '');
		} catch {
			res.writeHead(400).end('absolute-form request expected');
			return;
		}
		requests.push({ method: req.method ?? '', host: target.host, path: `${target.pathname}${target.search}` });
		const headers = { ...req.headers };
		delete headers['proxy-connection'];
		delete headers['proxy-authorization'];
		const upstream = http.request(
			{ host: target.hostname === 'localhost' ? '127.0.0.1' : target.hostname, port: target.port || 80, method: req.method, path: `${target.pathname}${target.search}`, headers },
			(answer) => {
				res.writeHead(answer.statusCode ?? 502, answer.headers);
				answer.pipe(res);
			},
		);
		upstream.on('error', () => {
			if (!res.headersSent) res.writeHead(502);
			res.end();
		});
		req.pipe(upstream);
	});
	server.on('connect', (_req, socket) => {
		socket.end('HTTP/1.1 405 Method Not Allowed\r\n\r\n');
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		requests,
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}
