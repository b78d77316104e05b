/** An answer that starts nothing: the HTTP status, a message for the caller, and any header to add. */
export interface Refusal {
	status: number;
	message: string;
	headers?: Record<string, string>;
}

export function isRefusal(value: unknown): value is { refusal: Refusal } {
	return typeof value === 'object' && value !== null && 'refusal' in value;
}
