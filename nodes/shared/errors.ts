import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import type { INode, JsonObject } from 'n8n-workflow';

import { failureFacts } from './retry';

/**
 * Bad input the package found itself, in words a user can act on: which item, row, field or
 * parameter, and what was expected. Modules throw it without knowing the node; the per-item toolkit
 * (nodes/shared/perItem.ts) turns it into a NodeOperationError on the right item.
 */
export interface InputErrorDetails {
	itemIndex?: number;
	/** 1-based data row of a CSV file or of the input items. */
	row?: number;
	field?: string;
	/** The node parameter's display name, when a parameter is at fault. */
	parameter?: string;
	description?: string;
}

/**
 * n8n could not get a token for a call (the credential's token request failed). The call was then
 * either never sent or refused as unauthenticated before the renewal was tried, so the vendor did
 * nothing with it: a creating call may safely be run again once a token can be had.
 */
export class TokenUnavailableError extends Error {
	readonly tokenUnavailable = true;
}

/** Whether `error` (or an error it wraps: n8n puts the credential's error in a NodeApiError's cause) is a TokenUnavailableError. */
export function isTokenUnavailable(error: unknown): boolean {
	return tokenFailureIn(error) !== undefined;
}

function tokenFailureIn(error: unknown): { message?: unknown } | undefined {
	let current: unknown = error;
	for (let depth = 0; depth < 6 && current !== null && typeof current === 'object'; depth++) {
		if ((current as { tokenUnavailable?: unknown }).tokenUnavailable === true) return current as { message?: unknown };
		current = (current as { cause?: unknown }).cause;
	}
	return undefined;
}

export class InputError extends Error {
	constructor(
		message: string,
		readonly details: InputErrorDetails = {},
	) {
		super(message);
		this.name = 'InputError';
	}
}

/** What a vendor said when a call failed: its HTTP status and its own words, nothing else. */
export interface VendorFailure {
	status?: number;
	message?: string;
	body?: unknown;
	networkCode?: string;
	/** The call ran out of time: no answer, or an answer that stopped (see FailureFacts). */
	timedOut?: 'answer' | 'stall';
	/** The answer began, then its connection closed before the body ended (see FailureFacts). */
	cutOff?: boolean;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
	return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

function parseBody(data: unknown): unknown {
	if (typeof data === 'string' || Buffer.isBuffer(data)) {
		const text = data.toString();
		try {
			return JSON.parse(text) as unknown;
		} catch {
			return text;
		}
	}
	return data;
}

function messageOf(body: unknown): string | undefined {
	if (typeof body === 'string') return body.trim() || undefined;
	const record = asRecord(body);
	if (!record) return undefined;
	for (const key of ['message', 'error_description', 'error', 'detail']) {
		const value = record[key];
		if (typeof value === 'string' && value.trim()) return value.trim();
		const nested = asRecord(value);
		if (nested && typeof nested.message === 'string') return nested.message;
	}
	return undefined;
}

/**
 * Takes the status and the vendor's body out of an HTTP error. The error itself is never passed on:
 * axios errors carry the request (headers with tokens, bodies with client secrets).
 */
export function readVendorFailure(error: unknown): VendorFailure {
	const facts = failureFacts(error);
	let body: unknown;
	const seen = new Set<unknown>();
	for (let current = asRecord(error); current && !seen.has(current); current = asRecord(current.cause)) {
		seen.add(current);
		const response = asRecord(current.response);
		if (response && (response.data !== undefined || response.body !== undefined)) {
			body = parseBody(response.data ?? response.body);
			break;
		}
	}
	// A body cut off mid-way is no answer of the vendor's: neither its status nor its bytes are read as one.
	if (facts.cutOff) return { networkCode: facts.networkCode, cutOff: true };
	return { status: facts.status, body, message: messageOf(body), networkCode: facts.networkCode, timedOut: facts.timedOut };
}

/** Header names whose values are credentials: Authorization, and any header naming a key, token, secret or auth. */
const CREDENTIAL_HEADER = /^(proxy-)?authorization$|(^|-)(key|token|secret)$|auth/i;

/**
 * The credential values a failed request carried in its headers (axios keeps the request's config on
 * its error, and n8n-core passes that error on as the cause). A token that n8n fetched or renewed
 * during the call (a credential's preAuthentication) is among them, though the caller's copy of the
 * credential, read before the call, never held it.
 */
export function secretsSentWith(error: unknown): string[] {
	const found: string[] = [];
	const seen = new Set<unknown>();
	for (let current = asRecord(error); current && !seen.has(current); current = asRecord(current.cause)) {
		seen.add(current);
		const headers = asRecord(asRecord(current.config)?.headers);
		for (const [name, value] of Object.entries(headers ?? {})) {
			if (typeof value !== 'string' || !CREDENTIAL_HEADER.test(name)) continue;
			found.push(value);
			const scheme = /^\s*(?:Bearer|Basic|Token)\s+(\S+)/i.exec(value);
			if (scheme) found.push(scheme[1]);
		}
	}
	return found;
}

/** Removes every secret value from a text that may reach the user, a log or an output item. */
export function redact(text: string, secrets: Array<string | undefined>): string {
	let out = text;
	for (const secret of secrets) {
		if (secret && secret.length >= 4) out = out.split(secret).join('***');
	}
	return out;
}

function redactDeep(value: unknown, secrets: Array<string | undefined>): unknown {
	if (typeof value === 'string') return redact(value, secrets);
	if (Array.isArray(value)) return value.map((v) => redactDeep(v, secrets));
	const record = asRecord(value);
	if (!record) return value;
	return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, redactDeep(v, secrets)]));
}

