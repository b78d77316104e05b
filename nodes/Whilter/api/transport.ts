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
	/** ISO time after which the session token is no longer sent (credentials/WhilterApi.credentials.ts). */
	sessionUseUntil?: string;
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

/**
 * Whilter's integration guide names 401 or 403 as the answer to a token to renew: n8n renews on both
 * where it can (the transport passes them as preAuthenticationRetryStatusCode).
 */
export const WHILTER_RENEW_TOKEN_ON = [401, 403];

/**
 * Why a 403 to a call with a fetched token was not cured. If the token the call began with is still
 * the stored one, n8n did not renew it after the 403: this n8n renews only after a 401 (n8n 2.8 does
 * so). The credential stops sending a token before its expires_in ends, so this is a token Whilter
 * ended early. If the token changed during the call, a fresh token was refused too.
 */
export function whilterFailureHint(
	status: number | undefined,
	before: ICredentialDataDecryptedObject,
	after: ICredentialDataDecryptedObject | undefined,
): string | undefined {
	if (status !== 403 || before.authentication === 'accessToken') return undefined;
	const tokenBefore = String(before.sessionToken ?? '');
	if (tokenBefore !== '' && after && String(after.sessionToken ?? '') === tokenBefore) {
		const renewAt = Date.parse(String(after.sessionUseUntil ?? ''));
		const when = Number.isNaN(renewAt) ? 'once Whilter answers a call with 401' : `after ${new Date(renewAt).toISOString()}, when the token's lifetime (less a margin) is over`;
		return `Whilter refused the token n8n fetched (HTTP 403), and this version of n8n fetches a new token after a 401 only, not after a 403. The token was within the lifetime Whilter gave it, so Whilter ended it early. n8n fetches a new one by itself ${when}. To get one sooner, open the Whilter API credential and test it (the test fetches and stores a new token), or update n8n to a version that renews a token after a 403 too (2.41 does).`;
	}
	return 'Whilter refused a token it had just issued (HTTP 403): the client ID has no access to this call. Check the client path and the API key with the Whilter onboarding team.';
}

const whilterTransport = createVendorTransport<WhilterRequest>({
	vendor: 'Whilter',
	credentialType: 'whilterApi',
	url: (credentials, request) => whilterUrl(whilterCredentials(credentials), request.path, request.clientScoped),
	secrets: whilterSecrets,
	sentOnceBecause: 'Whilter does not make the same thing twice',
	timeoutMs: whilterTimeoutMs,
	renewTokenOn: WHILTER_RENEW_TOKEN_ON,
	failureHint: whilterFailureHint,
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
