import type { IAuthenticateGeneric, ICredentialTestRequest, ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

/** Insider WhatsApp (Cloud API) transactional endpoints, authorised by the x-ins-auth-key header. */
export class InsiderApi implements ICredentialType {
	name = 'insiderApi';

	displayName = 'Insider WhatsApp API';

	icon: Icon = { light: 'file:../icons/insider.svg', dark: 'file:../icons/insider.dark.svg' };

	documentationUrl = 'https://github.com/n8n-nodes-whilter/n8n-nodes-whilter#insider-api-credential';

	properties: INodeProperties[] = [
		{
			displayName: 'Auth Key',
			name: 'authKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: "Insider API authentication token, sent as x-ins-auth-key (e.g. INS.1a2b…)",
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: 'https://whatsapp.useinsider.com',
			required: true,
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { 'x-ins-auth-key': '={{$credentials.authKey}}' } },
	};

	// Insider has no "who am I" endpoint: an unknown media id answers 404 with a good key and 401 with
	// a bad one, so the test looks up a placeholder id and treats only 401/403 as a bad key.
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{$credentials.baseUrl.replace(/\\/+$/, "")}}',
			url: '/v1/media/n8n-credential-test',
			method: 'GET',
		},
		rules: [
			{ type: 'responseCode', properties: { value: 401, message: 'Insider rejected the auth key' } },
			{ type: 'responseCode', properties: { value: 403, message: 'Insider refused access with this auth key' } },
		],
	};
}
