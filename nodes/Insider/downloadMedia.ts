import { createHash } from 'node:crypto';
import { pipeline, Transform } from 'node:stream';
import type { Readable } from 'node:stream';

import { NodeOperationError } from 'n8n-workflow';
import type { IBinaryData, IDataObject, IExecuteFunctions } from 'n8n-workflow';

import { vendorApiError } from '../shared/errors';
import { secondsText } from '../shared/poll';
import { getFollowingRedirects, headerValue } from '../shared/streamedGet';
import { withRetry } from '../shared/retry';
import { readTimeoutSeconds } from '../shared/transport';
import { getMediaFacts } from './mediaFacts';
import { INSIDER_TIMEOUT_SECONDS, isInsiderUrl } from './transport';
import { fileNameFor, normaliseMimeType } from './whatsappLimits';

/** Who gets the auth key with a media download. */
export type SendAuthKey = 'insider' | 'always' | 'never';

export interface DownloadOptions {
	sendAuthKey?: SendAuthKey;
	fileName?: string;
	/** Seconds, as the user set them; default INSIDER_TIMEOUT_SECONDS. */
	requestTimeout?: number;
}

export interface DownloadedMedia {
	json: IDataObject;
	binary: IBinaryData;
}

/** Redirects followed by hand, so each hop decides on its own whether the key may go there. */
const MAX_REDIRECTS = 5;
/** Of an error answer, enough to show the host's message. */
const ERROR_BODY_BYTES = 64 * 1024;

/** The file name a Content-Disposition header gives (RFC 6266 `filename*` first), if any. */
export function fileNameFromDisposition(disposition: string | undefined): string | undefined {
	if (!disposition) return undefined;
	const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(disposition);
	if (extended) {
		try {
			return decodeURIComponent(extended[1].trim());
		} catch {
			// A malformed escape: fall back to the plain parameter.
		}
	}
	const plain = /filename\s*=\s*(?:"([^"]*)"|([^;\s]+))/i.exec(disposition);
	const name = (plain?.[1] ?? plain?.[2])?.trim();
	return name ? name.replace(/^.*[\\/]/, '') : undefined;
}

/** A file name from a URL's last path segment, given the type's extension when it has none (`/media-files/123` → `123.jpg`). */
function fileNameFromUrl(url: URL, mimeType: string): string | undefined {
	let last = url.pathname.split('/').pop() ?? '';
	try {
		last = decodeURIComponent(last);
	} catch {
		// Kept as sent.
	}
	if (!last || /[\\/]/.test(last)) return undefined;
	return /\.[A-Za-z0-9]{1,8}$/.test(last) ? last : fileNameFor(last, mimeType);
}

/** Insider's sha256, hex or base64, against the bytes received; undefined when Insider gave none we can read. */
function matchesSha256(expected: unknown, digest: Buffer): boolean | undefined {
	if (typeof expected !== 'string') return undefined;
	const value = expected.trim();
	if (/^[0-9a-f]{64}$/i.test(value)) return value.toLowerCase() === digest.toString('hex');
	if (/^[A-Za-z0-9+/]{43}=$/.test(value)) return value === digest.toString('base64');
	return undefined;
}

/**
 * Download of a media file into n8n's binary storage, streamed (no whole file in memory) and hashed
 * on the way. Given a media ID, it first asks Insider for the URL (and the SHA-256 to check the
 * bytes against). The auth key goes only to Insider's hosts unless the user says otherwise, also
 * across redirects, which is why they are followed here and not by axios (it would forward the
 * x-ins-auth-key header to any host a redirect names).
 */
