import { pipeline, Transform } from 'node:stream';
import type { Readable } from 'node:stream';

import { GetObjectCommand } from '@aws-sdk/client-s3';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import type {
	IBinaryData,
	IDataObject,
	IExecuteFunctions,
	IWebhookFunctions,
} from 'n8n-workflow';

import { asNodeError, redact, InputError } from '../../shared/errors';
import { getFollowingRedirects, HttpStatusFailure } from '../../shared/streamedGet';
import { withRetry } from '../../shared/retry';
import { cancelSignalOf } from '../../shared/transport';
import { FieldTooLargeError, parseResultCsv, ResultCsvError } from './resultCsv';
import { dropKeyOfUrl } from './objectUrl';
import { decodeResultFile, ResultArchiveError } from './resultEncoding';
import type { ResultEncoding } from './resultEncoding';
import { DEFAULT_MAX_RESULT_ROWS, moreRowsThan } from './resultLimits';
import { createS3Client, s3DropFromCredentials } from './s3Drop';
import { getWhilterCredentials, whilterSecrets, whilterTimeoutMs } from './transport';
import { keepsRow } from './rowFilter';
import type { ResultRowFilter } from './rowFilter';

export type ResultsContext = IExecuteFunctions | IWebhookFunctions;

/** The columns Whilter adds to the input CSV in a task's output file: the media made for the row, or why none was. */
export const MEDIA_URL_COLUMN = 'media-url';
export const ERROR_COLUMN = 'error';

const MAX_REDIRECTS = 5;
const ERROR_BODY_BYTES = 16 * 1024;

interface OpenedFile {
	body: Readable;
	fileName: string;
	/** How errors name the file: `s3://bucket/key`, or a URL without its query (a signed URL's query is a secret). */
	label: string;
}

/** An output file opened and its first bytes read: `body` is the CSV, decompressed when it was a ZIP or gzip. */
interface DecodedFile extends OpenedFile {
	encoding: ResultEncoding;
	/** The stream as it arrived, closed with `body`. */
	raw: Readable;
}

function isHttpUrl(filePath: string): boolean {
	return /^https?:\/\//i.test(filePath);
}

function lastSegment(path: string): string {
	let last = path.split('/').filter(Boolean).pop() ?? '';
	try {
		last = decodeURIComponent(last);
	} catch {
		// Kept as written.
	}
	return last || 'results.csv';
}

function messageOf(text: string): string {
	try {
		const parsed = JSON.parse(text) as unknown;
		if (parsed && typeof parsed === 'object' && typeof (parsed as IDataObject).message === 'string') return (parsed as IDataObject).message as string;
	} catch {
		// Not JSON: the text itself (an S3 XML error, an HTML page) is shortened below.
	}
	return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}

function statusOf(error: unknown): number | undefined {
	const record = error as { $metadata?: { httpStatusCode?: number }; response?: { status?: number; statusCode?: number } } | undefined;
	return record?.$metadata?.httpStatusCode ?? record?.response?.status ?? record?.response?.statusCode;
}

/** `s3://bucket/key` names its bucket; anything else is a key in the credential's drop bucket. */
function s3Location(filePath: string, defaultBucket: string): { bucket: string; key: string } {
	const explicit = /^s3:\/\/([^/]+)\/(.+)$/i.exec(filePath);
	if (explicit) return { bucket: explicit[1], key: explicit[2] };
	return { bucket: defaultBucket, key: filePath.replace(/^\/+/, '') };
}

async function openFromS3(context: ResultsContext, filePath: string, itemIndex: number): Promise<OpenedFile> {
	const credentials = await getWhilterCredentials(context);
	let drop;
	try {
		drop = s3DropFromCredentials(credentials, 'the results file is read from the S3 drop');
	} catch (error) {
		if (!(error instanceof InputError)) throw asNodeError(context.getNode(), error, itemIndex);
		throw new NodeOperationError(context.getNode(), `Item ${itemIndex}: cannot read the results file "${filePath}". ${error.message}`, {
			itemIndex,
			description: error.details.description,
		});
	}
	const { bucket, key } = s3Location(filePath, drop.bucket);
	const label = `s3://${bucket}/${key}`;
	const signal = cancelSignalOf(context);
	const client = createS3Client(drop, signal);
	try {
		const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), signal ? { abortSignal: signal } : {});
		const body = object.Body as Readable | undefined;
		if (!body || typeof body.pipe !== 'function') throw new Error('S3 returned no body');
		// The client lives as long as its stream: it holds the socket the file arrives on.
		body.once('close', () => client.destroy());
		return { body, fileName: lastSegment(key), label };
	} catch (error) {
		client.destroy();
		const status = statusOf(error);
		const name = (error as { name?: string } | undefined)?.name;
		const reason =
			name === 'NoSuchKey' || status === 404
				? 'there is no such file in the bucket'
				: name === 'NoSuchBucket'
					? 'there is no such bucket'
					: status === 403 || name === 'AccessDenied'
						? 'access was denied (check the S3 keys of the Whilter credential)'
						: redact(error instanceof Error ? error.message : String(error), whilterSecrets(credentials));
		throw new NodeOperationError(context.getNode(), `Item ${itemIndex}: cannot read the results file ${label}: ${reason}`, {
			itemIndex,
			description: status ? `S3 answered HTTP ${status}` : undefined,
		});
	}
}

