import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';
import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';

import { mapItems } from '../shared/perItem';
import { parseTaskStatus } from './taskStatus';
import { whilterApiRequest } from './transport';

export class WhilterStatus implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Whilter Status',
		name: 'whilterStatus',
		icon: { light: 'file:../../icons/whilter.svg', dark: 'file:../../icons/whilter.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"] + ": " + $parameter["taskId"]}}',
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
						name: 'Get',
						value: 'get',
						action: 'Get the status of a task',
						description: 'Ask Whilter where a batch task stands',
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
				displayName: 'Status Path',
				name: 'statusPath',
				type: 'string',
				default: '/task/status/{taskId}',
				description: 'Path under /&lt;client&gt; of the status endpoint; {taskId} is replaced by the task ID',
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return [
			await mapItems(this, async (itemIndex) => {
				const taskId = String(this.getNodeParameter('taskId', itemIndex, '')).trim();
				if (!taskId) {
					throw new NodeOperationError(this.getNode(), `Item ${itemIndex}: "Task ID" is empty`, {
						itemIndex,
						description: 'Map the task-id field of Whilter Batch\'s output, e.g. {{ $json["task-id"] }}',
					});
				}
				const statusPath = String(this.getNodeParameter('statusPath', itemIndex, '/task/status/{taskId}'));
				const raw = await whilterApiRequest.call(this, {
					method: 'GET',
					path: statusPath.replace('{taskId}', encodeURIComponent(taskId)),
					clientScoped: true,
					itemIndex,
				});
				return parseTaskStatus(raw, taskId) as unknown as IDataObject;
			}),
		];
	}
}
