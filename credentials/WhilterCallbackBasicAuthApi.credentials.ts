import type { ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

/**
 * The user and password a caller of the Whilter Trigger must send as HTTP basic auth. Kept in n8n's
 * encrypted credential store, not on the node: node parameters are saved in clear in the workflow.
 * It calls nothing, so its test (the Whilter Trigger's credential test) checks the values themselves.
 */
export class WhilterCallbackBasicAuthApi implements ICredentialType {
	name = 'whilterCallbackBasicAuthApi';

	displayName = 'Whilter Callback Basic Auth API';

	icon: Icon = { light: 'file:../icons/whilter.svg', dark: 'file:../icons/whilter.dark.svg' };

	documentationUrl = 'https://github.com/n8n-nodes-whilter/n8n-nodes-whilter#whilter-trigger';

	properties: INodeProperties[] = [
		{
			displayName: 'User',
			name: 'user',
			type: 'string',
			default: '',
			required: true,
			description: 'Without ":" (basic auth cannot carry it in the user)',
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
		},
	];
}
