import type { IAuthenticateGeneric, ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

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

	// Tested by the Insider WhatsApp Media node (testedBy: insiderApiTest): Insider has no read-only
	// endpoint that answers 2xx for any good key, and a request test counts any non-2xx as a failure.
}
