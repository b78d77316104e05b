import type { IDataObject } from 'n8n-workflow';

import { InputError } from '../../shared/errors';

/**
 * The body of Whilter's real-time request (`POST /video/request`: ids, use case, and five lists of
 * texts and media URLs that fill the template's layers), built and
 * checked before anything is sent: every rule Whilter would answer 400 for is caught here, naming the
 * item and the field, so a bad item never costs a request.
 */

/** The five lists, in the order the documented body names them. */
export const REALTIME_LISTS = ['phrase-texts', 'image-texts', 'video-texts', 'image-urls', 'video-urls'] as const;

export type RealtimeListName = (typeof REALTIME_LISTS)[number];

export type RealtimeLists = Record<RealtimeListName, string[]>;

/** The "Texts and URLs" fixed collection: one option per list, each holding any number of entries. */
export const LIST_FIELDS: ReadonlyArray<{ list: RealtimeListName; option: string; value: 'text' | 'url'; label: string }> = [
	{ list: 'phrase-texts', option: 'phraseTexts', value: 'text', label: 'Phrase Texts' },
	{ list: 'image-texts', option: 'imageTexts', value: 'text', label: 'Image Texts' },
	{ list: 'video-texts', option: 'videoTexts', value: 'text', label: 'Video Texts' },
	{ list: 'image-urls', option: 'imageUrls', value: 'url', label: 'Image URLs' },
	{ list: 'video-urls', option: 'videoUrls', value: 'url', label: 'Video URLs' },
];

export const LISTS_JSON_LABEL = 'Texts and URLs (JSON)';

export interface RealtimeBody extends IDataObject {
	'client-request-id': string;
	'customer-id': string;
	'use-case-id': string;
	'user-id': string;
	'reference-record-id'?: string;
	'phrase-texts': string[];
	'image-texts': string[];
	'video-texts': string[];
	'image-urls': string[];
	'video-urls': string[];
}

export interface RealtimeIds {
	clientRequestId: string;
	customerId: unknown;
	useCaseId: unknown;
	userId: unknown;
	referenceRecordId?: unknown;
}

function describe(value: unknown): string {
	if (value === null) return 'null';
	if (Array.isArray(value)) return 'a list';
	if (typeof value === 'object') return 'an object';
	if (typeof value === 'string') return `"${value.length > 60 ? `${value.slice(0, 57)}…` : value}"`;
	return `${typeof value} ${String(value)}`;
}

/**
 * An ID field as Whilter wants it: a non-empty string. A number (an expression mapping a numeric
 * user ID) is written as text; anything else is a mistake worth stopping for.
 */
export function idField(value: unknown, label: string): string {
	if (typeof value === 'number' && Number.isFinite(value)) return String(value);
	if (typeof value === 'string' && value.trim() !== '') return value.trim();
	if (value === undefined || value === null || value === '' || (typeof value === 'string' && value.trim() === '')) {
		throw new InputError(`"${label}" is empty`, { description: 'Map a value, e.g. an expression reading a field of the item' });
	}
	throw new InputError(`"${label}" must be text, got ${describe(value)}`);
}

export function isHttpUrl(value: string): boolean {
	try {
		const url = new URL(value);
		return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
	} catch {
		return false;
	}
}

export function emptyLists(): RealtimeLists {
	return { 'phrase-texts': [], 'image-texts': [], 'video-texts': [], 'image-urls': [], 'video-urls': [] };
}

function checkUrls(lists: RealtimeLists, where: (list: RealtimeListName, index: number) => string): void {
	for (const list of ['image-urls', 'video-urls'] as const) {
		lists[list].forEach((value, index) => {
			if (!isHttpUrl(value)) throw new InputError(`${where(list, index)} must be an http(s) URL, got ${describe(value)}`);
		});
	}
}

/**
 * Lists from the fixed collection. Each entry is one text field (an expression per entry), so an empty
 * entry is almost always a field missing from the item: it is an error, not an empty text in the video.
 */
