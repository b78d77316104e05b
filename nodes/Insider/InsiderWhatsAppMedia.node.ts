import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';
import type {
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	IExecuteFunctions,
	INodeCredentialTestResult,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';

import { mapItems } from '../shared/perItem';
import { insiderApiRequest, insiderBaseUrl, judgeAuthKeyProbe } from './transport';

export class InsiderWhatsAppMedia implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Insider WhatsApp Media',
		name: 'insiderWhatsAppMedia',
		icon: { light: 'file:../../icons/insider.svg', dark: 'file:../../icons/insider.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{$parameter["operation"]}}',
		description: 'Media for transactional WhatsApp messages through Insider',
		defaults: { name: 'Insider WhatsApp Media' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'insiderApi', required: true, testedBy: 'insiderApiTest' }],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Get URL',
						value: 'getUrl',
						action: 'Get the URL of an uploaded media file',
						description: 'URL, MIME type, SHA-256 and size of a media ID',
					},
				],
				default: 'getUrl',
			},
			{
				displayName: 'Media ID',
				name: 'mediaId',
				type: 'string',
				default: '',
				required: true,
				description: 'The ID Insider returned for an upload (IDs live about a week)',
			},
		],
	};

	methods = {
		credentialTest: {
			// Insider documents no read-only endpoint that answers 2xx for any good key, so the test
			// looks up a placeholder media ID: 401/403 reject the key, a "not found" accepts it.
			async insiderApiTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
				const data = credential.data ?? {};
				try {
					// ICredentialTestFunctions offers only `request` (no httpRequest) in every n8n version.
					// eslint-disable-next-line @n8n/community-nodes/no-deprecated-workflow-functions
					await this.helpers.request({
						method: 'GET',
						uri: `${insiderBaseUrl(data)}/v1/media/n8n-credential-test`,
						headers: { 'x-ins-auth-key': data.authKey as string, Accept: 'application/json' },
						json: true,
					});
					return { status: 'OK', message: 'Insider accepted the auth key' };
				} catch (error) {
					return judgeAuthKeyProbe(error);
				}
			},
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return [
			await mapItems(this, async (itemIndex) => {
				const mediaId = String(this.getNodeParameter('mediaId', itemIndex, '')).trim();
				if (!mediaId) throw new NodeOperationError(this.getNode(), `Item ${itemIndex}: "Media ID" is empty`, { itemIndex });
				const media = await insiderApiRequest.call(this, { method: 'GET', path: `/v1/media/${encodeURIComponent(mediaId)}`, itemIndex });
				return {
					id: media.id ?? mediaId,
					url: media.url ?? null,
					mime_type: media.mime_type ?? null,
					sha256: media.sha256 ?? null,
					// The seed's example spells it File_size.
					file_size: media.file_size ?? media.File_size ?? null,
					messaging_product: media.messaging_product ?? 'whatsapp',
				};
			}),
		];
	}
}
