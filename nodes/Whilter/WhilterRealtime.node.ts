import { NodeConnectionTypes } from 'n8n-workflow';
import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';

import { runPerItem } from '../shared/perItem';
import { pollScheduleProperties } from '../shared/poll';
import { requestTimeoutOption } from '../shared/transport';
import { REALTIME_REQUEST_PATH, REALTIME_STATUS_PATH } from './api/endpoints';
import { WHILTER_TIMEOUT_SECONDS } from './api/transport';
import {
	concurrencyOf,
	DEFAULT_CONCURRENCY,
	duplicateRequestIds,
	planRealtimeItem,
	POLL_DEFAULTS,
	sendRealtimeItem,
} from './realtime/runRealtime';

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
		subtitle: '={{"Use case " + $parameter["useCaseId"]}}',
		description: 'Make one personalised Whilter.AI video or image per item, and wait for its URL',
		defaults: { name: 'Whilter Realtime' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'whilterApi', required: true }],
		properties: [
			{
				displayName: 'Use Case ID',
				name: 'useCaseId',
				type: 'string',
				default: '',
				required: true,
				placeholder: '67be6947-44c2-4fcc-bf34-3d82ce767081',
				description: 'The use case ID Whilter assigned to the template when the campaign was submitted',
			},
			{
				displayName: 'User ID',
				name: 'userId',
				type: 'string',
				default: '',
				required: true,
				description: 'Your ID of the person the media is for (it comes back in Whilter\'s callback)',
			},
			{
				displayName: 'Customer ID',
				name: 'customerId',
				type: 'string',
				default: '',
				required: true,
				description: 'Your customer ID at Whilter',
			},
			{
				displayName: 'Client Request ID',
				name: 'clientRequestId',
				type: 'string',
				default: '',
				placeholder: 'Empty: a new UUID per item',
				description:
					'Your ID of this request. Leave empty for a generated UUID, or map a field (e.g. an order ID) so a rerun sends the same ID and can be recognised. Must differ between the items of a run.',
			},
			{
				displayName: 'Specify Texts and URLs',
				name: 'listsInput',
				type: 'options',
				noDataExpression: true,
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
				displayOptions: { show: { listsInput: ['fields'] } },
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
				displayOptions: { show: { listsInput: ['json'] } },
				description: 'An object of lists of strings (keys below); every image and video URL must be http(s)',
				hint: 'Keys: phrase-texts, image-texts, video-texts, image-urls, video-urls',
			},
			{
				displayName: 'Wait for Media',
				name: 'waitForMedia',
				type: 'boolean',
				default: true,
				description:
					'Whether to ask Whilter for the status until the media is ready and output its URLs. Off: output the Whilter request ID at once (the media arrives later through Whilter\'s callback).',
			},
			...pollScheduleProperties(
				{
					...POLL_DEFAULTS,
					afterTimeout: 'Then the item fails with its Whilter request ID, so the media can be looked up later.',
				},
				{ show: { waitForMedia: [true] } },
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
						description: 'Your reference record ID, sent when set',
					},
					{
						displayName: 'Request Path',
						name: 'requestPath',
						type: 'string',
						default: REALTIME_REQUEST_PATH,
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
		return [
			await runPerItem(this, {
				check: (itemIndex) => planRealtimeItem(this, itemIndex),
				checkAcross: duplicateRequestIds,
				run: async (plan, itemIndex, stopSignal) => await sendRealtimeItem(this, plan, itemIndex, stopSignal),
				concurrency: concurrencyOf(this),
				firstAlone: true,
			}),
		];
	}
}
