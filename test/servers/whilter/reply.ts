/** The error answer and the field check every Whilter route shares. */
import { json } from '../http';
import type { Reply } from '../http';

/** Whilter's error answers carry only a `message`. */
export function bad(status: number, message: string): Reply {
	return json(status, { message });
}

export function isNonEmptyString(value: unknown): value is string {
	return typeof value === 'string' && value.trim() !== '';
}
