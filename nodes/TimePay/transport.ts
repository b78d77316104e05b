import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { createVendorTransport } from '../shared/transport';
import type { ApiRequest } from '../shared/transport';

export type { ApiResponse as TimePayResponse } from '../shared/transport';

export const TIMEPAY_DEFAULT_BASE_URL = 'https://api.agents.timepay.ai';
/** How long a TimePay call may take unless the node's Request Timeout says otherwise (see createVendorTransport). */
export const TIMEPAY_TIMEOUT_SECONDS = 60;

export function timePayBaseUrl(credentials: ICredentialDataDecryptedObject): string {
	return String(credentials.baseUrl || TIMEPAY_DEFAULT_BASE_URL).replace(/\/+$/, '');
}

/**
 * The one way the TimePay node calls TimePay (nodes/shared/transport.ts): the credential adds the
 * bearer token, and the answer keeps its status, since 200 and 207 (partial success) differ.
 */
export const timePayApiRequest = createVendorTransport<ApiRequest>({
	vendor: 'TimePay',
	credentialType: 'timePayApi',
	url: (credentials, request) => `${timePayBaseUrl(credentials)}${request.path}`,
	secrets: (credentials) => [credentials.token as string | undefined],
	sentOnceBecause: 'no customer is messaged twice',
	timeoutMs: () => TIMEPAY_TIMEOUT_SECONDS * 1000,
});
