import { PassThrough, Readable } from 'node:stream';

import { BINARY_ENCODING, NodeApiError, NodeOperationError } from 'n8n-workflow';
import type { IBinaryData, IDataObject, IExecuteFunctions, INodeExecutionData, IPairedItemData } from 'n8n-workflow';

import { asNodeError, InputError, isTokenUnavailable } from '../../shared/errors';
import { failureFacts } from '../../shared/retry';
import { errorItem } from '../../shared/perItem';
import { giveTurn, turnClock } from '../../shared/turns';
import { TASK_PATH, taskPathOption } from '../api/endpoints';
import { ExistingObjectError, explainS3Failure, objectKey, s3CallOf, s3DropFromCredentials, s3TimeoutsFor, storeOf, uploadToDrop } from '../api/s3Drop';
import type { S3Drop, S3Timeouts, UploadResult } from '../api/s3Drop';
import { FILE_PATH_FORMS, taskFilePath } from '../api/objectUrl';
import type { FilePathForm } from '../api/objectUrl';
import { batchTaskBody, createBatchTask, DEFAULT_CALLBACK_FIELD, PRIORITY_FORMS, whilterClientId } from '../api/taskApi';
import type { PriorityForm } from '../api/taskApi';
import { getWhilterCredentials } from '../api/transport';
import { openCsvFile } from './csvFileInput';
import { createItemsCsvStream } from './csvWriter';
import { buildBatchFileName, runSuffix } from './fileName';
import type { BatchFileName } from './fileName';
import { planItemRowsAsync } from './rows';
import { zipSingleEntry } from './zip';

