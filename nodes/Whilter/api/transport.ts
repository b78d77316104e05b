import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';

import { createVendorTransport, readTimeoutSeconds } from '../../shared/transport';
import type { ApiContext, ApiRequest } from '../../shared/transport';

export type WhilterContext = ApiContext;

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
	/** Seconds; see WHILTER_TIMEOUT_SECONDS. */
	requestTimeout?: number;
	/** Seconds; see WHILTER_TOKEN_TIMEOUT_SECONDS. */
	tokenUrlTimeout?: number;
}

/** How long a Whilter API call may take unless the credential or the node says otherwise (see createVendorTransport). */
export const WHILTER_TIMEOUT_SECONDS = 60;
/** How long the token request may take unless the credential says otherwise. */
export const WHILTER_TOKEN_TIMEOUT_SECONDS = 30;

/** The deadline of every Whilter call: the credential's Request Timeout, else the default. */
export function whilterTimeoutMs(credentials: WhilterCredentials | ICredentialDataDecryptedObject): number {
	return readTimeoutSeconds((credentials as WhilterCredentials).requestTimeout) ?? WHILTER_TIMEOUT_SECONDS * 1000;
}

export interface WhilterRequest extends ApiRequest {
	/** Batch endpoints live under /<client>; the real-time and cancel endpoints do not. */
	clientScoped: boolean;
}

export function whilterCredentials(credentials: ICredentialDataDecryptedObject): WhilterCredentials {
	return credentials as unknown as WhilterCredentials;
}

export function whilterSecrets(credentials: WhilterCredentials | ICredentialDataDecryptedObject): Array<string | undefined> {
	const c = credentials as WhilterCredentials;
	return [c.clientSecret, c.accessToken, c.sessionToken, c.apiKey, c.s3SecretAccessKey];
}

export function whilterUrl(credentials: WhilterCredentials, path: string, clientScoped: boolean): string {
	const base = String(credentials.baseUrl ?? '').replace(/\/+$/, '');
	const client = encodeURIComponent(String(credentials.client ?? '').replace(/^\/+|\/+$/g, ''));
	return clientScoped ? `${base}/${client}${path}` : `${base}${path}`;
}

const whilterTransport = createVendorTransport<WhilterRequest>({
	vendor: 'Whilter',
	credentialType: 'whilterApi',
	url: (credentials, request) => whilterUrl(whilterCredentials(credentials), request.path, request.clientScoped),
	secrets: whilterSecrets,
	sentOnceBecause: 'Whilter does not make the same thing twice',
	timeoutMs: whilterTimeoutMs,
});

/**
 * The one way the Whilter nodes call Whilter (nodes/shared/transport.ts): n8n adds the token,
 * fetching or renewing it through the credential's preAuthentication.
 */
export async function whilterApiRequest(this: WhilterContext, request: WhilterRequest): Promise<IDataObject> {
	return (await whilterTransport.call(this, request)).body;
}

export async function getWhilterCredentials(context: WhilterContext): Promise<WhilterCredentials> {
	return whilterCredentials(await context.getCredentials('whilterApi'));
}
