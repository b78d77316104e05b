/**
 * Whilter's batch media API: `POST /<client>/task` names a ZIP already uploaded to the client's S3
 * drop, `GET /<client>/task/status/<id>` reports it, `POST /image/task/cancel/<id>` cancels it. A task
 * moves pending → in-progress → completed on the test's clock (advance); completing writes the output
 * CSV beside the input and POSTs the callback to the task's `callback-url`.
 */
import { randomUUID } from 'node:crypto';

import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';

import { isHttpUrl, isJson, json, jsonObject, unknownKeys } from '../http';
import type { RecordedRequest, Reply } from '../http';
import { postCallback, taskCallbackBody } from './callbacks';
import { buildOutputCsv, dataRowsOf, outputKeyFor, singleCsvEntryOf, singleCsvOf, storedOutput, zipOf } from './files';
import { bad, isNonEmptyString } from './reply';
import { mediaBase, setTaskState } from './state';
import { statusWord } from './statusWords';
import type { WhilterContext } from './state';
import type { ContractPathForm, Task } from './types';

const TASK_REQUIRED_STRINGS = ['client-id', 'campaign-id', 'template-id', 'file-name', 'file-path'] as const;

function callbackFieldOf(ctx: WhilterContext): string {
	return ctx.options.callbackField ?? 'callback-url';
}

function taskKeys(ctx: WhilterContext): string[] {
	return [...TASK_REQUIRED_STRINGS, 'row-count', 'expected-output-duration', 'priority', callbackFieldOf(ctx)];
}