export async function downloadMedia(
	this: IExecuteFunctions,
	itemIndex: number,
	source: string,
	options: DownloadOptions,
): Promise<DownloadedMedia> {
	const timeoutMs = readTimeoutSeconds(options.requestTimeout, undefined, itemIndex) ?? INSIDER_TIMEOUT_SECONDS * 1000;
	const isUrl = /^https?:\/\//i.test(source);
	const facts = isUrl ? undefined : await getMediaFacts.call(this, source, itemIndex, timeoutMs);
	const address = isUrl ? source : facts?.url;
	if (typeof address !== 'string' || !/^https?:\/\//i.test(address)) {
		throw new NodeOperationError(this.getNode(), `Item ${itemIndex}: Insider gave no download URL for media "${source}"`, { itemIndex });
	}
	const credentials = await this.getCredentials('insiderApi');
	const mode = options.sendAuthKey ?? 'insider';
	const first = new URL(address);
	const keyGoesTo = (url: URL) => mode !== 'never' && (isInsiderUrl(url, credentials) || (mode === 'always' && url.host === first.host));
	const signal = this.getExecutionCancelSignal?.();

	let url = first;
	const fetchOnce = async () =>
		await getFollowingRedirects(this, first, {
			credentialType: 'insiderApi',
			sendCredentialTo: keyGoesTo,
			abortSignal: signal,
			maxRedirects: MAX_REDIRECTS,
			errorBodyBytes: ERROR_BODY_BYTES,
			timeoutMs,
			onRequest: (hop) => {
				url = hop;
			},
		});

	let stored: { binary: IBinaryData; sha256: Buffer; bytes: number; mimeType: string; fileName: string };
	try {
		stored = await withRetry(
			async () => {
				const { response, url: finalUrl } = await fetchOnce();
				const headers = (response.headers ?? {}) as IDataObject;
				const served = normaliseMimeType(headerValue(headers, 'content-type'));
				const mimeType =
					served && served !== 'application/octet-stream' ? served : normaliseMimeType(String(facts?.['mime-type'] ?? '')) || served || 'application/octet-stream';
				const fileName =
					options.fileName?.trim() ||
					fileNameFromDisposition(headerValue(headers, 'content-disposition')) ||
					(facts?.id ? fileNameFor(String(facts.id), mimeType) : undefined) ||
					fileNameFromUrl(finalUrl, mimeType) ||
					fileNameFor('media', mimeType);
				const hash = createHash('sha256');
				let bytes = 0;
				const counter = new Transform({
					transform(chunk: Buffer, _encoding, done) {
						hash.update(chunk);
						bytes += chunk.length;
						done(null, chunk);
					},
				});
				// pipeline, not pipe: a connection that breaks off fails the store instead of leaving it waiting.
				pipeline(response.body as Readable, counter, () => undefined);
				const binary = await this.helpers.prepareBinaryData(counter, fileName, mimeType);
				return { binary, sha256: hash.digest(), bytes, mimeType, fileName };
			},
			{ idempotent: true, abortSignal: signal },
		);
	} catch (error) {
		const insider = isInsiderUrl(url, credentials);
		throw vendorApiError(this.getNode(), error, {
			vendor: insider ? 'Insider' : `The media host ${url.host}`,
			// Origin and path only: a signed URL's query may hold a token.
			operation: `GET ${url.origin}${url.pathname}`,
			deadline: secondsText(timeoutMs),
			itemIndex,
			secrets: [credentials.authKey as string | undefined],
		});
	}

	const verified = matchesSha256(facts?.sha256, stored.sha256);
	if (verified === false) {
		throw new NodeOperationError(this.getNode(), `Item ${itemIndex}: the downloaded file does not match the SHA-256 Insider gave for media "${source}"`, {
			itemIndex,
			description: `Insider: ${String(facts?.sha256)}; received ${stored.bytes} bytes with SHA-256 ${stored.sha256.toString('hex')}. Try the download again.`,
		});
	}
	return {
		json: {
			id: facts?.id ?? null,
			url: address,
			'file-name': stored.fileName,
			'mime-type': stored.mimeType,
			'file-size': stored.bytes,
			sha256: stored.sha256.toString('hex'),
			...(verified === true ? { 'sha256-verified': true } : {}),
			// Insider's answer to the URL lookup; a download by URL asks Insider nothing.
			...(facts ? { response: facts.response } : {}),
		},
		binary: stored.binary,
	};
}
