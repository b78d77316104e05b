import { NodeOperationError } from 'n8n-workflow';
import type { IBinaryData, IDataObject, IExecuteFunctions, INodeExecutionData, IPairedItemData } from 'n8n-workflow';

import { asNodeError } from '../shared/errors';
import { mapItems } from '../shared/perItem';
import { downloadMedia } from './downloadMedia';
import type { DownloadOptions } from './downloadMedia';
import { getMediaFacts } from './mediaFacts';
import { prepareUpload, uploadMedia } from './uploadMedia';
import type { PreparedUpload, UploadOptions } from './uploadMedia';

/**
 * Upload / Upload and Get URL. Every item is checked against WhatsApp's limits first: without
 * "continue on fail" one bad file stops the node before any item is sent; with it, bad items become
 * error items and the good ones are uploaded.
 */
export async function runUploads(context: IExecuteFunctions, thenGetUrl: boolean): Promise<INodeExecutionData[]> {
	const checked = new Map<number, PreparedUpload | Error>();
	const count = context.getInputData().length;
	for (let itemIndex = 0; itemIndex < count; itemIndex++) {
		try {
			const property = String(context.getNodeParameter('binaryPropertyName', itemIndex, 'data')).trim();
			const options = context.getNodeParameter('options', itemIndex, {}) as UploadOptions;
			checked.set(itemIndex, await prepareUpload.call(context, itemIndex, property, options));
		} catch (error) {
			const nodeError = asNodeError(context.getNode(), error, itemIndex);
			if (!context.continueOnFail()) throw nodeError;
			checked.set(itemIndex, nodeError);
		}
	}
	return await mapItems(context, async (itemIndex) => {
		const prepared = checked.get(itemIndex);
		if (prepared instanceof Error || prepared === undefined) throw prepared ?? new NodeOperationError(context.getNode(), `Item ${itemIndex} was not checked`, { itemIndex });
		const uploaded = await uploadMedia.call(context, prepared);
		if (!thenGetUrl) return uploaded;
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
		return { ...uploaded, ...facts, file_name: uploaded.file_name, media_type: uploaded.media_type };
	});
}

/** Download: each item's file goes onto its output item under the chosen binary field. */
export async function runDownloads(context: IExecuteFunctions): Promise<INodeExecutionData[]> {
	const inputs = context.getInputData();
	const files = new Map<number, { property: string; binary: IBinaryData }>();
	const out = await mapItems(context, async (itemIndex) => {
		const source = String(context.getNodeParameter('media', itemIndex, '')).trim();
		if (!source) {
			throw new NodeOperationError(context.getNode(), `Item ${itemIndex}: "Media ID or URL" is empty`, {
				itemIndex,
				description: 'Map a media ID (e.g. {{ $json.id }}) or a media URL (e.g. {{ $json.url }})',
			});
		}
		const property = String(context.getNodeParameter('binaryPropertyName', itemIndex, 'data')).trim() || 'data';
		const options = context.getNodeParameter('options', itemIndex, {}) as DownloadOptions;
		const downloaded = await downloadMedia.call(context, itemIndex, source, options);
		files.set(itemIndex, { property, binary: downloaded.binary });
		return downloaded.json;
	});
	// mapItems makes JSON items; the files join them here, with the input item's other binaries kept.
	for (const item of out) {
		const itemIndex = (item.pairedItem as IPairedItemData).item;
		const file = files.get(itemIndex);
		if (file) item.binary = { ...(inputs[itemIndex]?.binary ?? {}), [file.property]: file.binary };
	}
	return out;
}
