import type {
	IAuthenticate,
	ICredentialDataDecryptedObject,
	ICredentialTestRequest,
	ICredentialType,
	IHttpRequestHelper,
	IHttpRequestOptions,
	INodeProperties,
	Icon,
} from 'n8n-workflow';

import { networkWords, readVendorFailure, redact, TokenUnavailableError } from '../nodes/shared/errors';
import { secondsText } from '../nodes/shared/poll';
import { withRetry } from '../nodes/shared/retry';
import { readTimeoutSeconds, REQUEST_TIMEOUT_LABEL } from '../nodes/shared/transport';
import { WHILTER_TIMEOUT_SECONDS, WHILTER_TOKEN_TIMEOUT_SECONDS } from '../nodes/Whilter/api/transport';

const TOKEN_TIMEOUT_LABEL = 'Token Request Timeout (Seconds)';

/**
 * A fetched token is renewed this long before Whilter's `expires_in` ends, so a call in flight or a
 * clock a little off never carries an expired token. A token that lives under twice this long is
 * renewed halfway through its life instead.
 */
export const TOKEN_RENEW_MARGIN_SECONDS = 60;

/** When a token that lives `expiresIn` seconds from `now` stops being sent (ms since the epoch); undefined without a lifetime. */
export function tokenUseUntil(expiresIn: unknown, now: number): number | undefined {
	const seconds = typeof expiresIn === 'string' && expiresIn.trim() !== '' ? Number(expiresIn) : expiresIn;
	if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) return undefined;
	return now + (seconds - Math.min(TOKEN_RENEW_MARGIN_SECONDS, seconds / 2)) * 1000;
}

/**
 * Whether the fetched token may still be sent. Past its time none is sent: Whilter then answers 401
 * for the missing token without acting on the call, and n8n fetches a new token through
 * preAuthentication and repeats the call once, as it does for any 401.
 */
export function sessionTokenUsable(credentials: ICredentialDataDecryptedObject, now: number = Date.now()): boolean {
	const until = Date.parse(String(credentials.sessionUseUntil ?? ''));
	return Number.isNaN(until) || now < until;
}

/**
 * What to check when the token request failed. A refusal points at the credential; a 429, a 5xx or a
 * dropped connection (already retried) is Whilter's side and says so, instead of blaming the secret.
 */
function tokenFailureAdvice(status: number | undefined): string {
	if (status === 404) return 'Check the token URL';
	if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) return 'Check the client ID, client secret and token URL';
	return 'The token URL failed after retries: run again later, and check the token URL if it goes on';
}

/** The token URL's path, for messages: its query could hold a key. */
function tokenPath(url: string): string {
	try {
		return new URL(url).pathname;
	} catch {
		return 'to the token URL';
	}
}

/**
 * One credential for every Whilter node: the API (token by client credentials, or a static token),
 * the optional real-time API key, and the client's S3 drop that Whilter Batch uploads to.
 */
export class WhilterApi implements ICredentialType {
	name = 'whilterApi';

	displayName = 'Whilter API';

	icon: Icon = { light: 'file:../icons/whilter.svg', dark: 'file:../icons/whilter.dark.svg' };

	documentationUrl = 'https://github.com/n8n-nodes-whilter/n8n-nodes-whilter#whilter-api-credential';

