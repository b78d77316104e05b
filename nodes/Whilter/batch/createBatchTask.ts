import type { IDataObject } from 'n8n-workflow';

import type { WhilterContext, WhilterCredentials } from '../transport';
import { whilterApiRequest } from '../transport';

/** The task body of the seed (POST /<client>/task), plus the two options of the public variant. */
export interface BatchTaskRequest {
	clientId: string;
	campaignId: string;
	templateId: string;
	fileName: string;
	filePath: string;
	rowCount: number;
	expectedOutputDuration: number;
	priority?: number;
	callbackUrl?: string;
	taskPath: string;
	itemIndex?: number;
}

export function batchTaskBody(request: BatchTaskRequest): IDataObject {
	const body: IDataObject = {
		'client-id': request.clientId,
		'campaign-id': request.campaignId,
		'template-id': request.templateId,
		'file-name': request.fileName,
		'file-path': request.filePath,
		'row-count': request.rowCount,
		'expected-output-duration': request.expectedOutputDuration,
	};
	if (request.priority !== undefined) body.priority = request.priority;
	if (request.callbackUrl) body['callback-url'] = request.callbackUrl;
	return body;
}

/** The body's client-id: the client ID of the credential, or its client path segment with a static token. */
export function whilterClientId(credentials: WhilterCredentials): string {
	return String(credentials.clientId || credentials.client || '').trim();
}

/** Sent once: the request helper never retries a POST, so one execution never makes two tasks. */
export async function createBatchTask(this: WhilterContext, request: BatchTaskRequest): Promise<IDataObject> {
	return await whilterApiRequest.call(this, {
		method: 'POST',
		path: request.taskPath,
		clientScoped: true,
		body: batchTaskBody(request),
		itemIndex: request.itemIndex,
	});
}
