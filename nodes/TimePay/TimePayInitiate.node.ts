import { NodeConnectionTypes } from 'n8n-workflow';
import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';

import { requestTimeoutOption } from '../shared/transport';
import { PAYMENT_STATUSES } from './filters';
import { runInitiations } from './initiate';
import { getDispositions, searchCampaigns } from './lists';
import { TIMEPAY_TIMEOUT_SECONDS } from './transport';

export class TimePayInitiate implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'TimePay Initiate',
		name: 'timePayInitiate',
		icon: { light: 'file:../../icons/timepay.svg', dark: 'file:../../icons/timepay.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{"Initiate " + ({"whatsapp": "WhatsApp", "sms": "SMS", "calls": "Calls"}[$parameter["channel"]] || $parameter["channel"])}}',
		description: 'Start WhatsApp messages (or SMS, or calls) for the customers of a TimePay campaign',
		defaults: { name: 'TimePay Initiate' },
		// An agent's call maps to one initiation with the arguments it chose; the POST is never
		// retried, so a tool call messages a campaign's customers at most once.
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'timePayApi', required: true }],
		properties: [
			{
				displayName:
					'Sends real messages to the campaign\'s customers every time it runs, "Execute step" in the editor included. It initiates once per execution (from the first input item) unless "Initiate" says per item.',
				name: 'realMessagesNotice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Campaign',
				name: 'campaign',
				type: 'resourceLocator',
				default: { mode: 'list', value: '' },
				required: true,
				description: 'The TimePay campaign whose customers are messaged',
				modes: [
					{
						displayName: 'From List',
						name: 'list',
						type: 'list',
						placeholder: 'Select a campaign...',
						typeOptions: { searchListMethod: 'searchCampaigns', searchable: true },
					},
					{
						displayName: 'By ID',
						name: 'id',
						type: 'string',
						placeholder: 'e.g. QSoSyUUwwhwEiFhXJIUlhYxOh',
						validation: [
							{
								type: 'regex',
								properties: { regex: '^[^/?#\\s]+$', errorMessage: 'A campaign ID has no spaces, slashes, ? or #' },
							},
						],
					},
				],
			},
			{
				displayName: 'Channel',
				name: 'channel',
				type: 'options',
				options: [
					{ name: 'WhatsApp', value: 'whatsapp', description: 'POST /api/v1/initiate/{campaignId}/whatsapp' },
					{ name: 'SMS', value: 'sms', description: 'POST /api/v1/initiate/{campaignId}/sms (not in TimePay\'s documentation, which covers WhatsApp)' },
					{ name: 'Calls', value: 'calls', description: 'POST /api/v1/initiate/{campaignId}/calls (not in TimePay\'s documentation, which covers WhatsApp)' },
				],
				default: 'whatsapp',
				description: 'How TimePay reaches the customers',
			},
			{
				displayName: 'Template ID',
				name: 'templateId',
				type: 'string',
				default: '',
				required: true,
				placeholder: 'e.g. hfu7VL6sBhI6NPm',
				description: 'The ID of the approved template TimePay sends',
			},
			{
				displayName: 'Initiate',
				name: 'initiate',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Once per Execution',
						value: 'once',
						description: 'One initiation, from the first input item: the input may hold one item per customer',
					},
					{
						name: 'Once per Input Item',
						value: 'perItem',
						description: 'One initiation for each input item (e.g. one item per campaign)',
					},
				],
				default: 'once',
			},
			{
				displayName: 'Audience',
				name: 'audience',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Customers Matching Filters',
						value: 'matchingFilters',
						description: 'Only the customers the filters below select; at least one filter is needed',
					},
					{
						name: 'Every Customer of the Campaign',
						value: 'wholeCampaign',
						description: 'No filter: TimePay messages the whole campaign',
					},
				],
				default: 'matchingFilters',
			},
			{
				displayName: 'Every customer of the campaign will be messaged',
				name: 'wholeCampaignNotice',
				type: 'notice',
				default: '',
				displayOptions: { show: { audience: ['wholeCampaign'] } },
			},
			{
				displayName: 'Message All Matching Customers',
				name: 'messageAll',
				type: 'boolean',
				default: true,
				description: 'Whether to message every customer the filters match, or at most Limit of them',
			},
			{
				displayName: 'Limit',
				name: 'limit',
				type: 'number',
				typeOptions: { minValue: 1, numberPrecision: 0 },
				default: 50,
				displayOptions: { show: { messageAll: [false] } },
				// TimePay's own `limit`: it bounds the customers messaged, not the results returned.
				// eslint-disable-next-line n8n-nodes-base/node-param-description-wrong-for-limit
				description: 'Max number of customers to message',
			},
			{
				displayName: 'Conversation Settings',
				name: 'conversationSettings',
				type: 'collection',
				placeholder: 'Add Setting',
				default: {},
				description: 'The agent that carries the conversation and the disposition it records: set both, or neither',
				options: [
					{
						displayName: 'Agent ID',
						name: 'agentId',
						type: 'string',
						default: '',
						placeholder: 'e.g. PPTnLQAvGlLtVgRbpcFn',
						description: 'The TimePay agent that carries the conversation. Needs a disposition too.',
					},
					{
						displayName: 'Disposition Name or ID',
						name: 'dispositionId',
						type: 'options',
						typeOptions: { loadOptionsMethod: 'getDispositions' },
						default: '',
						description:
							'The disposition the conversation records. Needs an agent ID too. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
					},
				],
			},
			{
				displayName: 'Filters',
				name: 'filters',
				type: 'collection',
				placeholder: 'Add Filter',
				default: {},
				displayOptions: { show: { audience: ['matchingFilters'] } },
				description: 'Which customers of the campaign to message; filters are combined with AND. A filter that turns out empty stops the node: it never widens who is messaged.',
				options: [
					{
						displayName: 'Custom (JSON)',
						name: 'custom',
						type: 'json',
						default: '{}',
						placeholder: 'e.g. {"branch": "Pune"}',
						description: 'Customer fields to match exactly, as a JSON object',
					},
					{
						displayName: 'Customer IDs',
						name: 'ids',
						type: 'string',
						default: '',
						placeholder: 'e.g. LOANID-2043153, LOANID-2043154',
						description: 'Only these customers: IDs separated by commas, or a list from an expression',
					},
					{
						displayName: 'Exclude Customer IDs',
						name: 'excludeIds',
						type: 'string',
						default: '',
						placeholder: 'e.g. LOANID-2043153, LOANID-2043154',
						description: 'Everyone but these customers: IDs separated by commas, or a list from an expression',
					},
					{
						displayName: 'Language',
						name: 'language',
						type: 'string',
						default: '',
						placeholder: 'e.g. hindi, english',
						description: 'Only customers with one of these languages, separated by commas, as they are written in the campaign',
					},
					{
						displayName: 'Payment Status',
						name: 'paymentStatus',
						type: 'multiOptions',
						options: PAYMENT_STATUSES.map((status) => ({ name: status.charAt(0).toUpperCase() + status.slice(1), value: status })),
						default: [],
						description: 'Only customers with one of these payment statuses; an expression may give others TimePay uses',
					},
				],
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add option',
				default: {},
				options: [
					requestTimeoutOption(TIMEPAY_TIMEOUT_SECONDS, 'TimePay'),
					{
						displayName: 'Treat Partial Success as Error',
						name: 'treatPartialSuccessAsError',
						type: 'boolean',
						default: false,
						description:
							'Whether a partial success (HTTP 207: some customers initiated, some failed) fails the item. Off: the item comes out with success false, partial-success true, failed-customers and TimePay\'s answer (counts and errors) under response.',
					},
				],
			},
		],
	};

	methods = {
		listSearch: { searchCampaigns },
		loadOptions: { getDispositions },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return [await runInitiations(this)];
	}
}