/**
 * A results URL gets the Whilter token only when it is on Whilter's own API host; anything else (a
 * signed S3 or CDN link) is fetched without it, also after a redirect, so the token never leaves Whilter.
 */
async function openFromUrl(context: ResultsContext, address: string, itemIndex: number): Promise<OpenedFile> {
	const credentials = await getWhilterCredentials(context);
	let whilterOrigin: string | undefined;
	try {
		whilterOrigin = new URL(String(credentials.baseUrl)).origin;
	} catch {
		whilterOrigin = undefined;
	}
	const first = new URL(address);
	const signal = cancelSignalOf(context);
	let url = first;
	const label = () => `${url.origin}${url.pathname}`;
	const fetchOnce = async () =>
		await getFollowingRedirects(context, first, {
			credentialType: 'whilterApi',
			// Same scheme, host and port as the API: the token never goes to plain http on the API's host name.
			sendCredentialTo: (hop) => hop.origin === whilterOrigin,
			abortSignal: signal,
			maxRedirects: MAX_REDIRECTS,
			errorBodyBytes: ERROR_BODY_BYTES,
			// The credential's Request Timeout: how long Whilter's file host may take to answer, and to pause.
			timeoutMs: whilterTimeoutMs(credentials),
			onRequest: (hop) => {
				url = hop;
			},
		});
	try {
		const { response } = await withRetry(fetchOnce, { idempotent: true, abortSignal: signal });
		return { body: response.body as Readable, fileName: lastSegment(url.pathname), label: label() };
	} catch (error) {
		if (error instanceof NodeApiError || error instanceof NodeOperationError) throw asNodeError(context.getNode(), error, itemIndex);
		const status = statusOf(error);
		const said = error instanceof HttpStatusFailure ? messageOf(error.response.data) : undefined;
		const reason = status ? `HTTP ${status}${said ? `: ${said}` : ''}` : error instanceof Error ? error.message : String(error);
		throw new NodeOperationError(context.getNode(), `Item ${itemIndex}: cannot read the results file ${label()}: ${redact(reason, whilterSecrets(credentials))}`, {
			itemIndex,
		});
	}
}

/**
 * An https URL of an object in the credential's own drop bucket (either addressing style) is read with
 * the drop's keys: the bucket is private, and the URL carries no signature.
 */
async function dropKeyOf(context: ResultsContext, address: string): Promise<string | undefined> {
	const credentials = await getWhilterCredentials(context);
	if (!String(credentials.s3Bucket ?? '').trim()) return undefined;
	try {
		return dropKeyOfUrl(s3DropFromCredentials(credentials), address);
	} catch {
		return undefined;
	}
}

async function openStoredFile(context: ResultsContext, filePath: string, itemIndex: number): Promise<OpenedFile> {
	const path = String(filePath ?? '').trim();
	if (!path) {
		throw new NodeOperationError(context.getNode(), `Item ${itemIndex}: the task gives no results file path`, {
			itemIndex,
			description: 'Whilter gives the output file\'s "file-path" once the task is completed',
		});
	}
	if (!isHttpUrl(path)) return await openFromS3(context, path, itemIndex);
	const key = await dropKeyOf(context, path);
	return key === undefined ? await openFromUrl(context, path, itemIndex) : await openFromS3(context, key, itemIndex);
}

async function openResultFile(context: ResultsContext, filePath: string, itemIndex: number): Promise<DecodedFile> {
	const file = await openStoredFile(context, filePath, itemIndex);
	try {
		const decoded = await decodeResultFile(file.body, file.fileName);
		return { ...file, raw: file.body, body: decoded.body, fileName: decoded.fileName, encoding: decoded.encoding };
	} catch (error) {
		file.body.destroy();
		throw resultFileError(context, error, file.label, itemIndex);
	}
}

/** A ZIP or gzip that cannot be read, or a read that broke off, named with the file. */
function resultFileError(context: ResultsContext, error: unknown, label: string, itemIndex: number, after = ''): NodeOperationError {
	if (error instanceof ResultArchiveError) {
		return new NodeOperationError(context.getNode(), `Item ${itemIndex}: the results file ${label} cannot be read: ${error.message}`, {
			itemIndex,
			description: 'The results file is read as a CSV, a ZIP holding exactly one CSV, or a gzipped CSV',
		});
	}
	const reason = error instanceof Error ? error.message : String(error);
	if ((error as { code?: unknown } | undefined)?.code === 'Z_DATA_ERROR' || /incorrect header check|invalid (block|stored|distance)|unexpected end of file/i.test(reason)) {
		return new NodeOperationError(context.getNode(), `Item ${itemIndex}: the results file ${label} cannot be read: its compressed data is damaged (${reason})`, {
			itemIndex,
		});
	}
	return new NodeOperationError(context.getNode(), `Item ${itemIndex}: reading the results file ${label} failed${after}: ${reason}`, { itemIndex });
}

