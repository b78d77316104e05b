import { InputError } from './errors';

/**
 * The one way an id goes into a URL path, and the one rule for a path the user configures.
 *
 * `encodeURIComponent` leaves `.` and `..` as they are, and the HTTP client resolves them as dot
 * segments: a task id `..` would turn `/acme/task/status/..` into `/acme/task/`, another endpoint.
 * So an id that is empty or a dot segment is refused before anything is sent.
 */
export function pathSegment(value: unknown, label: string, whereFrom?: string): string {
	const text = value === undefined || value === null ? '' : String(value).trim();
	if (text === '') throw new InputError(`"${label}" is empty`, { parameter: label, description: whereFrom });
	if (text === '.' || text === '..') {
		throw new InputError(`"${label}" is "${text}", which cannot go into a URL path`, {
			parameter: label,
			description: `"." and ".." would make the request go to another endpoint; give the real ${label}`,
		});
	}
	return encodeURIComponent(text);
}

/**
 * A path the user may change in the node's options: it starts with "/", names no host or query,
 * and, when the endpoint is about one id, holds the placeholder where the id goes.
 */
export function configuredPath(value: unknown, parameter: string, placeholder?: string): string {
	const text = typeof value === 'string' ? value.trim() : '';
	const problem = !text.startsWith('/') || text.startsWith('//')
		? 'must be a path starting with "/" (no host)'
		: /[?#\s]/.test(text) || text.includes('://')
			? 'must be a path only, without a host, query, fragment or spaces'
			: text.split('/').some((segment) => segment === '.' || segment === '..')
				? 'must not hold "." or ".." segments'
				: placeholder && !text.includes(placeholder)
					? `must hold ${placeholder}, where the ID goes`
					: undefined;
	if (problem) throw new InputError(`"${parameter}" ${problem}; got "${String(value ?? '')}"`, { parameter });
	return text;
}

/** A configured path with its placeholder filled by one id (checked and encoded by pathSegment). */
export function fillPath(template: string, placeholder: string, id: unknown, idLabel: string, whereFrom?: string): string {
	return template.split(placeholder).join(pathSegment(id, idLabel, whereFrom));
}
