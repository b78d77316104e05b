import type {
	IDataObject,
	IExecuteFunctions,
	IHookFunctions,
	IHttpRequestMethods,
	IHttpRequestOptions,
	ILoadOptionsFunctions,
	IWebhookFunctions,
} from 'n8n-workflow';

import { vendorApiError } from '../shared/errors';
import { isIdempotentMethod, withRetry } from '../shared/retry';

export type WhilterContext = IExecuteFunctions | ILoadOptionsFunctions | IHookFunctions | IWebhookFunctions;

export interface WhilterCredentials {
	baseUrl: string;
	client: string;
	authentication: 'clientCredentials' | 'accessToken';
	clientId?: string;
	clientSecret?: string;
	accessToken?: string;
	sessionToken?: string;
	apiKey?: string;
	s3Bucket?: string;
	s3Prefix?: string;
	s3Region?: string;
	s3AccessKeyId?: string;
	s3SecretAccessKey?: string;
	s3Endpoint?: string;
	s3ForcePathStyle?: boolean;
}

export interface WhilterRequest {
	method: IHttpRequestMethods;
	/** Path after the base URL, e.g. '/task/status/42'. */
	path: string;
	/** Batch endpoints live under /<client>; the real-time and cancel endpoints do not. */
	clientScoped: boolean;
	body?: IDataObject;
	qs?: IDataObject;
	itemIndex?: number;
}

export function whilterSecrets(credentials: WhilterCredentials): Array<string | undefined> {
	return [
		credentials.clientSecret,
		credentials.accessToken,
		credentials.sessionToken,
		credentials.apiKey,
		credentials.s3SecretAccessKey,
	];
}

export function whilterUrl(credentials: WhilterCredentials, path: string, clientScoped: boolean): string {
	const base = String(credentials.baseUrl ?? '').replace(/\/+$/, '');
	const client = encodeURIComponent(String(credentials.client ?? '').replace(/^\/+|\/+$/g, ''));
	return clientScoped ? `${base}/${client}${path}` : `${base}${path}`;
}

/**
 * The one way the Whilter nodes call Whilter: n8n adds the token (fetching or renewing it through the
 * credential's preAuthentication), idempotent calls go through the package's retry policy, and a
 * failure becomes a NodeApiError with Whilter's own message and no secret in it.
 */
export async function whilterApiRequest(this: WhilterContext, request: WhilterRequest): Promise<IDataObject> {
	const credentials = (await this.getCredentials('whilterApi')) as unknown as WhilterCredentials;
	const url = whilterUrl(credentials, request.path, request.clientScoped);
	const options: IHttpRequestOptions = {
		method: request.method,
		url,
		headers: { Accept: 'application/json' },
		json: true,
	};
	if (request.body !== undefined) options.body = request.body;
	if (request.qs !== undefined) options.qs = request.qs;
	const operation = `${request.method} ${new URL(url).pathname}`;
	try {
		return (await withRetry(
			async () => await this.helpers.httpRequestWithAuthentication.call(this, 'whilterApi', { ...options }),
			{ idempotent: isIdempotentMethod(request.method) },
		)) as IDataObject;
	} catch (error) {
		throw vendorApiError(this.getNode(), error, {
			vendor: 'Whilter',
			operation,
			itemIndex: request.itemIndex,
			secrets: whilterSecrets(credentials),
		});
	}
}