/** A file in the drop named in the variant's form (filePathForm, resultsLocation). */
export function pathInForm(ctx: WhilterContext, key: string, form: ContractPathForm = 'key'): string {
	if (form === 's3') return `s3://${ctx.bucket}/${key}`;
	if (form === 'https') return `${ctx.options.s3.endpoint.replace(/\/+$/, '')}/${ctx.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
	return key;
}

const PATH_FORM_TEXT: Record<ContractPathForm, string> = {
	key: 'the S3 key of the file in the drop (no s3:// or URL)',
	s3: 's3://<bucket>/<key>',
	https: 'the URL of the object at the S3 endpoint (<endpoint>/<bucket>/<key>)',
};

/** The key `file-path` names in the server's form; undefined when it is in another form. */
function keyInForm(ctx: WhilterContext, filePath: string): string | undefined {
	const form = ctx.options.filePathForm ?? 'key';
	if (form === 'key') return /^(s3|https?):\/\//i.test(filePath) ? undefined : filePath;
	const prefix = pathInForm(ctx, '', form);
	if (!filePath.startsWith(prefix) || filePath.length === prefix.length) return undefined;
	const rest = filePath.slice(prefix.length);
	try {
		return form === 'https' ? rest.split('/').map(decodeURIComponent).join('/') : rest;
	} catch {
		return undefined;
	}
}
/** `<TemplateID>_Priority_<Campaign>.zip` or `<TemplateID>_<Campaign>.zip`; `_` separates the parts, so neither part may hold one. */
const FILE_NAME = /^([A-Za-z0-9-]+)_(?:Priority_)?([A-Za-z0-9-]+)\.zip$/;

/** The body rules of POST /<client>/task; the message of the first broken rule, or undefined. */
function taskBodyProblem(ctx: WhilterContext, fields: Record<string, unknown>): string | undefined {
	const callbackField = callbackFieldOf(ctx);
	const unknown = unknownKeys(fields, taskKeys(ctx));
	if (unknown.length) return `Unknown field(s): ${unknown.join(', ')} (the callback URL goes in "${callbackField}")`;
	for (const key of TASK_REQUIRED_STRINGS) if (!isNonEmptyString(fields[key])) return `"${key}" is required (a non-empty string)`;
	const expectedClientId = ctx.options.expectedClientId;
	if (expectedClientId !== undefined && fields['client-id'] !== expectedClientId) return `"client-id" must be "${expectedClientId}"`;
	const rowCount = fields['row-count'];
	if (typeof rowCount !== 'number' || !Number.isInteger(rowCount) || rowCount < 0) return '"row-count" is required (a non-negative integer)';
	const duration = fields['expected-output-duration'];
	if (typeof duration !== 'number' || !Number.isFinite(duration) || duration < 0) return '"expected-output-duration" is required (a non-negative number)';
	const priorityForm = ctx.options.priorityForm ?? 'number';
	if (fields.priority !== undefined) {
		if (priorityForm === 'omit') return '"priority" is not a field of this API (leave it out)';
		if (priorityForm === 'text' && !(typeof fields.priority === 'string' && /^-?\d+$/.test(fields.priority))) return '"priority" must be an integer written as a string';
		if (priorityForm === 'number' && !Number.isInteger(fields.priority)) return '"priority" must be an integer';
	}
	if (fields[callbackField] !== undefined && !isHttpUrl(fields[callbackField])) return `"${callbackField}" must be an http(s) URL`;
	const fileName = fields['file-name'] as string;
	const name = FILE_NAME.exec(fileName);
	if (!name || name[1] !== fields['template-id']) {
		return `"file-name" must be <TemplateID>_Priority_<CampaignName>.zip or <TemplateID>_<CampaignName>.zip with TemplateID "${String(fields['template-id'])}"`;
	}
	const key = keyInForm(ctx, fields['file-path'] as string);
	if (key === undefined) return `"file-path" must be ${PATH_FORM_TEXT[ctx.options.filePathForm ?? 'key']}`;
	// The file is uploaded to `<prefix>/<file name>`: a path naming another file is a client bug worth a 400.
	if (key !== fileName && !key.endsWith(`/${fileName}`)) return '"file-path" must end with "file-name"';
	return undefined;
}

function newTask(ctx: WhilterContext, body: Record<string, unknown>, inputKey: string): Task {
	const now = Date.now();
	const task: Task = { id: `task-${randomUUID()}`, body, state: 'pending', inputKey, createdAt: now, updatedAt: now };
	ctx.tasks.set(task.id, task);
	return task;
}

/**
 * The task's row-count against the data rows in the ZIP, read as Whilter reads them. A ZIP that is not
 * one CSV passes here: completing the task reports it.
 */
async function rowCountProblem(ctx: WhilterContext, key: string, rowCount: number): Promise<string | undefined> {
	const object = await ctx.s3.send(new GetObjectCommand({ Bucket: ctx.bucket, Key: key }));
	if (!object.Body) return undefined;
	let csv: { name: string; text: string };
	try {
		csv = await singleCsvEntryOf(Buffer.from(await object.Body.transformToByteArray()));
	} catch {
		return undefined;
	}
	const rows = dataRowsOf(csv.text);
	if (rows === rowCount) return undefined;
	return `"row-count" is ${rowCount}, but the file ${csv.name} in ${key} has ${rows} data rows (read with papaparse: comma-separated, blank lines skipped)`;
}

/** POST /<client>/task */
export async function createTask(ctx: WhilterContext, request: RecordedRequest): Promise<Reply> {
	if (!isJson(request)) return bad(415, 'Content-Type must be application/json');
	const fields = jsonObject(request);
	if (!fields) return bad(400, 'The body must be a JSON object');
	const problem = taskBodyProblem(ctx, fields);
	if (problem) return bad(400, problem);
	const key = keyInForm(ctx, fields['file-path'] as string) as string;
	try {
		await ctx.s3.send(new HeadObjectCommand({ Bucket: ctx.bucket, Key: key }));
	} catch {
		return bad(400, `file not found in the S3 drop: ${key}`);
	}
	const miscount = ctx.checkRowCount ? await rowCountProblem(ctx, key, fields['row-count'] as number) : undefined;
	if (miscount) return bad(400, miscount);
	const task = newTask(ctx, fields, key);
	const { 'client-id': clientId, 'campaign-id': campaignId, 'template-id': templateId } = fields;
	return json(200, { 'client-id': clientId, 'campaign-id': campaignId, 'template-id': templateId, 'task-id': task.id, message: 'Task created successfully.' });
}

/** The status answer in the shape the test chose (ctx.statusVariant). */
function statusBody(ctx: WhilterContext, task: Task): Record<string, unknown> {
	const filePath = task.state === 'completed' && task.outputKey ? (task.outputLocation ?? task.outputKey) : task.inputKey;
	const count = task.rows ?? Number(task.body['row-count']);
	const message = task.error ? `Processing failed: ${task.error}` : `Task ${task.state}`;
	if (ctx.statusVariant === 'upper') {
		const processed = task.state === 'completed' ? count : task.state === 'in-progress' ? Math.floor(count / 2) : 0;
		return { 'task-id': task.id, status: statusWord(ctx.statusVariant, task), 'total-count': count, processed, message, 'file-path': filePath };
	}
	return { 'task-id': task.id, status: statusWord(ctx.statusVariant, task), count, message, 'file-path': filePath };
}

/** GET /<client>/task/status/<id> */
export function taskStatus(ctx: WhilterContext, taskId: string): Reply {
	const task = ctx.tasks.get(taskId);
	return task ? json(200, statusBody(ctx, task)) : bad(404, `Task ${taskId} not found`);
}

/** POST /image/task/cancel/<id> */
export function cancelTask(ctx: WhilterContext, taskId: string): Reply {
	const task = ctx.tasks.get(taskId);
	if (!task) return bad(404, `Task ${taskId} not found`);
	if (task.state === 'completed') return bad(409, `Task ${taskId} is already completed`);
	setTaskState(task, 'cancelled');
	return json(200, { 'task-id': task.id, status: 'cancelled', message: 'Task cancelled successfully.' });
}

/** Reads the input ZIP, writes the output CSV, marks the task completed, then calls back. */
async function complete(ctx: WhilterContext, task: Task): Promise<void> {
	try {
		const object = await ctx.s3.send(new GetObjectCommand({ Bucket: ctx.bucket, Key: task.inputKey }));
		if (!object.Body) throw new Error(`s3://${ctx.bucket}/${task.inputKey} has no body`);
		const csv = await singleCsvOf(Buffer.from(await object.Body.transformToByteArray()));
		const output = buildOutputCsv(csv, task.id, ctx.failRowEvery, mediaBase(ctx), ctx.options.resultColumnsCase);
		const format = ctx.options.resultsFormat ?? 'csv';
		const outputKey = outputKeyFor(task.inputKey, task.id, format);
		const stored = await storedOutput(output.csv, task.id, format);
		await ctx.s3.send(new PutObjectCommand({ Bucket: ctx.bucket, Key: outputKey, Body: stored.body, ContentType: stored.contentType }));
		// Left unset in the key form, so a test that points outputKey elsewhere is answered with it.
		const location = ctx.options.resultsLocation ?? 'key';
		const outputLocation = location === 'key' ? undefined : pathInForm(ctx, outputKey, location);
		Object.assign(task, { outputKey, outputLocation, rows: output.rows, failedRows: output.failed, error: undefined });
	} catch (error) {
		task.error = error instanceof Error ? error.message : String(error);
		throw error;
	}
	// A task cancelled while its output was being written stays cancelled.
	if (task.state !== 'in-progress') return;
	setTaskState(task, 'completed');
	const callbackUrl = task.body[callbackFieldOf(ctx)];
	if (typeof callbackUrl !== 'string') return;
	const record = await postCallback(ctx, task.id, callbackUrl, taskCallbackBody(task, ctx.statusVariant));
	task.callback = record.error === undefined ? { status: record.status ?? 0 } : { error: record.error };
}