export interface BatchOptions {
	expectedOutputDuration?: number;
	priority?: number;
	priorityForm?: PriorityForm;
	callbackUrl?: string;
	callbackField?: string;
	/** Empty: the credential's client ID. */
	clientIdValue?: string;
	filePathForm?: FilePathForm;
	taskPath?: string;
	skipInvalidRows?: boolean;
	duplicateIdentifiers?: 'error' | 'keepFirst';
	nestedValues?: 'error' | 'json';
	neutraliseFormulas?: boolean;
	attachZip?: boolean;
	binaryOutputProperty?: string;
	replaceExisting?: boolean;
	uniqueFileName?: boolean;
	/** Seconds an S3 call may go without a byte (S3_TIMEOUTS when unset). */
	s3Timeout?: number;
	/** Options → File Already Uploaded: recovery after a failed task call. */
	alreadyUploaded?: { file?: AlreadyUploaded };
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

/**
 * The items' JSON, read in turns. The first turn starts after a pause: n8n's own preparation of a
 * million input items holds the loop for a few hundred milliseconds before execute() is called, and
 * the node's first synchronous stretch would otherwise lengthen that block.
 */
async function jsonOfItems(items: INodeExecutionData[]): Promise<IDataObject[]> {
	// Sized once: pushing a million entries would leave the copies of every growth step behind.
	const rows = new Array<IDataObject>(items.length);
	await giveTurn();
	const clock = turnClock();
	for (let i = 0; i < items.length; i++) {
		if (clock.dueAt(i)) await clock.next();
		rows[i] = items[i].json;
	}
	return rows;
}

/** Items → rows: everything is validated here, before a byte is uploaded. */
async function prepareFromItems(
	items: INodeExecutionData[],
	context: IExecuteFunctions,
	csvName: string,
	options: BatchOptions,
): Promise<PreparedFile> {
	const rows = await jsonOfItems(items);
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
	return { rowCount: () => plan.rowCount, zip: zipSingleEntry(csv, csvName), details };
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
	const options = context.getNodeParameter('options', 0, {}) as BatchOptions;
	const inline = binary.id ? undefined : Buffer.from(binary.data, BINARY_ENCODING);
	// Opened again to name the earlier row of a duplicate identifier, and with Keep First to find the
	// repeated identifiers before the file streams.
	const open = async (): Promise<Readable> =>
		binary.id ? await context.helpers.getBinaryStream(binary.id) : Readable.from([inline ?? Buffer.alloc(0)]);
	const file = await openCsvFile(open, {
		identifier: String(context.getNodeParameter('identifierColumn', 0)).trim(),
		fileLabel: `${binary.fileName ?? 'the file'} (binary property "${property}")`,
		skipInvalidRows: options.skipInvalidRows === true,
		duplicateIdentifiers: options.duplicateIdentifiers ?? 'error',
	});
	const details: IDataObject = { columns: file.header, 'source-file': binary.fileName ?? null };
	// Rows are left out while the file streams: the report is complete when the body ends, before the upload does.
	file.body.once('end', () => {
		const { skipped, duplicatesDropped } = file.leftOut();
		if (skipped.count) details['skipped-rows'] = { count: skipped.count, first: skipped.first };
		if (duplicatesDropped.count) details['duplicates-dropped'] = { count: duplicatesDropped.count, first: duplicatesDropped.first };
	});
	const zip = zipSingleEntry(file.body, csvName);
	// A refused row fails the ZIP as soon as it is read, possibly before every consumer has joined
	// (the binary copy of Attach ZIP): without a listener Node would throw that as an unhandled
	// 'error' event. The consumers still see the error, the upload through its pipeline.
	zip.on('error', () => undefined);
	return { rowCount: file.rowCount, zip, details };
}

/** How the upload treats a file already at the key, and how long S3 may stay silent. */
interface UploadSettings {
	replaceExisting: boolean;
	timeouts: S3Timeouts;
}

function uploadSettings(options: BatchOptions): UploadSettings {
	const seconds = options.s3Timeout === undefined ? undefined : Number(options.s3Timeout);
	if (seconds !== undefined && !(Number.isFinite(seconds) && seconds > 0)) {
		throw new InputError(`The "S3 Timeout (Seconds)" option is ${String(options.s3Timeout)}: it must be a number of seconds above 0`, {
			parameter: 'options.s3Timeout',
		});
	}
	return { replaceExisting: options.replaceExisting === true, timeouts: s3TimeoutsFor(seconds) };
}

/** Uploads the ZIP; when asked, also stores it in n8n's binary storage from the same stream. */
async function uploadZip(
	context: IExecuteFunctions,
	drop: S3Drop,
	key: string,
	zip: Readable,
	attachAs: string | undefined,
	settings: UploadSettings,
): Promise<{ result: UploadResult; binary?: IBinaryData }> {
	const upload = async (body: Readable) =>
		await uploadToDrop(drop, key, body, { contentType: 'application/zip', abortSignal: context.getExecutionCancelSignal?.(), ...settings });
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

/**
 * An upload failure in words that say it was S3, which bucket and key, and what S3 said: a bare
 * "socket hang up" names none of them. Bad rows found while streaming are the input's fault and pass.
 */
function s3UploadError(context: IExecuteFunctions, error: unknown, drop: S3Drop, key: string, fileName: string): Error {
	if (error instanceof InputError || error instanceof NodeOperationError || error instanceof NodeApiError) return error;
	if (error instanceof ExistingObjectError) return existingFileError(context, error, fileName);
	const facts = failureFacts(error);
	const name = (error as { name?: string } | undefined)?.name;
	const call = s3CallOf(error);
	const refusal = explainS3Failure(error, drop);
	if (refusal) {
		const where = `store ${storeOf(drop)}, bucket "${drop.bucket}", key "${key}"`;
		return new NodeOperationError(context.getNode(), `Uploading the batch file to S3 failed (${where}): ${refusal.reason}${call ? ` to ${call}` : ''}`, {
			itemIndex: 0,
			description: `${refusal.check}. Nothing was registered with Whilter, and an unfinished multipart upload is aborted.`,
		});
	}
	const message = error instanceof Error ? error.message : String(error);
	const said = facts.status
		? `S3 answered HTTP ${facts.status}${name && name !== 'Error' ? ` (${name})` : ''}${call ? ` to ${call}` : ''}`
		: call && !message.includes(call)
			? `${message} (${call})`
			: message;
	return new NodeOperationError(context.getNode(), `Uploading the batch file to S3 failed (bucket "${drop.bucket}", key "${key}"): ${said}`, {
		itemIndex: 0,
		description: 'Nothing was registered with Whilter, and an unfinished multipart upload is aborted. Check the S3 settings of the Whilter credential, then run the node again.',
	});
}

/**
 * The file name is already taken in the drop. Two runs with one campaign name (a schedule, a second
 * workflow, two names that clean to the same text) would otherwise share one object, and the task
 * of one run could process the other run's customers.
 */
function existingFileError(context: IExecuteFunctions, error: ExistingObjectError, fileName: string): NodeOperationError {
	const when = error.lastModified ? `, uploaded ${error.lastModified.toISOString()}` : '';
	return new NodeOperationError(
		context.getNode(),
		`The S3 drop already holds a file named "${fileName}" (bucket "${error.bucket}", key "${error.key}"${when}): an earlier run may have created a Whilter task for it. The file was left as it is and no task was created.`,
		{
			itemIndex: 0,
			description: `Check in Whilter whether a task exists for file "${fileName}" before running again. To send these customers as a task of their own, turn on "Unique File Name" (Options): each run then uploads a file of its own. To overwrite the file on purpose, turn on "Replace Existing File".`,
		},
	);
}

/** Where the batch file is in the drop, once uploaded now or by an earlier run. */
interface PlacedFile {
	fileName: string;
	key: string;
	rowCount: number;
	details: IDataObject;
	binary?: IBinaryData;
}

/** The task body's forms (Options), checked before anything is uploaded. */
function readBodyForms(options: BatchOptions): { callbackField: string; filePathForm: FilePathForm; priorityForm: PriorityForm } {
	const callbackField = options.callbackField?.trim() || DEFAULT_CALLBACK_FIELD;
	// The body's own fields: a callback URL written over one of them would send a broken task.
	const taken = Object.keys(batchTaskBody({ clientId: '', campaignId: '', templateId: '', fileName: '', filePath: '', rowCount: 0, expectedOutputDuration: 0, priority: 0 }));
	if (taken.includes(callbackField)) {
		throw new InputError(`"Callback Field Name" is "${callbackField}", a field the task body already has`, { parameter: 'options.callbackField' });
	}
	const filePathForm = options.filePathForm ?? 'key';
	if (!FILE_PATH_FORMS.includes(filePathForm)) throw new InputError(`"File Path Form" is "${String(filePathForm)}"`, { parameter: 'options.filePathForm' });
	const priorityForm = options.priorityForm ?? 'number';
	if (!PRIORITY_FORMS.includes(priorityForm)) throw new InputError(`"Priority Form" is "${String(priorityForm)}"`, { parameter: 'options.priorityForm' });
	return { callbackField, filePathForm, priorityForm };
}

/** The campaign and the file name, checked before anything is uploaded. */
function readCampaign(context: IExecuteFunctions, options: BatchOptions) {
	// A bad task path found after the upload would leave a file behind for nothing.
	taskPathOption(options.taskPath?.trim() || TASK_PATH, 'Task Path');
	readBodyForms(options);
	const campaignId = String(context.getNodeParameter('campaignId', 0)).trim();
	if (!campaignId) throw new InputError('"Campaign ID" is empty', { parameter: 'campaignId' });
	const name = buildBatchFileName({
		templateId: String(context.getNodeParameter('templateId', 0)),
		campaignName: String(context.getNodeParameter('campaignName', 0, '') || campaignId),
		highPriority: context.getNodeParameter('highPriority', 0, false) as boolean,
		runSuffix: options.uniqueFileName === true ? runSuffix() : undefined,
	});
	return { campaignId, name };
}

/** Options → File Already Uploaded: an earlier run put the file in the drop and its task call failed. */
function fileFromEarlierRun(file: AlreadyUploaded): PlacedFile {
	const fileName = file.fileName.trim();
	const key = file.filePath.trim();
	const rowCount = Number(file.rowCount);
	if (!fileName || !key || !Number.isInteger(rowCount) || rowCount < 1) {
		throw new InputError('"Options → File Already Uploaded" needs the file name, its S3 key and a row count of at least 1', { parameter: 'options.alreadyUploaded' });
	}
	return { fileName, key, rowCount, details: {} };
}

/** Items or a CSV file → CSV → ZIP, streamed into the drop; `upload` records what got there. */
async function uploadNewFile(
	context: IExecuteFunctions,
	drop: S3Drop,
	name: BatchFileName,
	options: BatchOptions,
	upload: IDataObject,
): Promise<PlacedFile> {
	const items = context.getInputData();
	const settings = uploadSettings(options);
	const prepared =
		context.getNodeParameter('inputSource', 0) === 'file'
			? await prepareFromFile(items, context, name.csvName)
			: await prepareFromItems(items, context, name.csvName, options);
	const key = objectKey(drop, name.zipName);
	let uploaded: Awaited<ReturnType<typeof uploadZip>>;
	try {
		uploaded = await uploadZip(context, drop, key, prepared.zip, options.attachZip ? name.zipName : undefined, settings);
	} catch (error) {
		// The attached copy (if any) would otherwise wait for the rest of a stream nobody reads.
		prepared.zip.destroy();
		throw s3UploadError(context, error, drop, key, name.zipName);
	}
	const { result, binary } = uploaded;
	if (result.conditionalWrite === false) {
		context.logger.warn(
			`Whilter Batch: the S3 store of bucket "${drop.bucket}" answered If-None-Match with 501 (no conditional writes), so only the check before the upload kept "${key}" from replacing a file another run wrote meanwhile`,
			{ node: context.getNode().name },
		);
	}
	const rowCount = prepared.rowCount();
	Object.assign(upload, { bucket: result.bucket, 'file-path': result.key, 'zip-bytes': result.bytes, 'row-count': rowCount });
	return { fileName: name.zipName, key, rowCount, details: prepared.details, binary };
}

/**
 * The task call failed after the file was uploaded. A refusal (4xx) created nothing, so the way on is
 * to create the task for the file already in the drop. After a dropped connection, a timeout or a
 * 5xx the task may exist: creating it again would process the same customers twice, so the message
 * says to check first and offers Options → File Already Uploaded only for when no task exists.
 */
function taskCallError(apiError: NodeApiError | NodeOperationError, drop: S3Drop, file: PlacedFile): NodeApiError | NodeOperationError {
	const status = 'httpCode' in apiError && apiError.httpCode ? Number(apiError.httpCode) : undefined;
	// No token: the task call was not sent, or refused unauthenticated; either way Whilter made nothing.
	const refused = isTokenUnavailable(apiError) || (status !== undefined && status >= 400 && status < 500 && status !== 408);
	const where = `bucket "${drop.bucket}", key "${file.key}" (${file.rowCount} rows)`;
	const resume = `set "Options → File Already Uploaded" to file name "${file.fileName}", S3 key "${file.key}", row count ${file.rowCount}`;
	// The vendor's message may end with its own full stop.
	const said = apiError.message.replace(/\.+$/, '');
	apiError.message = refused
		? `${said}. Whilter created no task. The file is already in S3: ${where}; to create the task without uploading again, ${resume}`
		: `${said}. Whilter may have created the task before the call failed: do not create it again before checking. The file is in S3: ${where}, uploaded ${new Date().toISOString()}; ask Whilter whether a task exists for file "${file.fileName}" (or look it up with Whilter Status if you learn its task ID). Only if none exists, ${resume}`;
	return apiError;
}

/**
 * From this many input items on, the pairing lists bare item numbers. n8n resolves a number in a
 * pairedItem list as `{ item: number }` (expressions, the error output), and a million numbers take
 * 8 MB where a million `{ item }` objects take about 40 MB. The editor's hover highlighting reads
 * only the object form, so small runs, the ones a person looks at item by item, keep it.
 */
export const PAIR_AS_NUMBERS_FROM = 1000;

/**
 * The output item pairs with every input item, as n8n's own Aggregate node pairs: an expression after
 * this node can still reach the input rows. Made in turns, since n8n serves the editor and webhooks
 * from this thread.
 */
async function pairWithEveryInput(count: number): Promise<IPairedItemData[]> {
	if (count < PAIR_AS_NUMBERS_FROM) return Array.from({ length: count }, (_, item) => ({ item }));
	// Sized once (V8 keeps even a 30-million-entry new Array packed): pushing would leave the copies
	// of every growth step behind for the collector.
	const pairs = new Array<number>(count);
	const clock = turnClock();
	for (let item = 0; item < count; item++) {
		if (clock.dueAt(item)) await clock.next();
		pairs[item] = item;
	}
	// n8n-workflow types the list as objects only; its resolver and its error output take numbers too.
	return pairs as unknown as IPairedItemData[];
}

/** Builds, uploads and registers one batch file for all the input items of this execution. */
export async function runBatch(
	this: IExecuteFunctions,
	/** Submit and wait: the task's callback is this execution's resume URL. */
	overrides: { callbackUrl?: string } = {},
): Promise<INodeExecutionData[]> {
	// The pairing is made last, once the upload's buffers and the planning's garbage are gone, so
	// that its million entries (8 MB) do not add to the upload's peak.
	const inputCount = this.getInputData().length;
	const options = this.getNodeParameter('options', 0, {}) as BatchOptions;
	const credentials = await getWhilterCredentials(this);
	const upload: IDataObject = {};
	try {
		const { campaignId, name } = readCampaign(this, options);
		const drop = s3DropFromCredentials(credentials);
		let file: PlacedFile;
		if (options.alreadyUploaded?.file) {
			file = fileFromEarlierRun(options.alreadyUploaded.file);
			Object.assign(upload, { bucket: drop.bucket, 'file-path': file.key, uploaded: 'earlier run' });
		} else {
			file = await uploadNewFile(this, drop, name, options, upload);
		}
		let task: IDataObject;
		try {
			const forms = readBodyForms(options);
			task = await createBatchTask.call(this, {
				clientId: options.clientIdValue?.trim() || whilterClientId(credentials),
				campaignId,
				templateId: name.templateId,
				fileName: file.fileName,
				filePath: taskFilePath(drop, file.key, forms.filePathForm),
				rowCount: file.rowCount,
				expectedOutputDuration: Number(options.expectedOutputDuration ?? 0),
				priority: options.priority,
				priorityForm: forms.priorityForm,
				callbackUrl: overrides.callbackUrl ?? (options.callbackUrl?.trim() || undefined),
				callbackField: forms.callbackField,
				taskPath: options.taskPath,
				itemIndex: 0,
			});
		} catch (error) {
			throw taskCallError(toNodeError(this, error), drop, file);
		}
		const json: IDataObject = {
			'task-id': task['task-id'] ?? null,
			'campaign-id': task['campaign-id'] ?? campaignId,
			'template-id': task['template-id'] ?? name.templateId,
			'file-name': file.fileName,
			'file-path': file.key,
			bucket: drop.bucket,
			'row-count': file.rowCount,
			message: task.message ?? null,
			...(name.campaignNameChanged ? { 'campaign-name-used': name.campaignName } : {}),
			...file.details,
		};
		const pairedItem = await pairWithEveryInput(inputCount);
		return [{ json, ...(file.binary ? { binary: { [options.binaryOutputProperty || 'data']: file.binary } } : {}), pairedItem }];
	} catch (error) {
		const nodeError = toNodeError(this, error);
		if (!this.continueOnFail()) throw nodeError;
		return [errorItem(nodeError, await pairWithEveryInput(inputCount), { upload })];
	}
}
