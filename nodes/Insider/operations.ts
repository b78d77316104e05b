import { NodeOperationError } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { pathSegment } from '../shared/paths';
import { runPerItem } from '../shared/perItem';
import type { ItemOutput, PerItemOptions } from '../shared/perItem';
import { downloadMedia } from './downloadMedia';
import type { DownloadOptions } from './downloadMedia';
import { getMediaFacts } from './mediaFacts';
import { prepareUpload, uploadMedia } from './uploadMedia';
import type { PreparedUpload, UploadOptions } from './uploadMedia';

export const INSIDER_OPERATIONS = ['upload', 'uploadAndGetUrl', 'getUrl', 'download'] as const;
export type InsiderOperation = (typeof INSIDER_OPERATIONS)[number];

/**
 * Upload and Get URL's item: the upload's facts, with what Insider reports about the stored media
 * where it reports something (its URL, hash, and its own word on type and size). Two calls give two
 * answers, and both stay unchanged under `response` as `{ upload, media }`: merged into one object,
 * the second would overwrite the first wherever both use a key (`id`), and a user could not tell
 * which call said what.
 */
function uploadedWithUrl(uploaded: IDataObject, facts: IDataObject): IDataObject {
	const reported = (key: string) => facts[key] ?? uploaded[key] ?? null;
	return {
		id: uploaded.id,
		url: facts.url ?? null,
		'file-name': uploaded['file-name'],
		'mime-type': reported('mime-type'),
		'file-size': reported('file-size'),
		sha256: facts.sha256 ?? null,
		'media-type': uploaded['media-type'],
		...(uploaded.animated !== undefined ? { animated: uploaded.animated } : {}),
		'messaging-product': reported('messaging-product'),
		response: { upload: uploaded.response ?? null, media: facts.response ?? null },
	};
}

/**
 * Upload / Upload and Get URL. Every item is checked against WhatsApp's limits first (the per-item
 * toolkit's check), so one bad file stops the node before any item is sent.
 */
function uploads(context: IExecuteFunctions, thenGetUrl: boolean): PerItemOptions<PreparedUpload> {
	return {
		check: async (itemIndex) => {
			const property = String(context.getNodeParameter('binaryPropertyName', itemIndex, 'data')).trim();
			const options = context.getNodeParameter('options', itemIndex, {}) as UploadOptions;
			return await prepareUpload.call(context, itemIndex, property, options);
		},
		run: async (prepared, itemIndex) => {
			const uploaded = await uploadMedia.call(context, prepared);
			if (!thenGetUrl) return { json: uploaded };
			let facts: IDataObject;
			try {
				facts = await getMediaFacts.call(context, String(uploaded.id), itemIndex);
			} catch (error) {
				// The upload happened: say its ID, so the user asks for the URL again instead of uploading twice.
				throw new NodeOperationError(
					context.getNode(),
					`Item ${itemIndex}: "${prepared.fileName}" was uploaded as media ${String(uploaded.id)}, but getting its URL failed: ${error instanceof Error ? error.message : String(error)}`,
					{ itemIndex, description: `Use Get URL with media ID ${String(uploaded.id)} rather than uploading again.` },
				);
			}
			return { json: uploadedWithUrl(uploaded, facts) };
		},
	};
}

interface DownloadPlan {
	source: string;
	property: string;
	options: DownloadOptions;
}

/** Download: each item's file goes onto its output item under the chosen binary field, next to the item's other files. */
function downloads(context: IExecuteFunctions): PerItemOptions<DownloadPlan> {
	return {
		check: (itemIndex) => {
			const source = String(context.getNodeParameter('media', itemIndex, '')).trim();
			if (!source) {
				throw new NodeOperationError(context.getNode(), `Item ${itemIndex}: "Media ID or URL" is empty`, {
					itemIndex,
					description: 'Map a media ID (e.g. {{ $json.id }}) or a media URL (e.g. {{ $json.url }})',
				});
			}
			const property = String(context.getNodeParameter('binaryPropertyName', itemIndex, 'data')).trim() || 'data';
			return { source, property, options: context.getNodeParameter('options', itemIndex, {}) as DownloadOptions };
		},
		run: async (plan, itemIndex): Promise<ItemOutput> => {
			const downloaded = await downloadMedia.call(context, itemIndex, plan.source, plan.options);
			return { json: downloaded.json, binary: { [plan.property]: downloaded.binary } };
		},
		keepInputBinary: true,
	};
}

function getUrls(context: IExecuteFunctions): PerItemOptions<string> {
	return {
		check: (itemIndex) => {
			const mediaId = String(context.getNodeParameter('mediaId', itemIndex, '')).trim();
			pathSegment(mediaId, 'Media ID');
			return mediaId;
		},
		run: async (mediaId, itemIndex) => ({ json: await getMediaFacts.call(context, mediaId, itemIndex) }),
	};
}

/** Runs one operation over the input items with the package's per-item toolkit. */
export async function runInsiderOperation(context: IExecuteFunctions, operation: InsiderOperation): Promise<INodeExecutionData[]> {
	if (operation === 'getUrl') return await runPerItem(context, getUrls(context));
	if (operation === 'download') return await runPerItem(context, downloads(context));
	return await runPerItem(context, uploads(context, operation === 'uploadAndGetUrl'));
}
