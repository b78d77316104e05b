/**
 * Talking HTTP to n8n: one-off requests, the error for a non-2xx answer, and a session that calls
 * the public API with the API key and the editor's own endpoints as the signed-in owner.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';

export interface HttpResponse {
	status: number;
	headers: Record<string, string | string[] | undefined>;
	text: string;
}

export interface RawResponse extends HttpResponse {
	/** The JSON body parsed, or the text when it is not JSON (undefined when empty). */
	body: unknown;
}

/** One request, no keep-alive (so nothing keeps Jest alive afterwards). */
export function httpCall(
	method: string,
	url: string,
	options: { headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<HttpResponse> {
	return new Promise((resolvePromise, reject) => {
		const req = httpRequest(
			url,
			{ method, headers: options.headers, agent: false, timeout: options.timeoutMs ?? 60_000 },
			(res) => {
				const chunks: Buffer[] = [];
				res.on('data', (chunk: Buffer) => chunks.push(chunk));
				res.on('end', () =>
					resolvePromise({
						status: res.statusCode ?? 0,
						headers: res.headers,
						text: Buffer.concat(chunks).toString('utf8'),
					}),
				);
				res.on('error', reject);
			},
		);
		req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer within ${options.timeoutMs ?? 60_000} ms`)));
		req.on('error', reject);
		if (options.body !== undefined) req.write(options.body);
		req.end();
	});
}

/** A non-2xx answer from n8n, with what it said. */
export class N8nHttpError extends Error {
	constructor(
		readonly method: string,
		readonly path: string,
		readonly status: number,
		readonly body: unknown,
	) {
		super(`${method} ${path} answered ${status}: ${typeof body === 'string' ? body : JSON.stringify(body)}`.slice(0, 2000));
		this.name = 'N8nHttpError';
	}
}

function parseBody(text: string): unknown {
	if (text === '') return undefined;
	try {
		return JSON.parse(text) as unknown;
	} catch {
		return text;
	}
}

// ---------------------------------------------------------------------------------------------
// The session

/** A call that answers the parsed JSON body and throws N8nHttpError on non-2xx. */
export type JsonCall = <T = unknown>(method: string, path: string, body?: unknown) => Promise<T>;

/** The calls the handle offers (see N8nHandle), on one n8n with one cookie jar and browser id. */
export interface N8nSession {
	/** Any path from the root without throwing: status and parsed body (cookie + browser-id outside /api, the API key on /api). */
	raw(method: string, pathFromRoot: string, body?: unknown): Promise<RawResponse>;
	/** Public API (`/api/v1` + path) with the API key; throws N8nHttpError on non-2xx. */
	api: JsonCall;
	/** Internal REST (`/rest` + path) as the signed-in owner (cookie + browser-id); the whole JSON body (n8n wraps results in `{ data }`). */
	rest: JsonCall;
	/** The key /api calls carry from now on (none until the owner has created one). */
	useApiKey(apiKey: string): void;
}

type CookieJar = Map<string, string>;

function rememberCookies(cookies: CookieJar, setCookie: string | string[] | undefined): void {
	for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
		const [pair] = line.split(';');
		const eq = pair.indexOf('=');
		if (eq > 0) cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
	}
}

function requestHeaders(pathFromRoot: string, browserId: string, cookies: CookieJar, apiKey: string): Record<string, string> {
	const headers: Record<string, string> = { accept: 'application/json' };
	if (!pathFromRoot.startsWith('/api/')) {
		// The editor's own calls (/rest, /types, /icons) carry the session cookie and browser-id: n8n
		// accepts the cookie only together with the browser-id the session was signed in with.
		headers['browser-id'] = browserId;
		if (cookies.size > 0) headers.cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
	}
	if (pathFromRoot.startsWith('/api/') && apiKey) headers['x-n8n-api-key'] = apiKey;
	return headers;
}

/** A session on the n8n at `url` (`http://127.0.0.1:<port>`): cookies from its answers are kept and sent back. */
export function createSession(url: string): N8nSession {
	const browserId = randomUUID();
	const cookies: CookieJar = new Map();
	let apiKey = '';

	const raw = async (method: string, pathFromRoot: string, body?: unknown): Promise<RawResponse> => {
		const headers = requestHeaders(pathFromRoot, browserId, cookies, apiKey);
		let text: string | undefined;
		if (body !== undefined) {
			text = JSON.stringify(body);
			headers['content-type'] = 'application/json';
		}
		const res = await httpCall(method, `${url}${pathFromRoot}`, { headers, body: text });
		rememberCookies(cookies, res.headers['set-cookie']);
		return { status: res.status, headers: res.headers, text: res.text, body: parseBody(res.text) };
	};
	const call = async <T>(method: string, pathFromRoot: string, body?: unknown): Promise<T> => {
		const res = await raw(method, pathFromRoot, body);
		if (res.status < 200 || res.status >= 300) throw new N8nHttpError(method, pathFromRoot, res.status, res.body);
		return res.body as T;
	};
	return {
		raw,
		api: async <T = unknown>(method: string, path: string, body?: unknown): Promise<T> => await call<T>(method, `/api/v1${path}`, body),
		rest: async <T = unknown>(method: string, path: string, body?: unknown): Promise<T> => await call<T>(method, `/rest${path}`, body),
		useApiKey(key: string): void {
			apiKey = key;
		},
	};
}

// ---------------------------------------------------------------------------------------------
// The owner

export interface Owner {
	email: string;
	password: string;
}

/** The owner every test n8n gets (a fresh user folder each time, so always the same one). */
export const E2E_OWNER: Owner = { email: 'owner@whilter-e2e.test', password: 'E2e-Owner-Passw0rd' };

/**
 * Creates the owner (which signs the session in) and an API key with every scope the owner may
 * grant; the session's /api calls carry that key from then on. Returns the key.
 */
export async function setUpOwner(session: N8nSession, owner: Owner = E2E_OWNER): Promise<string> {
	await session.rest('POST', '/owner/setup', { ...owner, firstName: 'E2E', lastName: 'Owner' });
	const scopes = (await session.rest<{ data: string[] }>('GET', '/api-keys/scopes')).data;
	const created = await session.rest<{ data: { rawApiKey: string } }>('POST', '/api-keys', {
		label: 'e2e',
		expiresAt: null,
		scopes,
	});
	session.useApiKey(created.data.rawApiKey);
	return created.data.rawApiKey;
}