	properties: INodeProperties[] = [
		{
			displayName: 'API Base URL',
			name: 'baseUrl',
			type: 'string',
			default: 'https://api.whilter.ai',
			required: true,
			description: 'Root of the Whilter API, without a trailing slash',
		},
		{
			displayName: 'Client',
			name: 'client',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'acme',
			description:
				'Your client path segment, as given by the Whilter onboarding team: the <client> in /<client>/task',
		},
		{
			displayName: 'Authentication',
			name: 'authentication',
			type: 'options',
			options: [
				{
					name: 'Client Credentials',
					value: 'clientCredentials',
					description: 'n8n fetches a token with your client ID and secret, and renews it when it expires',
				},
				{
					name: 'Access Token',
					value: 'accessToken',
					description: 'A bearer token you already have',
				},
			],
			default: 'clientCredentials',
		},
		{
			displayName: 'Client ID',
			name: 'clientId',
			type: 'string',
			default: '',
			required: true,
			displayOptions: { show: { authentication: ['clientCredentials'] } },
		},
		{
			displayName: 'Client Secret',
			name: 'clientSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			displayOptions: { show: { authentication: ['clientCredentials'] } },
		},
		{
			displayName: 'Token URL',
			name: 'tokenUrl',
			type: 'string',
			default: 'https://api.whilter.ai/getToken/token',
			displayOptions: { show: { authentication: ['clientCredentials'] } },
			description: 'Where the token is requested (POST, JSON body with client_id and client_secret)',
		},
		{
			displayName: TOKEN_TIMEOUT_LABEL,
			name: 'tokenUrlTimeout',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: WHILTER_TOKEN_TIMEOUT_SECONDS,
			// Shown for both authentications: n8n 2.8's public API makes a field under displayOptions a
			// required property when creating the credential, which would break existing scripts.
			description:
				'Client credentials: how long the token URL may take to answer before the token request fails (it is retried like any network failure). Not used with an access token.',
		},
		{
			displayName: 'Access Token',
			name: 'accessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			displayOptions: { show: { authentication: ['accessToken'] } },
		},
		{
			// Filled by preAuthentication; n8n calls it again when the field is empty or a call is
			// refused with 401 (or 403, where n8n supports it), so no node ever handles a token.
			displayName: 'Session Token',
			name: 'sessionToken',
			type: 'hidden',
			typeOptions: { expirable: true, password: true },
			default: '',
		},
		{
			// When the session token stops being sent (ISO time, from expires_in): see sessionTokenUsable.
			displayName: 'Session Use Until',
			name: 'sessionUseUntil',
			type: 'hidden',
			default: '',
		},
		{
			displayName: 'API Key',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Sent as x-api-key when set (the real-time API may ask for it)',
		},
		{
			displayName: REQUEST_TIMEOUT_LABEL,
			name: 'requestTimeout',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: WHILTER_TIMEOUT_SECONDS,
			description:
				'How long Whilter may take to start answering an API call, counted from sending the request, and the longest pause while the answer arrives; also the longest pause while a results file downloads. Past it the call fails. Whilter Realtime can set its own.',
		},
		{
			displayName: 'S3 Drop (for Whilter Batch)',
			name: 's3Notice',
			type: 'notice',
			default: '',
			description: 'The bucket and keys the Whilter onboarding team gave you for batch files',
		},
		{
			displayName: 'S3 Bucket',
			name: 's3Bucket',
			type: 'string',
			default: '',
		},
		{
			displayName: 'S3 Key Prefix',
			name: 's3Prefix',
			type: 'string',
			default: '',
			placeholder: 'incoming/acme',
			description: 'Folder inside the bucket where batch ZIP files go (no leading or trailing slash)',
		},
		{
			displayName: 'S3 Region',
			name: 's3Region',
			type: 'string',
			default: 'ap-south-1',
		},
		{
			displayName: 'S3 Access Key ID',
			name: 's3AccessKeyId',
			type: 'string',
			default: '',
		},
		{
			displayName: 'S3 Secret Access Key',
			name: 's3SecretAccessKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
		},
		{
			displayName: 'S3 Endpoint URL',
			name: 's3Endpoint',
			type: 'string',
			default: '',
			placeholder: 'https://s3.example.com',
			description: 'Only for S3-compatible stores; leave empty for AWS S3',
		},
		{
			displayName: 'S3 Force Path Style',
			name: 's3ForcePathStyle',
			type: 'boolean',
			default: false,
			description: 'Whether to address the bucket as <endpoint>/<bucket> (most S3-compatible stores need this)',
		},
	];

