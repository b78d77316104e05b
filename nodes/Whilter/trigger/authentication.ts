import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

import type { Refusal } from '../api/callbackPayload';

/** The node's "Authentication" values (the same words as n8n's Webhook node). */
export type TriggerAuthentication = 'none' | 'headerAuth' | 'basicAuth';

/** What a caller must send, from the credential the node is given. */
export type ExpectedAuth =
	| { kind: 'none' }
	| { kind: 'headerAuth'; name: string; value: string }
	| { kind: 'basicAuth'; user: string; password: string };

export type AuthOutcome = { ok: true } | { ok: false; refusal: Refusal };

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Shorter shared secrets can be guessed; the credential test says so. */
export const MIN_SECRET_LENGTH = 16;

/** What is wrong with a header-auth credential's values, or undefined (the credential test's check). */
export function headerCredentialProblem(headerName: string, secret: string): string | undefined {
	if (!HEADER_NAME.test(headerName.trim())) return `"${headerName}" is not a valid HTTP header name`;
	if (secret.length < MIN_SECRET_LENGTH) return `The secret is ${secret.length} characters long: use at least ${MIN_SECRET_LENGTH} random characters`;
	return undefined;
}

/** What is wrong with a basic-auth credential's values, or undefined. */
export function basicCredentialProblem(user: string, password: string): string | undefined {
	if (!user) return 'The user is empty';
	if (user.includes(':')) return 'The user contains ":", which HTTP basic auth cannot carry in a user name';
	if (password.length < MIN_SECRET_LENGTH) return `The password is ${password.length} characters long: use at least ${MIN_SECRET_LENGTH} random characters`;
	return undefined;
}

export const BASIC_CHALLENGE = 'Basic realm="Whilter Trigger", charset="UTF-8"';

/**
 * Equality that takes the same time whatever the inputs: both sides are hashed to 32 bytes first,
 * so timingSafeEqual never sees different lengths and neither the secret's content nor its length
 * leaks through how long the answer takes.
 */
export function safeEqual(given: string, expected: string): boolean {
	const a = createHash('sha256').update(given, 'utf8').digest();
	const b = createHash('sha256').update(expected, 'utf8').digest();
	return timingSafeEqual(a, b);
}

function refuse(status: number, message: string, headers?: Record<string, string>): AuthOutcome {
	return { ok: false, refusal: { status, message, ...(headers ? { headers } : {}) } };
}

function single(value: string | string[] | undefined): string | undefined {
	if (Array.isArray(value)) return value.length === 1 ? value[0] : undefined;
	return value;
}

/** `Authorization: Basic base64(user:password)`; undefined when absent or not Basic. */
export function parseBasicAuthorization(header: string | undefined): { user: string; password: string } | undefined {
	const match = /^\s*basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header ?? '');
	if (!match) return undefined;
	const decoded = Buffer.from(match[1], 'base64').toString('utf8');
	const colon = decoded.indexOf(':');
	if (colon < 0) return undefined;
	return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Checks a request's headers against what the node expects. A missing secret is 401 (with a Basic
 * challenge for basic auth), a wrong one 403, a credential without its values 500: in every refusal
 * nothing starts. The messages never repeat what was sent or expected.
 */
export function checkAuthentication(expected: ExpectedAuth, headers: IncomingHttpHeaders): AuthOutcome {
	if (expected.kind === 'none') return { ok: true };

	if (expected.kind === 'headerAuth') {
		const name = expected.name.trim().toLowerCase();
		if (!name || !expected.value) return refuse(500, 'The Whilter Trigger\'s Whilter Callback Header Auth credential has no header name or value');
		const raw = headers[name];
		if (raw === undefined) return refuse(401, `Authorization required: the ${name} header is missing`);
		// A header sent twice is ambiguous: refused rather than guessing which copy counts.
		const given = single(raw);
		if (given === undefined || !safeEqual(given, expected.value)) return refuse(403, `The ${name} header is wrong`);
		return { ok: true };
	}

	if (!expected.user || !expected.password) return refuse(500, 'The Whilter Trigger\'s Whilter Callback Basic Auth credential has no user or password');
	const authorization = single(headers.authorization);
	if (authorization === undefined || authorization.trim() === '') {
		return refuse(401, 'Authorization required (HTTP basic auth)', { 'WWW-Authenticate': BASIC_CHALLENGE });
	}
	const given = parseBasicAuthorization(authorization);
	if (!given) return refuse(401, 'Authorization required: the Authorization header is not HTTP basic auth', { 'WWW-Authenticate': BASIC_CHALLENGE });
	// Both compared every time (no short cut on the user), so a right user name is not told apart by timing.
	const userOk = safeEqual(given.user, expected.user);
	const passwordOk = safeEqual(given.password, expected.password);
	return userOk && passwordOk ? { ok: true } : refuse(403, 'The basic auth user or password is wrong');
}
