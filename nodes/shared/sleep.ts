import { sleep } from 'n8n-workflow';

/**
 * Sleeps, but wakes as soon as the signal fires, so a cancelled execution never sits out a poll
 * interval or a retry's Retry-After. n8n-workflow's own `sleep` takes no signal.
 */
export async function sleepUnlessAborted(
	ms: number,
	signal: AbortSignal | undefined,
	wait: (ms: number) => Promise<void> = sleep,
): Promise<void> {
	if (!signal) return await wait(ms);
	if (signal.aborted) return;
	let onAbort: (() => void) | undefined;
	const aborted = new Promise<void>((resolve) => {
		onAbort = resolve;
		signal.addEventListener('abort', onAbort, { once: true });
	});
	try {
		await Promise.race([wait(ms), aborted]);
	} finally {
		if (onAbort) signal.removeEventListener('abort', onAbort);
	}
}
