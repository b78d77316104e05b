import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import { pathSegment } from '../shared/paths';
import { insiderApiRequest } from './transport';

/**
 * `GET /v1/media/<id>` (retried on 429/5xx like every GET): the media's URL, MIME type, SHA-256
 * and size in the package's kebab-case names, whatever spelling Insider used, and Insider's answer
 * unchanged under `response`. Insider's documented request carries
 * `Content-Type: application/json` even without a body, and a gateway may refuse the GET without it.
 */
export async function getMediaFacts(this: IExecuteFunctions, rawId: string, itemIndex: number, timeoutMs?: number): Promise<IDataObject> {
	const mediaId = String(rawId ?? '').trim();
	const media = await insiderApiRequest.call(this, {
		method: 'GET',
		path: `/v1/media/${pathSegment(mediaId, 'Media ID')}`,
		headers: { 'Content-Type': 'application/json' },
		itemIndex,
		timeoutMs,
	});
	return {
		id: media.id ?? mediaId,
		url: media.url ?? null,
		'mime-type': media.mime_type ?? null,
		// Insider's documented example spells it File_size.
		'file-size': media.file_size ?? media.File_size ?? null,
		sha256: media.sha256 ?? null,
		'messaging-product': media.messaging_product ?? 'whatsapp',
		response: media,
	};
}
