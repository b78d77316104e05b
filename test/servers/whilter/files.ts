/**
 * The files around a Whilter task: the input ZIP (exactly one CSV), the output CSV written beside it
 * (the input rows plus `media-url` and `error`), and the made media a row's URL points at.
 */
import { gzipSync } from 'node:zlib';

import Papa from 'papaparse';
import { ZipFile } from 'yazl';

import type { Reply } from '../http';
import { readZipEntries } from '../zipEntries';

export const DEFAULT_MEDIA_BASE = 'https://media.example.test';

/** A tiny MP4 (an ftyp box only): enough for a media type check and a download, not for a player. */
export const SAMPLE_MP4 = Buffer.from('0000001866747970697336000000000069736f6d6d703432', 'hex');
const SAMPLE_PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

export const ROW_ERROR = 'Template render failed: missing personalisation value';

export type ResultsFormat = 'csv' | 'zip' | 'gzip';

const RESULTS_EXTENSION: Record<ResultsFormat, string> = { csv: '.csv', zip: '.zip', gzip: '.csv.gz' };

/** The output file's key: beside the input, in `output/`. Predictable, so tests can read it before asking the status API. */
export function outputKeyFor(inputKey: string, taskId: string, format: ResultsFormat = 'csv'): string {
	const slash = inputKey.lastIndexOf('/');
	return `${slash === -1 ? '' : inputKey.slice(0, slash + 1)}output/${taskId}${RESULTS_EXTENSION[format]}`;
}

/** The output CSV as stored in the results format: a ZIP holds it as `<taskId>.csv`. */
export async function storedOutput(csv: string, taskId: string, format: ResultsFormat): Promise<{ body: Buffer; contentType: string }> {
	if (format === 'zip') return { body: await zipOf(`${taskId}.csv`, csv), contentType: 'application/zip' };
	if (format === 'gzip') return { body: gzipSync(Buffer.from(csv, 'utf8')), contentType: 'application/gzip' };
	return { body: Buffer.from(csv, 'utf8'), contentType: 'text/csv; charset=utf-8' };
}

/**
 * Whilter's output file: the input CSV unchanged, plus `media-url` and `error`. Parsed as arrays, not
 * objects, so duplicate or odd headers come back exactly as sent.
 */
export function buildOutputCsv(
	inputCsv: string,
	taskId: string,
	failRowEvery: number,
	mediaBase = DEFAULT_MEDIA_BASE,
	columnsCase: 'lower' | 'upper' = 'lower',
): { csv: string; rows: number; failed: number } {
	const parsed = Papa.parse<string[]>(inputCsv, CSV_READING);
	const [header = [], ...rows] = parsed.data;
	let failed = 0;
	const out = rows.map((row, index) => {
		const padded = [...row, ...Array<string>(Math.max(0, header.length - row.length)).fill('')];
		const fails = failRowEvery > 0 && (index + 1) % failRowEvery === 0;
		if (fails) failed++;
		return [...padded, fails ? '' : `${mediaBase}/${taskId}/${index}.mp4`, fails ? ROW_ERROR : ''];
	});
	const added = columnsCase === 'upper' ? ['MEDIA-URL', 'ERROR'] : ['media-url', 'error'];
	const csv = Papa.unparse({ fields: [...header, ...added], data: out }, { newline: '\r\n' });
	return { csv: `${csv}\r\n`, rows: rows.length, failed };
}

/** How Whilter reads a batch file: comma-separated (never guessed), blank lines skipped, the line break guessed. */
export const CSV_READING = { delimiter: ',', skipEmptyLines: true } as const;

/** Data rows (the header excluded) as Whilter reads them; counted row by row, no row kept. */
export function dataRowsOf(csv: string): number {
	let rows = 0;
	Papa.parse<string[]>(csv, { ...CSV_READING, step: () => void rows++ });
	return Math.max(0, rows - 1);
}

/** The one CSV entry of a batch ZIP; throws when it holds none or several. */
export async function singleCsvEntryOf(zip: Buffer): Promise<{ name: string; text: string }> {
	const csvs = (await readZipEntries(zip)).filter((e) => e.name.toLowerCase().endsWith('.csv'));
	if (csvs.length !== 1) throw new Error(`the ZIP must hold exactly one CSV, it holds ${csvs.length}`);
	return csvs[0];
}

export async function singleCsvOf(zip: Buffer): Promise<string> {
	return (await singleCsvEntryOf(zip)).text;
}

export async function zipOf(entryName: string, text: string): Promise<Buffer> {
	const zip = new ZipFile();
	zip.addBuffer(Buffer.from(text, 'utf8'), entryName);
	zip.end();
	const chunks: Buffer[] = [];
	for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

/** Whether a path is a made media file served under /media (only when mediaBaseUrl is 'self'). */
export function isMediaPath(path: string): boolean {
	return /^\/media\/.+\.(mp4|png)$/.test(path);
}

/** Every made video is the same sample MP4, every image the same PNG: tests check the type and the download, not the pixels. */
export function mediaFile(path: string): Reply {
	return path.endsWith('.png')
		? { status: 200, raw: SAMPLE_PNG, headers: { 'content-type': 'image/png' } }
		: { status: 200, raw: SAMPLE_MP4, headers: { 'content-type': 'video/mp4' } };
}