function deepestMessage(error: unknown): string {
	let message = error instanceof Error ? error.message : String(error);
	const seen = new Set<unknown>();
	for (let current = asRecord(error); current && !seen.has(current); current = asRecord(current.cause)) {
		seen.add(current);
		if (typeof current.message === 'string' && current.message) message = current.message;
	}
	return message;
}

const NETWORK_WORDS: Record<string, string> = {
	ECONNRESET: 'the connection was dropped',
	ECONNREFUSED: 'the connection was refused',
	ECONNABORTED: 'the connection was aborted',
	ETIMEDOUT: 'no answer in time',
	ESOCKETTIMEDOUT: 'no answer in time',
	EPIPE: 'the connection broke while sending',
	ENOTFOUND: 'its host name was not found',
	EAI_AGAIN: 'its host name could not be looked up',
	EHOSTUNREACH: 'its host is unreachable',
};

export function networkWords(code: string): string {
	return NETWORK_WORDS[code.toUpperCase()] ?? 'a network error';
}

export interface VendorErrorContext {
	vendor: string;
	/** e.g. 'GET /acme/task/status/123' — never a full URL with a query that could hold a key. */
	operation: string;
	/** A creating call, sent once and not retried: the message says so. */
	sentOnce?: boolean;
	/** The call's deadline as the user set it, e.g. '60 s': a timeout names it. */
	deadline?: string;
	itemIndex?: number;
	secrets?: Array<string | undefined>;
}

/** A timeout in words that name the vendor, the call and the deadline; n8n's own text for ETIMEDOUT names none of them. */
function timeoutMessage(context: VendorErrorContext, timedOut: 'answer' | 'stall'): { message: string; description: string } {
	const { vendor, operation, deadline } = context;
	const sentOnce = context.sentOnce ? ' (sent once, not retried)' : '';
	if (timedOut === 'stall') {
		return {
			message: `${vendor} stopped sending ${operation}${deadline ? `: no data for ${deadline}` : ''}${sentOnce}`,
			description: `The answer began, then no data came${deadline ? ` for ${deadline}` : ''}.`,
		};
	}
	return {
		message: `${vendor} did not answer ${operation} ${deadline ? `within ${deadline}` : 'in time'}${sentOnce}`,
		description: `No answer came${deadline ? ` within ${deadline}` : ''}.`,
	};
}

