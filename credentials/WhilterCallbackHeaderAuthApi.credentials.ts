import type { ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

/**
 * The shared secret a caller of the Whilter Trigger must send in a header. Kept in n8n's encrypted
 * credential store, not on the node: node parameters are saved in clear in the workflow and its exports.
 * It calls nothing, so its test (the Whilter Trigger's credential test) checks the values themselves.
 */
export class WhilterCallbackHeaderAuthApi implements ICredentialType {
	name = 'whilterCallbackHeaderAuthApi';

	displayName = 'Whilter Callback Header Auth API';

	icon: Icon = { light: 'file:../icons/whilter.svg', dark: 'file:../icons/whilter.dark.svg' };

	documentationUrl = 'https://github.com/n8n-nodes-whilter/n8n-nodes-whilter#whilter-trigger';

	properties: INodeProperties[] = [
		{
			displayName: 'Header Name',
			name: 'headerName',
			type: 'string',
			default: 'X-Whilter-Secret',
			required: true,
			description: 'The header Whilter\'s callbacks carry the secret in (case-insensitive)',
		},
		{
			displayName: 'Header Value (Secret)',
			name: 'secret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'The shared secret: a long random value (at least 16 characters), e.g. from openssl rand -hex 32',
		},
	];
}
