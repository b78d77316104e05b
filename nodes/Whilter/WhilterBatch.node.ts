import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';
import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
	IWebhookFunctions,
	IWebhookResponseData,
} from 'n8n-workflow';

import { TASK_PATH, TASK_STATUS_PATH } from './api/endpoints';
import { DEFAULT_CALLBACK_FIELD } from './api/taskApi';
import { maxFieldSizeOption, maxResultRowsOption } from './api/resultLimits';
import { RESULT_ROW_FILTER_OPTIONS } from './api/rowFilter';
import type { ResultRowFilter } from './api/rowFilter';
import { CAMPAIGN_NAME_RULE } from './batch/fileName';
import { runBatch } from './batch/runBatch';
import type { BatchOptions } from './batch/runBatch';
import { reserveTaskSlot, resumeOnCallback, resumeUrlOf, waitForCallback, waitTillOf } from './batch/waitForCallback';

interface WaitOptions {
	waitForCallback?: boolean;
	callbackTimeout?: number;
	rowFilter?: ResultRowFilter;
	statusPath?: string;
}

// The one webhook is a restart webhook (n8n serves it only for an execution waiting in this node, as
// GitHub's "dispatch and wait" does): there is nothing to register with Whilter, so no webhookMethods.
// eslint-disable-next-line @n8n/community-nodes/webhook-lifecycle-complete
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
		// Only used with "Wait for Completion Callback": Whilter's callback resumes the waiting execution.
		// responseData is set empty on purpose: left out, n8n answers an accepted call with the literal
		// text "firstEntryJson"; empty, it answers with the node's own small JSON (webhookResponse).
		webhooks: [{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: '', restartWebhook: true, responseData: '' }],
		waitingNodeTooltip:
			'Waiting for Whilter to call back when the task completes. The task ID is in this execution\'s custom data; the wait ends at the Callback Timeout.',
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
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add option',
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
						displayName: 'Callback Field Name',
						name: 'callbackField',
						type: 'string',
						default: DEFAULT_CALLBACK_FIELD,
						description: 'The task body field that carries the callback URL, if your Whilter account names it differently',
					},
					{
						displayName: 'Callback Result Rows',
						name: 'rowFilter',
						type: 'options',
						options: RESULT_ROW_FILTER_OPTIONS,
						default: 'all',
						displayOptions: { show: { waitForCallback: [true] } },
						description: 'Which rows of the output file to output when the execution resumes',
					},
					{
						displayName: 'Callback Timeout (Minutes)',
						name: 'callbackTimeout',
						type: 'number',
						typeOptions: { minValue: 0.01, numberPrecision: 2 },
						default: 1440,
						displayOptions: { show: { waitForCallback: [true] } },
						description: 'How long the execution waits for the callback. After that it continues with one item marked timed-out (task ID, file, no result rows), never with the customer rows; the task ID also stays in the execution\'s custom data.',
					},
					{
						displayName: 'Callback URL',
						name: 'callbackUrl',
						type: 'string',
						default: '',
						// Waiting sends the execution's own resume URL: the two cannot go together.
						displayOptions: { hide: { waitForCallback: [true] } },
						placeholder: 'https://n8n.example.com/webhook/…/whilter',
						description: 'Whilter POSTs here when the task completes: use the production URL of a Whilter Trigger node',
					},
					{
						displayName: 'Client ID Value',
						name: 'clientIdValue',
						type: 'string',
						default: '',
						placeholder: 'acme-account',
						description: 'What the task body sends as its client ID. Empty: the Client ID of the Whilter credential (or its client path segment with a static token).',
					},
					{
						displayName: 'Duplicate Identifiers',
						name: 'duplicateIdentifiers',
						type: 'options',
						options: [
							{
								name: 'Fail',
								value: 'error',
								description: 'Stop, naming both items or rows: items before anything is uploaded, a CSV file as it uploads (the upload is then aborted and no task created)',
							},
							{ name: 'Keep First', value: 'keepFirst', description: 'Write the first row of each identifier and report the rest' },
						],
						default: 'error',
					},
					{
						displayName: 'Expected Output Duration',
						name: 'expectedOutputDuration',
						type: 'number',
						default: 0,
						description:
							'Sent as is in the task\'s expected-output-duration. Whilter\'s documentation gives no unit: use the one your Whilter onboarding names.',
					},
					{
						displayName: 'File Already Uploaded',
						name: 'alreadyUploaded',
						type: 'fixedCollection',
						placeholder: 'Add File Already Uploaded',
						default: {},
						description: 'Recovery: create the task for a file an earlier run already put in S3, without uploading again (that run\'s error message gives these values)',
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
						displayName: 'File Path Form',
						name: 'filePathForm',
						type: 'options',
						options: [
							{ name: 'HTTPS URL of the Object', value: 'https', description: 'The object\'s URL at the credential\'s S3 endpoint and region: path-style when Force Path Style is on, else virtual-hosted' },
							{ name: 'S3 Key', value: 'key', description: 'The key in the bucket, e.g. incoming/acme/T-100_Diwali.zip' },
							{ name: 'S3 URI', value: 's3', description: 'The URI s3://bucket/key' },
						],
						default: 'key',
						description: 'How the task body\'s file-path names the uploaded ZIP',
					},
					maxFieldSizeOption({ show: { waitForCallback: [true] } }),
					maxResultRowsOption(
						'The most result rows the execution resumes with. A task with more fails the execution instead of going on with part of its rows: read them with Whilter Status → Get Results, which streams them.',
						{ show: { waitForCallback: [true] } },
					),
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
						description:
							'The task\'s numeric priority field (the public API\'s variant). Whilter\'s queue convention is the file name\'s _Priority_ marker instead (High Priority): use the one your account follows.',
					},
					{
						displayName: 'Priority Form',
						name: 'priorityForm',
						type: 'options',
						options: [
							{ name: 'Number', value: 'number', description: 'E.g. "priority": 3.' },
							{ name: 'Omit', value: 'omit', description: 'Never send priority, even when set' },
							{ name: 'Text', value: 'text', description: 'E.g. "priority": "3".' },
						],
						default: 'number',
						description: 'How the Priority option is written in the task body',
					},
					{
						displayName: 'Put ZIP in Field',
						name: 'binaryOutputProperty',
						type: 'string',
						default: 'data',
						displayOptions: { show: { attachZip: [true] } },
					},
					{
						displayName: 'Replace Existing File',
						name: 'replaceExisting',
						type: 'boolean',
						default: false,
						description:
							'Whether to overwrite a file of the same name already in the S3 drop. Off: the node stops before uploading, because an earlier run may have a Whilter task for that file.',
					},
					{
						displayName: 'S3 Timeout (Seconds)',
						name: 's3Timeout',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 120,
						description:
							'How long an S3 call (the check for an existing file, each part of the upload) may go without sending or receiving a byte before the node stops with an error. Connecting to S3 gives up after 10 seconds, or this time if shorter.',
					},
					{
						displayName: 'Skip Invalid Rows',
						name: 'skipInvalidRows',
						type: 'boolean',
						default: false,
						description:
							'Whether to leave out rows without an identifier, and rows of a CSV file with another number of fields than its header (the output lists them), instead of failing',
					},
					{
						displayName: 'Status Path',
						name: 'statusPath',
						type: 'string',
						default: TASK_STATUS_PATH,
						displayOptions: { show: { waitForCallback: [true] } },
						description: 'Path under /&lt;client&gt; of the status endpoint the callback is confirmed against',
					},
					{
						displayName: 'Task Path',
						name: 'taskPath',
						type: 'string',
						default: TASK_PATH,
						description: 'Path under /&lt;client&gt; of the task endpoint',
					},
					{
						displayName: 'Unique File Name',
						name: 'uniqueFileName',
						type: 'boolean',
						default: false,
						description:
							'Whether to add the time of the run (UTC) and 4 random characters to the campaign part of the file name, e.g. T-100_Diwali-20261020093000-k3x9.zip, so that runs with the same campaign name never share a file. The output\'s file-name is the name used.',
					},
					{
						displayName: 'Wait for Completion Callback',
						name: 'waitForCallback',
						type: 'boolean',
						default: false,
						description:
							'Whether to send this execution\'s resume URL as the task\'s callback URL and wait until Whilter calls it; the node then outputs the result rows (the callback is confirmed against the status API first)',
					},
				],
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const options = this.getNodeParameter('options', 0, {}) as BatchOptions & WaitOptions;
		if (!options.waitForCallback) return [await runBatch.call(this)];
		if (options.callbackUrl?.trim()) {
			throw new NodeOperationError(this.getNode(), 'Set either "Callback URL" or "Wait for Completion Callback", not both', {
				itemIndex: 0,
				description: 'Waiting sends this execution\'s own resume URL as the task\'s callback URL',
			});
		}
		const waitTill = waitTillOf(this, options.callbackTimeout ?? 1440);
		const key = reserveTaskSlot(this);
		const output = await runBatch.call(this, { callbackUrl: resumeUrlOf(this) });
		return [await waitForCallback(this, key, output, waitTill)];
	}

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const options = this.getNodeParameter('options', {}) as WaitOptions;
		return await resumeOnCallback(this, { rows: options.rowFilter ?? 'all', statusPath: options.statusPath });
	}
}