/** A NodeApiError in n8n's style: the vendor's message and status, which call, which item, no secrets. */
export function vendorApiError(node: INode, error: unknown, context: VendorErrorContext): NodeApiError {
	if (error instanceof NodeApiError && (error as NodeApiError & { vendorChecked?: boolean }).vendorChecked) return error;
	const secrets = [...(context.secrets ?? []), ...secretsSentWith(error)];
	const tokenFailure = tokenFailureIn(error);
	// A failed token request is not the vendor's answer to this call: its status is not this call's.
	const failure: VendorFailure = tokenFailure ? {} : readVendorFailure(error);
	const operation = `${context.operation}${context.sentOnce ? ' (sent once, not retried)' : ''}`;
	let message: string;
	let description: string | undefined;
	if (tokenFailure) {
		// The credential's own words (n8n rewrites a wrapped message that names a network code).
		message = redact(`n8n got no ${context.vendor} token for ${context.operation}: ${String(tokenFailure.message ?? 'the token request failed')}`, secrets);
	} else if (failure.status) {
		const what = `${context.vendor} answered HTTP ${failure.status} to ${operation}`;
		message = redact(failure.message ? `${what}: ${failure.message}` : what, secrets);
	} else if (failure.timedOut) {
		({ message, description } = timeoutMessage(context, failure.timedOut));
	} else if (failure.cutOff) {
		message = `${context.vendor} began answering ${operation}, then the connection closed before the answer ended`;
		description = 'The answer was cut off: what the vendor did is unknown.';
	} else if (failure.networkCode) {
		// The code stays out of the message: n8n replaces any message naming ECONNRESET & co. with its
		// own generic text, which would lose which vendor and which call failed.
		message = `${context.vendor} could not be reached for ${operation}: ${networkWords(failure.networkCode)}`;
	} else {
		// Not an HTTP failure: e.g. the credential's token request explained itself.
		message = redact(`${operation} failed: ${deepestMessage(error)}`, secrets);
	}
	const errorResponse: JsonObject = {
		message,
		...(failure.status ? { httpCode: String(failure.status) } : {}),
		...(failure.body !== undefined ? { body: redactDeep(failure.body, secrets) as JsonObject } : {}),
	};
	const apiError = new NodeApiError(node, errorResponse, {
		message,
		description: failure.message
			? redact(failure.message, secrets)
			: (description ?? (failure.networkCode && !failure.status ? `Network error ${failure.networkCode}` : undefined)),
		httpCode: failure.status ? String(failure.status) : undefined,
		itemIndex: context.itemIndex,
	});
	(apiError as NodeApiError & { vendorChecked?: boolean }).vendorChecked = true;
	// The plain errorResponse above does not carry the cause: keep the mark for isTokenUnavailable.
	if (tokenFailure) (apiError as NodeApiError & { tokenUnavailable?: boolean }).tokenUnavailable = true;
	return apiError;
}

/**
 * Errors the package raised as n8n errors pass as they are; bad input (InputError) becomes a
 * NodeOperationError on its item, its message starting with the item when `namesItem` is set (the
 * per-item toolkit sets it: the module that found the problem does not know the item); anything
 * else becomes a NodeOperationError on the item.
 */
export function asNodeError(node: INode, error: unknown, itemIndex: number, options: { namesItem?: boolean } = {}): NodeApiError | NodeOperationError {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
	if (error instanceof InputError) {
		const index = error.details.itemIndex ?? itemIndex;
		const message = options.namesItem && !/^Items? \d/.test(error.message) ? `Item ${index}: ${error.message}` : error.message;
		return new NodeOperationError(node, message, { itemIndex: index, description: error.details.description });
	}
	return new NodeOperationError(node, error instanceof Error ? error : String(error), { itemIndex });
}
