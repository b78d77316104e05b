import { NodeConnectionTypes } from 'n8n-workflow';
import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';

import { operationOf, runPerItem } from '../shared/perItem';
import { pollScheduleProperties } from '../shared/poll';
import { TASK_CANCEL_PATH, TASK_STATUS_PATH } from './api/endpoints';
import { maxFieldSizeOption } from './api/resultLimits';
import { RESULT_ROW_FILTER_OPTIONS } from './api/rowFilter';
import { planStatusItem, POLL_DEFAULTS, runStatusOperation, STATUS_OPERATIONS } from './status/operations';

const WAITING = { show: { operation: ['wait'] } };
const WAITING_FOR_RESULTS = { show: { operation: ['getResults'], waitForCompletion: [true] } };

export class WhilterStatus implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Whilter Status',
		name: 'whilterStatus',
		icon: { light: 'file:../../icons/whilter.svg', dark: 'file:../../icons/whilter.dark.svg' },
		group: ['transform'],
		version: 1,
		// The task ID is usually an expression on the input, which the canvas cannot show: the operation alone.
		subtitle: '={{{"get": "Get Status", "wait": "Wait for Completion", "getResults": "Get Results", "cancel": "Cancel"}[$parameter["operation"]] || $parameter["operation"]}}',
		description: 'Follow a Whilter.AI batch task: its status, and its results once completed',
		defaults: { name: 'Whilter Status' },
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
						name: 'Cancel',
						value: 'cancel',
						action: 'Cancel a task',
						description: 'Ask Whilter to stop a task that has not completed',
					},
					{
						name: 'Get',
						value: 'get',
						action: 'Get the status of a task',
						description: 'Ask Whilter where a batch task stands',
					},
					{
						name: 'Get Results',
						value: 'getResults',
						action: 'Get the results of a task',
						description: 'Read the output file of a completed task: one item per row, or the file itself',
					},
					{
						name: 'Wait for Completion',
						value: 'wait',
						action: 'Wait for a task to complete',
						description: 'Ask for the status until the task is completed, failed or cancelled',
					},
				],
				default: 'get',
			},
			{
				displayName: 'Task ID',
				name: 'taskId',
				type: 'string',
				default: '={{ $json["task-id"] }}',
				required: true,
				description: 'The task returned by Whilter Batch (its task ID field) or by the task API',
			},
			{
				displayName: 'Rows',
				name: 'rowFilter',
				type: 'options',
				options: RESULT_ROW_FILTER_OPTIONS,
				default: 'all',
				displayOptions: { show: { operation: ['getResults'], resultFormat: ['items'] } },
			},
			{
				displayName: 'Output',
				name: 'resultFormat',
				type: 'options',
				options: [
					{ name: 'One Item per Row', value: 'items', description: 'Every column of the row, including the media URL and error columns' },
					{ name: 'CSV File', value: 'binary', description: 'The output file as binary data, on one item with the task status' },
				],
				default: 'items',
				displayOptions: { show: { operation: ['getResults'] } },
			},
			{
				displayName: 'Put Output File in Field',
				name: 'binaryPropertyName',
				type: 'string',
				default: 'data',
				required: true,
				displayOptions: { show: { operation: ['getResults'], resultFormat: ['binary'] } },
				hint: 'The name of the output binary field to put the file in',
			},
			{
				displayName: 'Wait for Completion',
				name: 'waitForCompletion',
				type: 'boolean',
				default: false,
				displayOptions: { show: { operation: ['getResults'] } },
				description: 'Whether to wait until the task is completed before reading its results (otherwise a task that is not completed is an error)',
			},
			...[WAITING, WAITING_FOR_RESULTS].flatMap((displayOptions) => [
				...pollScheduleProperties({ ...POLL_DEFAULTS, afterTimeout: 'Then "On Timeout" decides what happens.' }, displayOptions),
				{
					displayName: 'On Timeout',
					name: 'onTimeout',
					type: 'options' as const,
					options: [
						{ name: 'Error', value: 'error', description: 'Fail the item, naming the task and its last status' },
						{
							name: 'Output Last Status',
							value: 'outputLastStatus',
							description: 'Output the last status seen, with timed-out set to true',
						},
					],
					default: 'error',
					displayOptions,
				},
			]),
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add option',
				default: {},
				// Each option shows where it applies; the paths point the node at another Whilter deployment.
				options: [
					{
						displayName: 'Cancel Path',
						name: 'cancelPath',
						type: 'string',
						default: TASK_CANCEL_PATH,
						displayOptions: { show: { '/operation': ['cancel'] } },
						description: 'Path of the cancel endpoint, under the API base URL (not under /&lt;client&gt;); {taskId} is replaced by the task ID',
					},
					maxFieldSizeOption({ show: { '/operation': ['getResults'], '/resultFormat': ['items'] } }),
					{
						displayName: 'Status Path',
						name: 'statusPath',
						type: 'string',
						default: TASK_STATUS_PATH,
						displayOptions: { hide: { '/operation': ['cancel'] } },
						description: 'Path under /&lt;client&gt; of the status endpoint; {taskId} is replaced by the task ID',
					},
				],
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const operation = operationOf(this, STATUS_OPERATIONS);
		return [
			await runPerItem(this, {
				check: (itemIndex) => planStatusItem(this, operation, itemIndex),
				run: async (plan, itemIndex) => await runStatusOperation(this, plan, itemIndex),
			}),
		];
	}
}
