import { InputError } from '../../nodes/shared/errors';

/**
 * The InputError that `run` throws, for asserting its message and details. Any other error is passed
 * on as it is, and a `run` that throws nothing fails the test.
 */
export function errorOf(run: () => unknown): InputError {
	try {
		run();
	} catch (error) {
		if (error instanceof InputError) return error;
		throw error;
	}
	throw new Error('expected an InputError');
}

/** The InputError `promise` rejects with; a promise that resolves, or rejects with anything else, fails the test. */
export async function rejectionOf(promise: Promise<unknown>): Promise<InputError> {
	const reason = await promise.then(
		() => undefined,
		(error: unknown) => error,
	);
	expect(reason).toBeInstanceOf(InputError);
	return reason as InputError;
}
