import { NodeConnectionTypes } from 'n8n-workflow';
import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';

import { operationOf, runPerItem } from '../shared/perItem';
import { pollScheduleProperties } from '../shared/poll';
import { requestTimeoutOption } from '../shared/transport';
import { REALTIME_REQUEST_PATH, REALTIME_STATUS_PATH } from './api/endpoints';
import { WHILTER_TIMEOUT_SECONDS } from './api/transport';
import {
	concurrencyOf,
	DEFAULT_CONCURRENCY,
	duplicateRequestIds,
	getRealtimeStatusItem,
	planRealtimeItem,
	planRealtimeStatusItem,
	POLL_DEFAULTS,
	REALTIME_OPERATIONS,
	sendRealtimeItem,
} from './realtime/runRealtime';

const CREATING = { show: { operation: ['create'] } };

const textEntry = (displayName: string, name: string) => ({
	displayName,
	name,
	values: [{ displayName: 'Text', name: 'text', type: 'string' as const, default: '' }],
});

const urlEntry = (displayName: string, name: string) => ({
	displayName,
	name,
	values: [{ displayName: 'URL', name: 'url', type: 'string' as const, default: '', placeholder: 'https://…' }],
});

export class WhilterRealtime implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Whilter Realtime',
		name: 'whilterRealtime',
		icon: { light: 'file:../../icons/whilter.svg', dark: 'file:../../icons/whilter.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"] === "getStatus" ? "Get Status" : "Use case " + $parameter["useCaseId"]}}',
		description: 'Make one personalised Whilter.AI video or image per item and wait for its URL, or look up a request made earlier',
		defaults: { name: 'Whilter Realtime' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'whilterApi', required: true }],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Create Media',
						value: 'create',
						action: 'Create personalised media',
						description: 'Ask Whilter for one video or image per item, and wait for its URL if asked',
					},
					{
						name: 'Get Status',
						value: 'getStatus',
						action: 'Get the status of a media request',
						description: 'Look up a request made earlier by its Whilter request ID: its status and, once ready, its URLs',
					},
				],
				default: 'create',
			},
			{
				displayName: 'Whilter Request ID',
				name: 'whilterRequestId',
				type: 'string',
				default: '={{ $json["whilter-request-id"] }}',
				required: true,
				displayOptions: { show: { operation: ['getStatus'] } },
				description: 'The Whilter request ID of a request made earlier: in Create Media\'s output, or in its error when the wait timed out',
			},
			{
				displayName: 'Use Case ID',
				name: 'useCaseId',
				type: 'string',
				default: '',
				required: true,
				placeholder: '67be6947-44c2-4fcc-bf34-3d82ce767081',
				displayOptions: CREATING,
				description: 'The use case ID Whilter assigned to the template when the campaign was submitted',
			},
			{
				displayName: 'User ID',
				name: 'userId',
				type: 'string',
				default: '',
				required: true,
				displayOptions: CREATING,
				description:
					'The end user this media is for, as your system knows them (e.g. a CRM ID or phone number; it may be encrypted). Differs per item. Whilter does not interpret it and returns it in its callback and in this node\'s output.',
			},
			{
				displayName: 'Customer ID',
				name: 'customerId',
				type: 'string',
				default: '',
				required: true,
				displayOptions: CREATING,
				description:
					'Your own account\'s ID at Whilter (you are Whilter\'s customer), as Whilter gave it to you: usually the same on every request. Not the end user: that is User ID.',
			},
			{
				displayName: 'Client Request ID',
				name: 'clientRequestId',
				type: 'string',
				default: '',
				placeholder: 'Empty: a new UUID per item',
				displayOptions: CREATING,
				description:
					'Your ID of this request. Leave empty for a generated UUID, or map a field (e.g. an order ID) so a rerun sends the same ID and can be recognised. Must differ between the items of a run.',
			},
			{
				displayName: 'Specify Texts and URLs',
				name: 'listsInput',
				type: 'options',
				noDataExpression: true,
				displayOptions: CREATING,
				options: [
					{ name: 'Using Fields Below', value: 'fields' },
					{ name: 'Using JSON', value: 'json', description: 'One object with the five lists, e.g. from an expression' },
				],
				default: 'fields',
			},
			{
				displayName: 'Texts and URLs',
				name: 'lists',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true },
				placeholder: 'Add Text or URL',
				default: {},
				displayOptions: { show: { operation: ['create'], listsInput: ['fields'] } },
				description:
					'The personalisation values the template\'s layers are mapped to, in order within each list. An empty entry stops the node, as it usually means a missing field.',
				options: [
					textEntry('Phrase Text', 'phraseTexts'),
					textEntry('Image Text', 'imageTexts'),
					textEntry('Video Text', 'videoTexts'),
					urlEntry('Image URL', 'imageUrls'),
					urlEntry('Video URL', 'videoUrls'),
				],
			},
			{
				displayName: 'Texts and URLs (JSON)',
				name: 'listsJson',
				type: 'json',
				default: '{\n  "phrase-texts": [],\n  "image-texts": [],\n  "video-texts": [],\n  "image-urls": [],\n  "video-urls": []\n}',
				displayOptions: { show: { operation: ['create'], listsInput: ['json'] } },
				description: 'An object of lists of strings (keys below); every image and video URL must be http(s)',
				hint: 'Keys: phrase-texts, image-texts, video-texts, image-urls, video-urls',
			},
			{
				displayName: 'Wait for Media',
				name: 'waitForMedia',
				type: 'boolean',
				default: true,
				displayOptions: CREATING,
				description:
					'Whether to ask Whilter for the status until the media is ready and output its URLs. Off: output the Whilter request ID at once (the media arrives later through Whilter\'s callback).',
			},
			...pollScheduleProperties(
				{
					...POLL_DEFAULTS,
					afterTimeout: 'Then the item fails with its Whilter request ID, so the media can be looked up later.',
				},
				{ show: { operation: ['create'], waitForMedia: [true] } },
			),
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add option',
				default: {},
				options: [
					{
						displayName: 'Concurrency',
						name: 'concurrency',
						type: 'number',
						typeOptions: { minValue: 1, maxValue: 100, numberPrecision: 0 },
						default: DEFAULT_CONCURRENCY,
						description: 'How many items are in progress with Whilter at once; the output keeps the input order',
					},
					{
						displayName: 'Reference Record ID',
						name: 'referenceRecordId',
						type: 'string',
						default: '',
						displayOptions: { show: { '/operation': ['create'] } },
						description: 'Your reference record ID, sent when set',
					},
					{
						displayName: 'Request Path',
						name: 'requestPath',
						type: 'string',
						default: REALTIME_REQUEST_PATH,
						displayOptions: { show: { '/operation': ['create'] } },
						description: 'Path of the real-time endpoint after the API base URL; Whilter\'s public docs also show /video/demo',
					},
					{
						...requestTimeoutOption(WHILTER_TIMEOUT_SECONDS, 'Whilter'),
						hint: 'For the request and each status check, instead of the Whilter credential\'s Request Timeout',
					},
					{
						displayName: 'Real-Time Status Path',
						name: 'realtimeStatusPath',
						type: 'string',
						default: REALTIME_STATUS_PATH,
						description: 'Path of the status endpoint after the API base URL; the {whilterRequestId} placeholder is replaced by the request\'s ID',
					},
				],
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		if (operationOf(this, REALTIME_OPERATIONS) === 'getStatus') {
			return [
				await runPerItem(this, {
					check: (itemIndex) => planRealtimeStatusItem(this, itemIndex),
					run: async (plan, itemIndex) => await getRealtimeStatusItem(this, plan, itemIndex),
					concurrency: concurrencyOf(this),
					firstAlone: true,
				}),
			];
		}
		return [
			await runPerItem(this, {
				check: (itemIndex) => planRealtimeItem(this, itemIndex),
				checkAcross: duplicateRequestIds,
				run: async (plan, itemIndex, stopSignal, opened) => await sendRealtimeItem(this, plan, itemIndex, stopSignal, opened),
				concurrency: concurrencyOf(this),
				firstAlone: true,
			}),
		];
	}
}
