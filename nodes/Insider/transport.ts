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

/**
 * The one way the Insider node calls Insider: the credential adds x-ins-auth-key, GETs go through
 * the package's retry policy, uploads are sent once, and failures carry Insider's own message.
 */
export async function insiderApiRequest(
	this: InsiderContext,
	request: { method: IHttpRequestMethods; path: string; body?: IHttpRequestOptions['body']; itemIndex?: number },
): Promise<IDataObject> {
	const credentials = await this.getCredentials('insiderApi');
	const options: IHttpRequestOptions = {
		method: request.method,
		url: `${insiderBaseUrl(credentials)}${request.path}`,
		headers: { Accept: 'application/json' },
		json: true,
		...(request.body !== undefined ? { body: request.body } : {}),
	};
	try {
		return (await withRetry(async () => await this.helpers.httpRequestWithAuthentication.call(this, 'insiderApi', { ...options }), {
			idempotent: isIdempotentMethod(request.method),
		})) as IDataObject;
	} catch (error) {
		throw vendorApiError(this.getNode(), error, {
			vendor: 'Insider',
			operation: `${request.method} ${request.path}`,
			itemIndex: request.itemIndex,
			secrets: [credentials.authKey as string | undefined],
		});
	}
}

/** Insider's answer about a key: 401/403 reject it; any other answer means the key was accepted. */
export function judgeAuthKeyProbe(error: unknown): { status: 'OK' | 'Error'; message: string } {
	const failure = readVendorFailure(error);
	if (failure.status === 401 || failure.status === 403) return { status: 'Error', message: 'Insider rejected the auth key' };
	if (failure.status) return { status: 'OK', message: 'Insider accepted the auth key' };
	return { status: 'Error', message: `Insider could not be reached${failure.networkCode ? ` (${failure.networkCode})` : ''}` };
}
