import { NodeConnectionTypes } from 'n8n-workflow';
import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';

import { runBatch } from './batch/runBatch';
import { CAMPAIGN_NAME_RULE } from './batch/fileName';

export class WhilterBatch implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Whilter Batch',
		name: 'whilterBatch',
		icon: { light: 'file:../../icons/whilter.svg', dark: 'file:../../icons/whilter.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{"Template " + $parameter["templateId"] + " · " + $parameter["campaignId"]}}',
		description: 'Send a customer list to Whilter.AI as one batch task (CSV → ZIP → S3 → task)',
		defaults: { name: 'Whilter Batch' },
		// One task is made from all the items of an execution; an AI agent's tool call carries one
		// item, which would make a one-customer campaign.
		usableAsTool: undefined,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'whilterApi', required: true }],
		properties: [
			{
				displayName: 'All input items make one file and one task per execution',
				name: 'oneTaskNotice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Input',
				name: 'inputSource',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Items', value: 'items', description: 'Each input item is one customer row' },
					{ name: 'CSV File', value: 'file', description: 'A CSV file in a binary property (e.g. from Read File or HTTP Request)' },
				],
				default: 'items',
			},
			{
				displayName: 'Input Binary Field',
				name: 'binaryPropertyName',
				type: 'string',
				default: 'data',
				required: true,
				displayOptions: { show: { inputSource: ['file'] } },
				description: 'Binary property holding the CSV file (UTF-8, header row)',
			},
			{
				displayName: 'Identifier Column',
				name: 'identifierColumn',
				type: 'string',
				default: '',
				required: true,
				placeholder: 'phone',
				description: 'The unique identifier of each customer (phone number or customer ID); Whilter expects it as the first column',
			},
			{
				displayName: 'Columns',
				name: 'columns',
				type: 'string',
				default: '',
				placeholder: 'phone, name, city',
				displayOptions: { show: { inputSource: ['items'] } },
				description: 'Comma-separated fields to write, in order. Empty: every field, in the order first seen across the items.',
			},
			{
				displayName: 'Template ID',
				name: 'templateId',
				type: 'string',
				default: '',
				required: true,
				description: 'The Whilter template. Letters, digits and hyphens only: "_" separates the parts of the file name.',
			},
			{
				displayName: 'Campaign ID',
				name: 'campaignId',
				type: 'string',
				default: '',
				required: true,
			},
			{
				displayName: 'Campaign Name',
				name: 'campaignName',
				type: 'string',
				default: '',
				description: 'Your name for the campaign, used in the file name; empty: the campaign ID',
				hint: CAMPAIGN_NAME_RULE,
			},
			{
				displayName: 'High Priority',
				name: 'highPriority',
				type: 'boolean',
				default: false,
				description: 'Whether to name the file &lt;TemplateID&gt;_Priority_&lt;CampaignName&gt;.zip, Whilter\'s high-priority convention',
			},
			{
				displayName: 'File Already Uploaded',
				name: 'alreadyUploaded',
				type: 'fixedCollection',
				placeholder: 'Add File Already Uploaded',
				default: {},
				description: 'Create the task for a file an earlier run already put in S3 (its error message gives these values)',
				options: [
					{
						displayName: 'File',
						name: 'file',
						values: [
							{ displayName: 'File Name', name: 'fileName', type: 'string', default: '' },
							{ displayName: 'S3 Key', name: 'filePath', type: 'string', default: '' },
							{ displayName: 'Row Count', name: 'rowCount', type: 'number', default: 1, typeOptions: { minValue: 1 } },
						],
					},
				],
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Attach ZIP',
						name: 'attachZip',
						type: 'boolean',
						default: false,
						description: 'Whether to output the uploaded ZIP as binary data too',
					},
					{
						displayName: 'Callback URL',
						name: 'callbackUrl',
						type: 'string',
						default: '',
						placeholder: 'https://n8n.example.com/webhook/…/whilter',
						description: 'Whilter POSTs here when the task completes: use the production URL of a Whilter Trigger node',
					},
					{
						displayName: 'Duplicate Identifiers',
						name: 'duplicateIdentifiers',
						type: 'options',
						options: [
							{ name: 'Fail', value: 'error', description: 'Stop before uploading, naming both items' },
							{ name: 'Keep First', value: 'keepFirst', description: 'Write the first row of each identifier and report the rest' },
						],
						default: 'error',
					},
					{
						displayName: 'Expected Output Duration',
						name: 'expectedOutputDuration',
						type: 'number',
						default: 0,
						description: 'Sent as expected-output-duration in the task',
					},
					{
						displayName: 'Nested Values',
						name: 'nestedValues',
						type: 'options',
						options: [
							{ name: 'Fail', value: 'error', description: 'An object or array in a field stops the node, naming item and field' },
							{ name: 'Write as JSON', value: 'json' },
						],
						default: 'error',
					},
					{
						displayName: 'Neutralise Spreadsheet Formulas',
						name: 'neutraliseFormulas',
						type: 'boolean',
						default: false,
						description: 'Whether to prefix cells starting with = + - @ with an apostrophe, so spreadsheets do not run them',
					},
					{
						displayName: 'Priority',
						name: 'priority',
						type: 'number',
						typeOptions: { numberPrecision: 0 },
						default: 0,
						description: 'Integer priority for the task (public API variant)',
					},
					{
						displayName: 'Put ZIP in Field',
						name: 'binaryOutputProperty',
						type: 'string',
						default: 'data',
						displayOptions: { show: { attachZip: [true] } },
					},
					{
						displayName: 'Skip Invalid Rows',
						name: 'skipInvalidRows',
						type: 'boolean',
						default: false,
						description: 'Whether to leave out rows without an identifier (the output lists them) instead of failing',
					},
					{
						displayName: 'Task Path',
						name: 'taskPath',
						type: 'string',
						default: '/task',
						description: 'Path under /&lt;client&gt; of the task endpoint',
					},
				],
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return [await runBatch.call(this)];
	}
}
