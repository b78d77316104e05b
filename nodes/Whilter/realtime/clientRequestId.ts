import { randomUUID } from 'node:crypto';

import { idField } from './requestBody';

export const CLIENT_REQUEST_ID_LABEL = 'Client Request ID';

/**
 * The client-request-id of one request: the user's value (a field or an expression, so a rerun sends
 * the same ID and Whilter's records can be matched to it), or a fresh UUID when left empty.
 */
export function resolveClientRequestId(value: unknown, generate: () => string = randomUUID): string {
	if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return generate();
	return idField(value, CLIENT_REQUEST_ID_LABEL);
}

/**
 * Items whose ID an earlier item already uses, each with that earlier item: two requests of one run
 * with one ID could not be told apart in Whilter's records or in the output. `undefined` entries
 * (items that already failed) are skipped.
 */
export function findDuplicateIds(ids: ReadonlyArray<string | undefined>): Map<number, number> {
	const first = new Map<string, number>();
	const duplicates = new Map<number, number>();
	ids.forEach((id, index) => {
		if (id === undefined) return;
		const earlier = first.get(id);
		if (earlier === undefined) first.set(id, index);
		else duplicates.set(index, earlier);
	});
	return duplicates;
}