export function listsFromFields(collection: IDataObject | undefined): RealtimeLists {
	const lists = emptyLists();
	for (const field of LIST_FIELDS) {
		const entries = collection?.[field.option];
		if (entries === undefined) continue;
		if (!Array.isArray(entries)) throw new InputError(`"${field.label}" must be a list of entries`);
		entries.forEach((entry: unknown, index) => {
			const value = typeof entry === 'object' && entry !== null ? (entry as IDataObject)[field.value] : undefined;
			const where = `"${field.label}" entry ${index + 1}`;
			if (typeof value === 'number' || typeof value === 'boolean') return void lists[field.list].push(String(value));
			if (typeof value !== 'string') {
				if (value === undefined || value === null) throw new InputError(`${where} is empty`, { description: 'Map a value or remove the entry' });
				throw new InputError(`${where} must be text, got ${describe(value)}`, { description: `Use "${LISTS_JSON_LABEL}" to pass whole lists from an expression` });
			}
			if (value.trim() === '') throw new InputError(`${where} is empty`, { description: 'Map a value or remove the entry' });
			lists[field.list].push(value);
		});
	}
	checkUrls(lists, (list, index) => `"${LIST_FIELDS.find((f) => f.list === list)!.label}" entry ${index + 1}`);
	return lists;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; problem: string } {
	try {
		return { ok: true, value: JSON.parse(text) as unknown };
	} catch (error) {
		return { ok: false, problem: error instanceof Error ? error.message : String(error) };
	}
}

/**
 * Lists from the JSON option: an object with any of the five keys, each a list of strings, e.g.
 * `{{ { "phrase-texts": [$json.name], "image-urls": [$json.photo] } }}`. Strict: the keys and types
 * Whilter documents, nothing coerced.
 */
export function listsFromJson(value: unknown): RealtimeLists {
	let parsed = value;
	if (typeof value === 'string') {
		if (value.trim() === '') return emptyLists();
		const json = parseJson(value);
		if (!json.ok) throw new InputError(`"${LISTS_JSON_LABEL}" is not valid JSON: ${json.problem}`);
		parsed = json.value;
	}
	if (parsed === undefined || parsed === null) return emptyLists();
	if (typeof parsed !== 'object' || Array.isArray(parsed)) {
		throw new InputError(`"${LISTS_JSON_LABEL}" must be an object with the keys ${REALTIME_LISTS.join(', ')}, got ${describe(parsed)}`);
	}
	const record = parsed as Record<string, unknown>;
	const unknownKeys = Object.keys(record).filter((key) => !(REALTIME_LISTS as readonly string[]).includes(key));
	if (unknownKeys.length) {
		throw new InputError(
			`"${LISTS_JSON_LABEL}" has unknown key(s) ${unknownKeys.map((k) => `"${k}"`).join(', ')}`,
			{ description: `Allowed keys: ${REALTIME_LISTS.join(', ')}` },
		);
	}
	const lists = emptyLists();
	for (const list of REALTIME_LISTS) {
		const entries = record[list];
		if (entries === undefined || entries === null) continue;
		if (!Array.isArray(entries)) throw new InputError(`"${LISTS_JSON_LABEL}" key "${list}" must be a list of strings, got ${describe(entries)}`);
		entries.forEach((entry: unknown, index) => {
			if (typeof entry !== 'string') {
				throw new InputError(`"${LISTS_JSON_LABEL}" key "${list}" entry ${index + 1} must be a string, got ${describe(entry)}`);
			}
			lists[list].push(entry);
		});
	}
	checkUrls(lists, (list, index) => `"${LISTS_JSON_LABEL}" key "${list}" entry ${index + 1}`);
	return lists;
}

/** The documented body, keys in the documented order; all five lists always present (empty when unused). */
export function buildRealtimeBody(ids: RealtimeIds, lists: RealtimeLists): RealtimeBody {
	const reference = ids.referenceRecordId;
	const hasReference = reference !== undefined && reference !== null && !(typeof reference === 'string' && reference.trim() === '');
	return {
		'client-request-id': ids.clientRequestId,
		'customer-id': idField(ids.customerId, 'Customer ID'),
		'use-case-id': idField(ids.useCaseId, 'Use Case ID'),
		'user-id': idField(ids.userId, 'User ID'),
		...(hasReference ? { 'reference-record-id': idField(reference, 'Reference Record ID') } : {}),
		'phrase-texts': [...lists['phrase-texts']],
		'image-texts': [...lists['image-texts']],
		'video-texts': [...lists['video-texts']],
		'image-urls': [...lists['image-urls']],
		'video-urls': [...lists['video-urls']],
	};
}
