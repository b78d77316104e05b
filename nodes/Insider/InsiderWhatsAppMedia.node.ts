import { NodeConnectionTypes } from 'n8n-workflow';
import type {
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	IExecuteFunctions,
	INodeCredentialTestResult,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';

import { operationOf } from '../shared/perItem';
import { requestTimeoutOption } from '../shared/transport';
import { INSIDER_OPERATIONS, runInsiderOperation } from './operations';
import { INSIDER_TIMEOUT_SECONDS, INSIDER_UPLOAD_TIMEOUT_SECONDS, insiderBaseUrl, judgeAuthKeyProbe } from './transport';

export class InsiderWhatsAppMedia implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Insider WhatsApp Media',
		name: 'insiderWhatsAppMedia',
		icon: { light: 'file:../../icons/insider.svg', dark: 'file:../../icons/insider.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{{"upload": "Upload", "getUrl": "Get URL", "uploadAndGetUrl": "Upload and Get URL", "download": "Download"}[$parameter["operation"]] || $parameter["operation"]}}',
		description: 'Media for transactional WhatsApp messages through Insider',
		defaults: { name: 'Insider WhatsApp Media' },
		// As an AI tool, Get URL is the operation to offer: a media ID in, URL and facts out, all JSON.
		// Upload needs a file in a binary field of the input item, which a tool call (JSON arguments
		// from the model) does not carry: it fails with "no binary field" and sends nothing, so an
		// agent cannot upload by accident. Download works but its file is of no use to the model.
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'insiderApi', required: true, testedBy: 'insiderApiTest' }],
		properties: [
			{
				displayName: 'Insider\'s media API is for WhatsApp Cloud API customers of Insider only',
				name: 'cloudApiNotice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Download',
						value: 'download',
						action: 'Download a media file',
						description: 'A media ID or URL to a file on the output item',
					},
					{
						name: 'Get URL',
						value: 'getUrl',
						action: 'Get the URL of an uploaded media file',
						description: 'URL, MIME type, SHA-256 and size of a media ID',
					},
					{
						name: 'Upload',
						value: 'upload',
						action: 'Upload a media file',
						description: 'A file from the input item to a media ID for WhatsApp messages',
					},
					{
						name: 'Upload and Get URL',
						value: 'uploadAndGetUrl',
						action: 'Upload a media file and get its URL',
						description: 'Upload, then the URL, MIME type, SHA-256 and size of the new media ID',
					},
				],
				default: 'getUrl',
			},
			{
				displayName: 'Media ID',
				name: 'mediaId',
				type: 'string',
				default: '={{ $json.id }}',
				required: true,
				displayOptions: { show: { operation: ['getUrl'] } },
				description: 'The ID Insider returned for an upload (IDs live about a week)',
			},
			{
				displayName: 'Input Binary Field',
				name: 'binaryPropertyName',
				type: 'string',
				default: 'data',
				required: true,
				displayOptions: { show: { operation: ['upload', 'uploadAndGetUrl'] } },
				hint: 'The name of the input binary field containing the file to upload',
				description:
					"Checked against WhatsApp's limits before anything is sent: image JPEG/PNG ≤ 5 MB, video MP4/3GPP ≤ 16 MB, audio AAC/AMR/MPEG/MP4/OGG ≤ 16 MB, document (TXT, PDF, Word, Excel, PowerPoint) ≤ 100 MB, sticker WebP ≤ 100 KB static / 500 KB animated",
			},
			{
				displayName: 'Media ID or URL',
				name: 'media',
				type: 'string',
				default: '',
				required: true,
				displayOptions: { show: { operation: ['download'] } },
				placeholder: 'e.g. 1712345678901234 or https://…',
				description: 'A media ID (its URL is looked up first) or a media URL, e.g. the URL field of Get URL',
			},
			{
				displayName: 'Put Output File in Field',
				name: 'binaryPropertyName',
				type: 'string',
				default: 'data',
				required: true,
				displayOptions: { show: { operation: ['download'] } },
				hint: 'The name of the output binary field to put the file in',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add option',
				default: {},
				displayOptions: { show: { operation: ['upload', 'uploadAndGetUrl'] } },
				options: [
					{
						displayName: 'File Name',
						name: 'fileName',
						type: 'string',
						default: '',
						description: "Name sent with the file. Empty: the binary's file name.",
					},
					{
						displayName: 'MIME Type',
						name: 'mimeType',
						type: 'string',
						default: '',
						placeholder: 'e.g. audio/ogg',
						description: "Replaces the binary's MIME type, for the limit check and for the type sent to Insider. Empty: the binary's MIME type.",
					},
					requestTimeoutOption(INSIDER_UPLOAD_TIMEOUT_SECONDS, 'Insider'),
					{
						displayName: 'Sticker Animation',
						name: 'stickerAnimation',
						type: 'options',
						default: 'detect',
						options: [
							{
								name: 'Detect From File',
								value: 'detect',
								description: 'Read the WebP header: its animation flag or ANIM chunk means animated',
							},
							{ name: 'Static', value: 'static', description: 'Limit 100 KB' },
							{ name: 'Animated', value: 'animated', description: 'Limit 500 KB' },
						],
						description: 'For WebP stickers: which of WhatsApp\'s sticker limits applies',
					},
				],
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add option',
				default: {},
				displayOptions: { show: { operation: ['download'] } },
				options: [
					{
						displayName: 'File Name',
						name: 'fileName',
						type: 'string',
						default: '',
						description: "Name of the output file. Empty: the server's name, else the media ID with the type's extension.",
					},
					requestTimeoutOption(INSIDER_TIMEOUT_SECONDS, 'Insider or the media host'),
					{
						displayName: 'Send Auth Key',
						name: 'sendAuthKey',
						type: 'options',
						default: 'insider',
						options: [
							{
								name: 'To Insider Only',
								value: 'insider',
								description: "Only to the credential's Base URL host and https hosts under useinsider.com",
							},
							{
								name: 'Also to the Given URL',
								value: 'always',
								description: "To the URL's own host too (a media host that asks for the Insider key)",
							},
							{ name: 'Never', value: 'never', description: 'Download without the key' },
						],
						description: 'Where the x-ins-auth-key header may go; redirects are judged hop by hop',
					},
				],
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
		return [await runInsiderOperation(this, operationOf(this, INSIDER_OPERATIONS))];
	}
}
