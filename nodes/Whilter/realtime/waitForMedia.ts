import type { IDataObject } from 'n8n-workflow';

import { pollUntil } from '../../shared/poll';
import type { PollSchedule } from '../../shared/poll';

/** One answer of `GET /status/<whilter-request-id>`, read defensively: URLs are null until ready. */
export interface MediaStatus {
	/** Upper case: SUCCESS, FAILURE, PROCESSING (or whatever else Whilter says, which means "not yet"). */
	status: string;
	message: string;
	videoUrl: string | null;
	imageUrl: string | null;
}

export type MediaOutcome =
	| { state: 'success'; media: MediaStatus; checks: number; elapsedMs: number }
	| { state: 'failure'; media: MediaStatus; checks: number; elapsedMs: number }
	| { state: 'timeout'; last: MediaStatus; checks: number; elapsedMs: number }
	| { state: 'cancelled'; last: MediaStatus | undefined; checks: number; elapsedMs: number };

const FINAL = new Set(['SUCCESS', 'FAILURE']);

function textOrNull(value: unknown): string | null {
	return typeof value === 'string' && value !== '' ? value : null;
}

export function readMediaStatus(raw: IDataObject): MediaStatus {
	return {
		status: typeof raw.status === 'string' ? raw.status.trim().toUpperCase() : 'UNKNOWN',
		message: typeof raw.message === 'string' ? raw.message : '',
		videoUrl: textOrNull(raw['video-url']),
		imageUrl: textOrNull(raw['image-url']),
	};
}

export interface WaitForMediaOptions {
	/** One status request (the request helper applies the retry policy). */
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

/** Seconds as the user typed them, for messages ("0.5 s", "300 s"). */
export function secondsText(ms: number): string {
	return `${Math.round(ms) / 1000} s`;
}
