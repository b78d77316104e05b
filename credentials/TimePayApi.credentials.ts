import type { IAuthenticateGeneric, ICredentialTestRequest, ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

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

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { Authorization: '=Bearer {{$credentials.token}}' } },
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
