import { NodeOperationError } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import { insiderApiRequest } from './transport';

/**
 * `GET /v1/media/<id>` (retried on 429/5xx like every GET): the media's URL, MIME type, SHA-256
 * and size, in the names Insider documents.
 */
export async function getMediaFacts(this: IExecuteFunctions, rawId: string, itemIndex: number): Promise<IDataObject> {
	const mediaId = String(rawId ?? '').trim();
	if (!mediaId) throw new NodeOperationError(this.getNode(), `Item ${itemIndex}: "Media ID" is empty`, { itemIndex });
	const media = await insiderApiRequest.call(this, { method: 'GET', path: `/v1/media/${encodeURIComponent(mediaId)}`, itemIndex });
	return {
		id: media.id ?? mediaId,
		url: media.url ?? null,
		mime_type: media.mime_type ?? null,
		sha256: media.sha256 ?? null,
		// The seed's example spells it File_size.
		file_size: media.file_size ?? media.File_size ?? null,
		messaging_product: media.messaging_product ?? 'whatsapp',
	};
}