/** One step of one task; a completion already running is joined, not started again. */
export async function advanceTask(ctx: WhilterContext, task: Task): Promise<void> {
	const inFlight = ctx.completing.get(task.id);
	if (inFlight) return await inFlight;
	if (task.state === 'pending') return setTaskState(task, 'in-progress');
	if (task.state !== 'in-progress') return;
	const done = complete(ctx, task).finally(() => ctx.completing.delete(task.id));
	ctx.completing.set(task.id, done);
	await done;
}

/** The handle's advance(): one named task, or every task, one step each, in turn. */
export async function advanceTasks(ctx: WhilterContext, taskId?: string): Promise<void> {
	if (taskId === undefined) {
		// A snapshot: tasks created while these advance wait for the next call.
		for (const task of [...ctx.tasks.values()]) await advanceTask(ctx, task);
		return;
	}
	const task = ctx.tasks.get(taskId);
	if (!task) throw new Error(`Unknown task ${taskId}`);
	await advanceTask(ctx, task);
}

/** The sandbox's clock: every task moves one step per tick without a test calling advance(). */
export function startAutoAdvance(ctx: WhilterContext, everyMs: number): NodeJS.Timeout {
	const timer = setInterval(() => {
		// Errors are kept on the task (and shown by the status API), not thrown into the timer.
		for (const task of ctx.tasks.values()) void advanceTask(ctx, task).catch(() => undefined);
	}, everyMs);
	timer.unref();
	return timer;
}

/** The handle's outputKeyOf(). */
export function outputKeyOfTask(ctx: WhilterContext, taskId: string): string {
	const task = ctx.tasks.get(taskId);
	if (!task) throw new Error(`Unknown task ${taskId}`);
	return outputKeyFor(task.inputKey, task.id, ctx.options.resultsFormat);
}

/** The handle's seedTask(): uploads a generated input ZIP and records the task its creation would make, without an HTTP call. */
export async function seedTask(ctx: WhilterContext, { rows, campaign = 'seeded', callbackUrl }: { rows: number; campaign?: string; callbackUrl?: string }): Promise<string> {
	const fileName = `T-SEED_${campaign}.zip`;
	const key = `seeded/${randomUUID()}/${fileName}`;
	const csv = ['phone,name', ...Array.from({ length: rows }, (_, i) => `+9190000${String(i).padStart(5, '0')},Seed ${i}`)].join('\r\n');
	await ctx.s3.send(new PutObjectCommand({ Bucket: ctx.bucket, Key: key, Body: await zipOf(fileName.replace(/\.zip$/, '.csv'), `${csv}\r\n`) }));
	const body = {
		'client-id': ctx.options.clientId,
		'campaign-id': campaign,
		'template-id': 'T-SEED',
		'file-name': fileName,
		'file-path': key,
		'row-count': rows,
		'expected-output-duration': 0,
		...(callbackUrl ? { [callbackFieldOf(ctx)]: callbackUrl } : {}),
	};
	return newTask(ctx, body, key).id;
}
