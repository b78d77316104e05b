import type { IDataObject } from 'n8n-workflow';

import { REALTIME_STATUS_PATH, requestIdPath } from './endpoints';
import { whilterApiRequest } from './transport';
import type { WhilterContext } from './transport';

/** One answer of `GET /status/<whilter-request-id>`, read defensively: URLs are null until ready. */
export interface MediaStatus {
	/** Upper case: SUCCESS, FAILURE, PROCESSING (or whatever else Whilter says, which means "not yet"). */
	status: string;
	message: string;
	videoUrl: string | null;
	imageUrl: string | null;
}

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

/** `GET /status/<whilter-request-id>` (the real-time API, not under /<client>): the status read, and Whilter's answer as it came. */
export async function getMediaStatus(
	this: WhilterContext,
	options: { whilterRequestId: string; statusPath?: string; statusPathLabel?: string; itemIndex?: number; timeoutMs?: number },
): Promise<{ media: MediaStatus; response: IDataObject }> {
	const response = await whilterApiRequest.call(this, {
		method: 'GET',
		path: requestIdPath(options.statusPath || REALTIME_STATUS_PATH, options.statusPathLabel ?? 'Status Path', options.whilterRequestId),
		clientScoped: false,
		itemIndex: options.itemIndex,
		timeoutMs: options.timeoutMs,
	});
	return { media: readMediaStatus(response), response };
}
