import type {
	IAuthenticate,
	ICredentialDataDecryptedObject,
	ICredentialTestRequest,
	ICredentialType,
	IHttpRequestOptions,
	INodeProperties,
	Icon,
} from 'n8n-workflow';

/** TimePay agents API, authorised by a bearer token. */
export class TimePayApi implements ICredentialType {
	name = 'timePayApi';

	displayName = 'TimePay API';

	icon: Icon = { light: 'file:../icons/timepay.svg', dark: 'file:../icons/timepay.dark.svg' };

	documentationUrl = 'https://github.com/n8n-nodes-whilter/n8n-nodes-whilter#timepay-api-credential';

	properties: INodeProperties[] = [
		{
			displayName: 'API Token',
			name: 'token',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: 'https://api.agents.timepay.ai',
			required: true,
		},
	];

	// A token pasted with its "Bearer " prefix (as TimePay's examples show it) is still sent once-prefixed.
	authenticate: IAuthenticate = async (credentials: ICredentialDataDecryptedObject, requestOptions: IHttpRequestOptions): Promise<IHttpRequestOptions> => {
		const token = String(credentials.token ?? '')
			.replace(/^\s*bearer\s+/i, '')
			.trim();
		return { ...requestOptions, headers: { ...(requestOptions.headers ?? {}), Authorization: `Bearer ${token}` } };
	};

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{$credentials.baseUrl.replace(/\\/+$/, "")}}',
			url: '/api/v1/campaigns',
			qs: { page: 1, limit: 1 },
			method: 'GET',
		},
		rules: [{ type: 'responseCode', properties: { value: 401, message: 'TimePay rejected the API token' } }],
	};
}