	async preAuthentication(this: IHttpRequestHelper, credentials: ICredentialDataDecryptedObject) {
		if (credentials.authentication === 'accessToken') {
			// Stored once so n8n stops calling preAuthentication; authenticate sends the Access Token
			// field itself, so an edited token is used at once.
			return { sessionToken: credentials.accessToken as string, sessionUseUntil: '' };
		}
		const timeoutMs = readTimeoutSeconds(credentials.tokenUrlTimeout, TOKEN_TIMEOUT_LABEL) ?? WHILTER_TOKEN_TIMEOUT_SECONDS * 1000;
		const request: IHttpRequestOptions = {
			method: 'POST',
			url: credentials.tokenUrl as string,
			headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
			body: { client_id: credentials.clientId, client_secret: credentials.clientSecret },
			json: true,
			// The body carries the client secret: a redirect is an error, never a second copy elsewhere.
			disableFollowRedirect: true,
			// Without it, n8n's 300 s per attempt, five attempts: the execution would hang for 25 minutes.
			timeout: timeoutMs,
		};
		const requestedAt = Date.now();
		let response: { access_token?: unknown; expires_in?: unknown };
		try {
			// A token request creates nothing, so it goes through the retry policy like a GET.
			response = (await withRetry(async () => await this.helpers.httpRequest({ ...request }), {
				idempotent: true,
			})) as { access_token?: unknown; expires_in?: unknown };
		} catch (error) {
			// The raw error carries the request body, client secret included: only its status and
			// Whilter's own words go on.
			const failure = readVendorFailure(error);
			if (failure.timedOut) {
				throw new TokenUnavailableError(
					`Whilter did not answer POST ${tokenPath(request.url)} within ${secondsText(timeoutMs)}, so there is no token for client ID "${credentials.clientId as string}". Check the token URL, or raise "${TOKEN_TIMEOUT_LABEL}" in the credential.`,
				);
			}
			const why = failure.status ? `HTTP ${failure.status}` : failure.networkCode ? networkWords(failure.networkCode) : 'no answer';
			const secrets = [credentials.clientSecret as string | undefined];
			throw new TokenUnavailableError(
				redact(
					`Whilter did not issue a token for client ID "${credentials.clientId as string}" (${why}${failure.message ? `: ${failure.message}` : ''}). ${tokenFailureAdvice(failure.status)}.`,
					secrets,
				),
			);
		}
		if (typeof response?.access_token !== 'string' || response.access_token === '') {
			throw new TokenUnavailableError('The Whilter token endpoint answered without an access_token');
		}
		// Counted from the request, not the answer: the token's life may have begun before it arrived.
		const until = tokenUseUntil(response.expires_in, requestedAt);
		return { sessionToken: response.access_token, sessionUseUntil: until === undefined ? '' : new Date(until).toISOString() };
	}

	authenticate: IAuthenticate = async (
		credentials: ICredentialDataDecryptedObject,
		requestOptions: IHttpRequestOptions,
	): Promise<IHttpRequestOptions> => {
		// n8n hands a repeated call its first attempt's options: the token they carry must not survive.
		const headers = Object.fromEntries(
			Object.entries((requestOptions.headers ?? {}) as Record<string, string>).filter(([name]) => name.toLowerCase() !== 'authorization'),
		);
		if (credentials.authentication === 'accessToken') {
			headers.Authorization = `Bearer ${credentials.accessToken as string}`;
		} else if (credentials.sessionToken && sessionTokenUsable(credentials)) {
			headers.Authorization = `Bearer ${credentials.sessionToken as string}`;
		}
		if (credentials.apiKey) headers['x-api-key'] = credentials.apiKey as string;
		return { ...requestOptions, headers };
	};

	// With client credentials, a fresh token from the token URL proves the ID and secret. A static
	// token can only be tried against the API itself: the test asks for the status of a placeholder
	// task, and a rejected token (401/403) gets a clear message. Whilter does not document its answer
	// for an unknown task, so n8n shows whatever non-2xx status it gives (README says so).
	test: ICredentialTestRequest = {
		request: {
			method: '={{$credentials.authentication === "accessToken" ? "GET" : "POST"}}' as IHttpRequestOptions['method'],
			url: '={{$credentials.authentication === "accessToken" ? $credentials.baseUrl.replace(/\\/+$/, "") + "/" + $credentials.client + "/task/status/n8n-credential-test" : $credentials.tokenUrl}}',
			body: {
				client_id: '={{$credentials.clientId}}',
				client_secret: '={{$credentials.clientSecret}}',
			},
			json: true,
		},
		rules: [
			{ type: 'responseCode', properties: { value: 401, message: 'Whilter rejected the client credentials or token' } },
			{ type: 'responseCode', properties: { value: 403, message: 'Whilter refused access for this client' } },
			// No documented Whilter call answers 2xx for every good static token, and n8n shows any
			// other answer as a failed test: the message says what the 404 does and does not prove.
			{
				type: 'responseCode',
				properties: {
					value: 404,
					message:
						'Access Token: the token was accepted (Whilter checked it and answered 404 for the placeholder task "n8n-credential-test"; no Whilter call answers 2xx for every good token, so n8n shows this as a failed test). Client Credentials: the Token URL was not found.',
				},
			},
		],
	};
}
