import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';

import { readVendorFailure } from '../shared/errors';
import { createVendorTransport } from '../shared/transport';
import type { ApiContext, ApiRequest } from '../shared/transport';

/** How long an Insider call may take unless the node's Request Timeout says otherwise (see createVendorTransport). */
export const INSIDER_TIMEOUT_SECONDS = 60;
/** An upload's deadline counts the time to send the file (up to 100 MB), so it gets longer by default. */
export const INSIDER_UPLOAD_TIMEOUT_SECONDS = 300;

export function insiderBaseUrl(credentials: ICredentialDataDecryptedObject): string {
	return String(credentials.baseUrl || 'https://whatsapp.useinsider.com').replace(/\/+$/, '');
}

const insiderTransport = createVendorTransport<ApiRequest>({
	vendor: 'Insider',
	credentialType: 'insiderApi',
	url: (credentials, request) => `${insiderBaseUrl(credentials)}${request.path}`,
	secrets: (credentials) => [credentials.authKey as string | undefined],
	sentOnceBecause: 'no second copy is uploaded',
	timeoutMs: () => INSIDER_TIMEOUT_SECONDS * 1000,
});

/** The one way the Insider node calls Insider's API (nodes/shared/transport.ts); the credential adds x-ins-auth-key. */
export async function insiderApiRequest(this: ApiContext, request: ApiRequest): Promise<IDataObject> {
	return (await insiderTransport.call(this, request)).body;
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
