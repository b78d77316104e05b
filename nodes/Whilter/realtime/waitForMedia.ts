import type { IDataObject } from 'n8n-workflow';

import { pollUntil } from '../../shared/poll';
import type { PollSchedule } from '../../shared/poll';
import { readMediaStatus } from '../api/mediaStatus';
import type { MediaStatus } from '../api/mediaStatus';

const FINAL = new Set(['SUCCESS', 'FAILURE']);

export type MediaOutcome =
	| { state: 'success'; media: MediaStatus; checks: number; elapsedMs: number }
	| { state: 'failure'; media: MediaStatus; checks: number; elapsedMs: number }
	| { state: 'timeout'; last: MediaStatus; checks: number; elapsedMs: number }
	| { state: 'cancelled'; last: MediaStatus | undefined; checks: number; elapsedMs: number };

export interface WaitForMediaOptions {
	/** One status request, Whilter's answer as it came (the transport applies the retry policy). */
	check: () => Promise<IDataObject>;
	schedule: PollSchedule;
	/** Stops waiting (the execution was cancelled, or the node stopped after another item failed). */
	signal?: AbortSignal;
	wait?: (ms: number) => Promise<void>;
}

/** Asks for the status until Whilter says SUCCESS or FAILURE, the timeout passes, or the signal fires. */
export async function waitForMedia(options: WaitForMediaOptions): Promise<MediaOutcome> {
	const outcome = await pollUntil<MediaStatus>({
		schedule: options.schedule,
		check: async () => readMediaStatus(await options.check()),
		isDone: (media) => FINAL.has(media.status),
		signal: options.signal,
		wait: options.wait,
	});
	const { checks, elapsedMs } = outcome;
	if (outcome.state === 'done') {
		return { state: outcome.value.status === 'SUCCESS' ? 'success' : 'failure', media: outcome.value, checks, elapsedMs };
	}
	if (outcome.state === 'timeout') return { state: 'timeout', last: outcome.last, checks, elapsedMs };
	return { state: 'cancelled', last: outcome.last, checks, elapsedMs };
}
