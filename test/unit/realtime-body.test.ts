import { findDuplicateIds, resolveClientRequestId } from '../../nodes/Whilter/realtime/clientRequestId';
import {
	buildRealtimeBody,
	emptyLists,
	idField,
	listsFromFields,
	listsFromJson,
} from '../../nodes/Whilter/realtime/requestBody';
import { InputError } from '../../nodes/shared/errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('real-time request body', () => {
	it('is the documented body, keys in the documented order, every list present', () => {
		const lists = { ...emptyLists(), 'phrase-texts': ['Hi Asha'], 'image-urls': ['https://cdn.test/a.png'] };
		const body = buildRealtimeBody({ clientRequestId: 'c-1', customerId: 'cust', useCaseId: 'uc', userId: 'u-1', referenceRecordId: 'ref-9' }, lists);
		expect(body).toEqual({
			'client-request-id': 'c-1',
			'customer-id': 'cust',
			'use-case-id': 'uc',
			'user-id': 'u-1',
			'reference-record-id': 'ref-9',
			'phrase-texts': ['Hi Asha'],
			'image-texts': [],
			'video-texts': [],
			'image-urls': ['https://cdn.test/a.png'],
			'video-urls': [],
		});
		expect(Object.keys(body)).toEqual([
			'client-request-id',
			'customer-id',
			'use-case-id',
			'user-id',
			'reference-record-id',
			'phrase-texts',
			'image-texts',
			'video-texts',
			'image-urls',
			'video-urls',
		]);
	});

	it('leaves reference-record-id out when empty, and writes numeric IDs as text', () => {
		const body = buildRealtimeBody({ clientRequestId: 'c', customerId: 42, useCaseId: ' uc ', userId: 7, referenceRecordId: '  ' }, emptyLists());
		expect(body).not.toHaveProperty('reference-record-id');
		expect(body).toMatchObject({ 'customer-id': '42', 'use-case-id': 'uc', 'user-id': '7' });
	});

	it.each([
		['empty', '', /"User ID" is empty/],
		['blank', '   ', /"User ID" is empty/],
		['missing', undefined, /"User ID" is empty/],
		['an object', { id: 1 }, /"User ID" must be text, got an object/],
		['a boolean', true, /"User ID" must be text, got boolean true/],
	])('rejects an ID that is %s, naming the field', (_name, value, message) => {
		expect(() => idField(value, 'User ID')).toThrow(message);
		expect(() => idField(value, 'User ID')).toThrow(InputError);
	});
});

describe('lists from the fixed collection', () => {
	it('keeps each list in entry order and writes numbers as text', () => {
		const lists = listsFromFields({
			phraseTexts: [{ text: 'one' }, { text: 'two' }],
			videoTexts: [{ text: 3 }],
			videoUrls: [{ url: 'http://v.test/a.mp4' }],
		});
		expect(lists).toEqual({ 'phrase-texts': ['one', 'two'], 'image-texts': [], 'video-texts': ['3'], 'image-urls': [], 'video-urls': ['http://v.test/a.mp4'] });
	});

	it('is all empty lists when nothing is given', () => {
		expect(listsFromFields({})).toEqual(emptyLists());
		expect(listsFromFields(undefined)).toEqual(emptyLists());
	});

	it.each([
		['an empty text entry (a missing field)', { imageTexts: [{ text: 'a' }, { text: '' }] }, /"Image Texts" entry 2 is empty/],
		['an entry without a value', { phraseTexts: [{}] }, /"Phrase Texts" entry 1 is empty/],
		['a list where text belongs', { phraseTexts: [{ text: ['a'] }] }, /"Phrase Texts" entry 1 must be text, got a list/],
		['a URL that is not http(s)', { imageUrls: [{ url: 'ftp://x.test/a.png' }] }, /"Image URLs" entry 1 must be an http\(s\) URL, got "ftp:\/\/x.test\/a.png"/],
		['a URL that is not a URL', { videoUrls: [{ url: 'https://ok.test/v.mp4' }, { url: 'not a url' }] }, /"Video URLs" entry 2 must be an http\(s\) URL/],
	])('rejects %s, naming field and entry', (_name, collection, message) => {
		expect(() => listsFromFields(collection)).toThrow(message);
	});
});

describe('lists from JSON', () => {
	it('takes an object or its JSON text, lists of strings kept as they are', () => {
		const value = { 'phrase-texts': ['', ' padded '], 'image-urls': ['https://cdn.test/x.png'] };
		expect(listsFromJson(value)).toEqual({ ...emptyLists(), 'phrase-texts': ['', ' padded '], 'image-urls': ['https://cdn.test/x.png'] });
		expect(listsFromJson(JSON.stringify(value))).toEqual(listsFromJson(value));
		expect(listsFromJson('')).toEqual(emptyLists());
	});

	it.each([
		['text that is not JSON', '{"phrase-texts": [', /"Texts and URLs \(JSON\)" is not valid JSON/],
		['a list instead of an object', ['a'], /must be an object with the keys phrase-texts, image-texts/],
		['an unknown key', { 'phrase-texts': [], 'audio-urls': [] }, /unknown key\(s\) "audio-urls"/],
		['a string instead of a list', { 'video-texts': 'hello' }, /key "video-texts" must be a list of strings, got "hello"/],
		['a number in a list', { 'image-texts': ['a', 5] }, /key "image-texts" entry 2 must be a string, got number 5/],
		['a javascript: URL', { 'video-urls': ['javascript:alert(1)'] }, /key "video-urls" entry 1 must be an http\(s\) URL/],
	])('rejects %s, naming the field', (_name, value, message) => {
		expect(() => listsFromJson(value)).toThrow(message);
	});
});

describe('client-request-id', () => {
	it('is a new UUID per call when left empty', () => {
		const a = resolveClientRequestId('');
		const b = resolveClientRequestId(undefined);
		expect(a).toMatch(UUID);
		expect(b).toMatch(UUID);
		expect(a).not.toBe(b);
	});

	it('is the given value otherwise, so a rerun sends the same ID', () => {
		expect(resolveClientRequestId(' order-17 ')).toBe('order-17');
		expect(resolveClientRequestId(17)).toBe('17');
		expect(() => resolveClientRequestId({})).toThrow(/"Client Request ID" must be text/);
	});

	it('finds items repeating an earlier item\'s ID, skipping failed items', () => {
		expect([...findDuplicateIds(['a', 'b', undefined, 'a', 'b', 'a'])]).toEqual([
			[3, 0],
			[4, 1],
			[5, 0],
		]);
		expect(findDuplicateIds(['a', undefined, undefined]).size).toBe(0);
	});
});