export interface ResultRowsOptions {
	filePath: string;
	filter: ResultRowFilter;
	itemIndex?: number;
	/** The largest field read, in bytes (default 1 MiB): a larger one stops the reading with an error. */
	maxFieldBytes?: number;
}

/**
 * The rows of a task's output file, one at a time as they arrive (for a node that turns them into
 * items without holding a second list). A broken file or connection, or a field over the limit, is an
 * error naming the file and the row it got to.
 */
export async function* streamTaskResultRows(this: ResultsContext, options: ResultRowsOptions): AsyncGenerator<IDataObject> {
	const itemIndex = options.itemIndex ?? 0;
	const filter = options.filter ?? 'all';
	if (!['all', 'failed', 'succeeded'].includes(filter)) {
		throw new NodeOperationError(this.getNode(), `Item ${itemIndex}: unknown row filter "${String(filter)}" (expected all, failed or succeeded)`, { itemIndex });
	}
	const file = await openResultFile(this, options.filePath, itemIndex);
	let lastRow = 0;
	try {
		const requiredColumns = filter === 'all' ? [] : [ERROR_COLUMN];
		const canonicalColumns = [MEDIA_URL_COLUMN, ERROR_COLUMN];
		for await (const row of parseResultCsv(file.body, { requiredColumns, canonicalColumns, maxFieldBytes: options.maxFieldBytes })) {
			lastRow = row.row;
			if (keepsRow(filter, row.values[ERROR_COLUMN])) yield row.values;
		}
	} catch (error) {
		if (error instanceof NodeOperationError || error instanceof NodeApiError) throw asNodeError(this.getNode(), error, itemIndex);
		if (error instanceof FieldTooLargeError) {
			throw new NodeOperationError(this.getNode(), `Item ${itemIndex}: reading the results file ${file.label} stopped: ${error.message}`, {
				itemIndex,
				description: 'Raise "Max Field Size (KB)" if the file holds fields this large; the limit keeps one field from filling n8n\'s memory',
			});
		}
		if (error instanceof ResultCsvError) {
			// The parser's message already names the row (and line) or the header.
			throw new NodeOperationError(this.getNode(), `Item ${itemIndex}: the results file ${file.label} is not a valid CSV: ${error.message}`, {
				itemIndex,
			});
		}
		throw resultFileError(this, error, file.label, itemIndex, ` after row ${lastRow}`);
	} finally {
		file.body.destroy();
		file.raw.destroy();
	}
}

/**
 * All the rows (`rows`), or, when the filter keeps more than `maxRows`, none: `tooMany` says how many
 * were too many ("more than 5 failed result rows") and the caller says what to do instead.
 */
export type ResultRowsRead = { rows: IDataObject[] } | { tooMany: string };

/**
 * Streams the output CSV at `filePath` (an S3 key in the credential's drop — relative to the bucket;
 * or an http(s) URL) and returns one object per row (every column incl. `media-url`, `error`),
 * filtered. Never holds the whole file text, and at most `maxRows` rows (default 100,000): the
 * reading stops at the row after them.
 */
export async function readTaskResultRows(
	this: IExecuteFunctions | IWebhookFunctions,
	options: ResultRowsOptions & { maxRows?: number },
): Promise<ResultRowsRead> {
	const maxRows = options.maxRows ?? DEFAULT_MAX_RESULT_ROWS;
	const rows: IDataObject[] = [];
	for await (const row of streamTaskResultRows.call(this, options)) {
		// Leaving the loop closes the file: nothing after the row that broke the limit is read.
		if (rows.length === maxRows) return { tooMany: moreRowsThan(maxRows, options.filter ?? 'all') };
		rows.push(row);
	}
	return { rows };
}

/**
 * The output CSV as n8n binary data, streamed into n8n's binary storage: decompressed when Whilter
 * stored it zipped or gzipped (named as the CSV inside), so the file is a CSV whatever the storage.
 */
export async function readTaskResultFile(
	this: IExecuteFunctions | IWebhookFunctions,
	options: { filePath: string; itemIndex?: number },
): Promise<IBinaryData> {
	const itemIndex = options.itemIndex ?? 0;
	const file = await openResultFile(this, options.filePath, itemIndex);
	let bytes = 0;
	const counted = new Transform({
		transform(chunk: Buffer, _encoding, done) {
			bytes += chunk.length;
			done(null, chunk);
		},
	});
	let failure: Error | undefined;
	// pipeline: a connection that breaks off fails the store instead of leaving it waiting.
	pipeline(file.body, counted, (error) => {
		if (error) failure = error;
	});
	try {
		const binary = await this.helpers.prepareBinaryData(counted, file.fileName, 'text/csv');
		if (failure) throw failure;
		return binary;
	} catch (error) {
		throw resultFileError(this, error, file.label, itemIndex, ` after ${bytes} bytes`);
	} finally {
		file.raw.destroy();
	}
}
