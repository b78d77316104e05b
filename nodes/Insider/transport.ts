import type {
	ICredentialDataDecryptedObject,
	IDataObject,
	IExecuteFunctions,
	IHttpRequestMethods,
	IHttpRequestOptions,
	ILoadOptionsFunctions,
} from 'n8n-workflow';

import { readVendorFailure, vendorApiError } from '../shared/errors';
import { isIdempotentMethod, withRetry } from '../shared/retry';

export type InsiderContext = IExecuteFunctions | ILoadOptionsFunctions;

export function insiderBaseUrl(credentials: ICredentialDataDecryptedObject): string {
	return String(credentials.baseUrl || 'https://whatsapp.useinsider.com').replace(/\/+$/, '');
}

export interface InsiderRequest {
	method: IHttpRequestMethods;
	path: string;
	body?: IHttpRequestOptions['body'];
	/** Added to Accept: application/json (e.g. a multipart Content-Type and Content-Length). */
	headers?: IDataObject;
	/** A streamed body: no redirects, as following one would make axios keep every byte sent for a replay. */
	disableFollowRedirect?: boolean;
	itemIndex?: number;
}

/**
 * The one way the Insider node calls Insider's API: the credential adds x-ins-auth-key, GETs go
 * through the package's retry policy, uploads are sent once, and failures carry Insider's own message.
 */
export async function insiderApiRequest(this: InsiderContext, request: InsiderRequest): Promise<IDataObject> {
	const credentials = await this.getCredentials('insiderApi');
	const options: IHttpRequestOptions = {
		method: request.method,
		url: `${insiderBaseUrl(credentials)}${request.path}`,
		headers: { Accept: 'application/json', ...(request.headers ?? {}) },
		json: true,
		...(request.body !== undefined ? { body: request.body } : {}),
		...(request.disableFollowRedirect ? { disableFollowRedirect: true } : {}),
	};
	const idempotent = isIdempotentMethod(request.method);
	try {
		return (await withRetry(async () => await this.helpers.httpRequestWithAuthentication.call(this, 'insiderApi', { ...options }), {
			idempotent,
		})) as IDataObject;
	} catch (error) {
		throw vendorApiError(this.getNode(), error, {
			vendor: 'Insider',
			// Said in the message so a user seeing a 429 or 503 on an upload knows why it was not tried again.
			operation: `${request.method} ${request.path}${idempotent ? '' : ' (sent once, not retried, so that no second copy is created)'}`,
			itemIndex: request.itemIndex,
			secrets: [credentials.authKey as string | undefined],
		});
	}
}

/**
 * Whether a media URL belongs to Insider, so the auth key may go with it: the credential's Base URL
 * host, or an https host under useinsider.com. Anything else (a CDN, a third party) never sees the key.
 */
export function isInsiderUrl(url: URL, credentials: ICredentialDataDecryptedObject): boolean {
	const base = new URL(insiderBaseUrl(credentials));
	if (url.protocol === base.protocol && url.host === base.host) return true;
	return url.protocol === 'https:' && (url.hostname === 'useinsider.com' || url.hostname.endsWith('.useinsider.com'));
}

/** Insider's answer about a key: 401/403 reject it; any other answer means the key was accepted. */
export function judgeAuthKeyProbe(error: unknown): { status: 'OK' | 'Error'; message: string } {
	const failure = readVendorFailure(error);
	if (failure.status === 401 || failure.status === 403) return { status: 'Error', message: 'Insider rejected the auth key' };
	if (failure.status) return { status: 'OK', message: 'Insider accepted the auth key' };
	return { status: 'Error', message: `Insider could not be reached${failure.networkCode ? ` (${failure.networkCode})` : ''}` };
}
