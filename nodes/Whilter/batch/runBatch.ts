import { PassThrough, Readable } from 'node:stream';

import { BINARY_ENCODING, NodeApiError, NodeOperationError } from 'n8n-workflow';
import type { IBinaryData, IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { asNodeError } from '../../shared/errors';
import { InputError } from '../../shared/inputError';
import { errorItem } from '../../shared/perItem';
import { TASK_PATH, taskPathOption } from '../api/endpoints';
import { objectKey, s3DropFromCredentials, uploadToDrop } from '../api/s3Drop';
import type { S3Drop, UploadResult } from '../api/s3Drop';
import { createBatchTask, whilterClientId } from '../api/taskApi';
import { getWhilterCredentials } from '../api/transport';
import { openCsvFile } from './csvFileInput';
import { createItemsCsvStream } from './csvWriter';
import { buildBatchFileName } from './fileName';
import { planItemRowsAsync } from './rows';
import { zipSingleEntry } from './zip';

export interface BatchOptions {
	expectedOutputDuration?: number;
	priority?: number;
	callbackUrl?: string;
	taskPath?: string;
	skipInvalidRows?: boolean;
	duplicateIdentifiers?: 'error' | 'keepFirst';
	nestedValues?: 'error' | 'json';
	neutraliseFormulas?: boolean;
	attachZip?: boolean;
	binaryOutputProperty?: string;
}

export interface AlreadyUploaded {
	fileName: string;
	filePath: string;
	rowCount: number;
}

interface PreparedFile {
	rowCount: () => number;
	zip: Readable;
	details: IDataObject;
}

/** The batch is one piece of work for all items: its errors name their item and row themselves. */
function toNodeError(context: IExecuteFunctions, error: unknown): NodeApiError | NodeOperationError {
	return asNodeError(context.getNode(), error, 0);
}

/** Items → rows: everything is validated here, before a byte is uploaded. */
async function prepareFromItems(
	items: INodeExecutionData[],
	context: IExecuteFunctions,
	csvName: string,
	options: BatchOptions,
): Promise<PreparedFile> {
	const rows = items.map((item) => item.json);
	// Pauses every few thousand rows: n8n serves webhooks and the editor from this thread.
	const plan = await planItemRowsAsync(rows, {
		identifier: String(context.getNodeParameter('identifierColumn', 0)).trim(),
		columns: String(context.getNodeParameter('columns', 0, ''))
			.split(',')
			.map((c) => c.trim())
			.filter(Boolean),
		skipInvalidRows: options.skipInvalidRows === true,
		duplicateIdentifiers: options.duplicateIdentifiers ?? 'error',
		nestedValues: options.nestedValues ?? 'error',
	});
	const csv = createItemsCsvStream({
		rows,
		indexes: plan.indexes,
		columns: plan.columns,
		cellOptions: { nestedValues: options.nestedValues ?? 'error', neutraliseFormulas: options.neutraliseFormulas === true },
	});
	const details: IDataObject = { columns: plan.columns };
	if (plan.skipped.count) details['skipped-rows'] = { count: plan.skipped.count, first: plan.skipped.first };
	if (plan.duplicatesDropped.count) {
		details['duplicates-dropped'] = { count: plan.duplicatesDropped.count, first: plan.duplicatesDropped.first };
	}
	return { rowCount: () => plan.indexes.length, zip: zipSingleEntry(csv, csvName), details };
}

/** A CSV file from a previous node, streamed from n8n's binary storage and never held whole. */
async function prepareFromFile(items: INodeExecutionData[], context: IExecuteFunctions, csvName: string): Promise<PreparedFile> {
	const property = String(context.getNodeParameter('binaryPropertyName', 0)).trim();
	if (items.length !== 1) {
		throw new InputError(`CSV file input takes one file per execution, but ${items.length} items arrived`, {
			description: 'Each execution makes one Whilter task. Split the files into separate executions, or merge them into one CSV first.',
		});
	}
	const binary: IBinaryData = context.helpers.assertBinaryData(0, property);
	const source = binary.id
		? await context.helpers.getBinaryStream(binary.id)
		: Readable.from([Buffer.from(binary.data, BINARY_ENCODING)]);
	const file = await openCsvFile(source, {
		identifier: String(context.getNodeParameter('identifierColumn', 0)).trim(),
		fileLabel: `${binary.fileName ?? 'the file'} (binary property "${property}")`,
	});
	return {
		rowCount: file.rowCount,
		zip: zipSingleEntry(file.body, csvName),
		details: { columns: file.header, 'source-file': binary.fileName ?? null },
	};
}

/** Uploads the ZIP; when asked, also stores it in n8n's binary storage from the same stream. */
async function uploadZip(
	context: IExecuteFunctions,
	drop: S3Drop,
	key: string,
	zip: Readable,
	attachAs: string | undefined,
): Promise<{ result: UploadResult; binary?: IBinaryData }> {
	const upload = async (body: Readable) =>
		await uploadToDrop(drop, key, body, { contentType: 'application/zip', abortSignal: context.getExecutionCancelSignal?.() });
	if (!attachAs) return { result: await upload(zip) };
	// Two readers of one ZIP stream: pipe() paces the source to the slower of them.
	const toS3 = new PassThrough();
	const toBinary = new PassThrough();
	zip.pipe(toS3);
	zip.pipe(toBinary);
	zip.once('error', (error) => {
		toS3.destroy(error);
		toBinary.destroy(error);
	});
	const [result, binary] = await Promise.all([upload(toS3), context.helpers.prepareBinaryData(toBinary, attachAs, 'application/zip')]);
	return { result, binary };
}

/** Builds, uploads and registers one batch file for all the input items of this execution. */
export async function runBatch(
	this: IExecuteFunctions,
	/** Submit and wait: the task's callback is this execution's resume URL. */
	overrides: { callbackUrl?: string } = {},
): Promise<INodeExecutionData[]> {
	const items = this.getInputData();
	const pairedItem = items.map((_, item) => ({ item }));
	const options = this.getNodeParameter('options', 0, {}) as BatchOptions;
	const resume = this.getNodeParameter('alreadyUploaded', 0, {}) as { file?: AlreadyUploaded };
	const credentials = await getWhilterCredentials(this);
	const upload: IDataObject = {};
	try {
		// Checked before anything is uploaded: a bad path found after the upload would leave a file behind.
		taskPathOption(options.taskPath?.trim() || TASK_PATH, 'Task Path');
		const campaignId = String(this.getNodeParameter('campaignId', 0)).trim();
		if (!campaignId) throw new InputError('"Campaign ID" is empty', { parameter: 'campaignId' });
		const name = buildBatchFileName({
			templateId: String(this.getNodeParameter('templateId', 0)),
			campaignName: String(this.getNodeParameter('campaignName', 0, '') || campaignId),
			highPriority: this.getNodeParameter('highPriority', 0, false) as boolean,
		});
		const drop = s3DropFromCredentials(credentials);
		let fileName = name.zipName;
		let key = objectKey(drop, name.zipName);
		let rowCount: number;
		const output: INodeExecutionData = { json: {}, pairedItem };
		let details: IDataObject = {};
		if (resume.file) {
			// The file is in the drop from an earlier run whose task call failed: create the task only.
			fileName = resume.file.fileName.trim();
			key = resume.file.filePath.trim();
			rowCount = Number(resume.file.rowCount);
			if (!fileName || !key || !Number.isInteger(rowCount) || rowCount < 1) {
				throw new InputError('"File Already Uploaded" needs the file name, its S3 key and a row count of at least 1', {
					parameter: 'alreadyUploaded',
				});
			}
			Object.assign(upload, { bucket: drop.bucket, 'file-path': key, uploaded: 'earlier run' });
		} else {
			const inputSource = this.getNodeParameter('inputSource', 0) as 'items' | 'file';
			const prepared =
				inputSource === 'file'
					? await prepareFromFile(items, this, name.csvName)
					: await prepareFromItems(items, this, name.csvName, options);
			details = prepared.details;
			const { result, binary } = await uploadZip(this, drop, key, prepared.zip, options.attachZip ? name.zipName : undefined);
			rowCount = prepared.rowCount();
			Object.assign(upload, { bucket: result.bucket, 'file-path': result.key, 'zip-bytes': result.bytes, 'row-count': rowCount });
			if (binary) output.binary = { [options.binaryOutputProperty || 'data']: binary };
		}
		let task: IDataObject;
		try {
			task = await createBatchTask.call(this, {
				clientId: whilterClientId(credentials),
				campaignId,
				templateId: name.templateId,
				fileName,
				filePath: key,
				rowCount,
				expectedOutputDuration: Number(options.expectedOutputDuration ?? 0),
				priority: options.priority,
				callbackUrl: overrides.callbackUrl ?? (options.callbackUrl?.trim() || undefined),
				taskPath: options.taskPath,
				itemIndex: 0,
			});
		} catch (error) {
			const apiError = toNodeError(this, error);
			apiError.message = `${apiError.message}. The file is already in S3: bucket "${drop.bucket}", key "${key}" (${rowCount} rows); to create the task without uploading again, set "File Already Uploaded" to file name "${fileName}", S3 key "${key}", row count ${rowCount}`;
			throw apiError;
		}
		output.json = {
			'task-id': task['task-id'] ?? null,
			'campaign-id': task['campaign-id'] ?? campaignId,
			'template-id': task['template-id'] ?? name.templateId,
			'file-name': fileName,
			'file-path': key,
			bucket: drop.bucket,
			'row-count': rowCount,
			message: task.message ?? null,
			...(name.campaignNameChanged ? { 'campaign-name-used': name.campaignName } : {}),
			...details,
		};
		return [output];
	} catch (error) {
		const nodeError = toNodeError(this, error);
		if (!this.continueOnFail()) throw nodeError;
		return [errorItem(nodeError, pairedItem, { upload })];
	}
}
