import type { IDataObject, ILoadOptionsFunctions, INodeListSearchResult, INodePropertyOptions } from 'n8n-workflow';

import { timePayApiRequest } from './transport';

/** Campaigns asked for per page of the Campaign list (TimePay's default is 10). */
export const CAMPAIGN_PAGE_SIZE = 50;

/** A guard against a server that never says it is done: the dispositions dropdown stops here. */
const MAX_DISPOSITION_PAGES = 50;

function records(body: IDataObject): IDataObject[] {
	const data = body.data;
	return Array.isArray(data) ? data.filter((d): d is IDataObject => typeof d === 'object' && d !== null && !Array.isArray(d)) : [];
}

/**
 * Whether a page after `page` exists, from TimePay's `pagination` ({page, limit, total, totalPages}).
 * Without it, `fullPageOf` (the page size asked for) makes a full page mean there may be more;
 * when no size was asked for, the answer is taken as the whole list.
 */
function hasNextPage(body: IDataObject, page: number, received: number, fullPageOf?: number): boolean {
	const pagination = (typeof body.pagination === 'object' && body.pagination !== null ? body.pagination : {}) as IDataObject;
	const totalPages = Number(pagination.totalPages);
	if (Number.isInteger(totalPages) && totalPages > 0) return page < totalPages;
	const total = Number(pagination.total);
	const limit = Number(pagination.limit) || fullPageOf;
	if (Number.isInteger(total) && limit) return page * limit < total;
	return fullPageOf !== undefined && received >= fullPageOf;
}

function label(record: IDataObject): string {
	const id = String(record.id);
	return typeof record.name === 'string' && record.name.trim() ? record.name : id;
}

/** Campaign list mode: `GET /api/v1/campaigns` with TimePay's search, one page per scroll. */
export async function searchCampaigns(this: ILoadOptionsFunctions, filter?: string, paginationToken?: string): Promise<INodeListSearchResult> {
	const page = Math.max(1, Number.parseInt(paginationToken ?? '1', 10) || 1);
	const qs: IDataObject = { page, limit: CAMPAIGN_PAGE_SIZE };
	if (filter?.trim()) qs.search = filter.trim();
	const { body } = await timePayApiRequest.call(this, { method: 'GET', path: '/api/v1/campaigns', qs });
	const campaigns = records(body).filter((c) => c.id !== undefined && c.id !== null && c.id !== '');
	return {
		results: campaigns.map((c) => ({
			name: label(c),
			value: String(c.id),
			description: [c.status, c.description].filter((v) => typeof v === 'string' && v).join(' · ') || undefined,
		})),
		paginationToken: hasNextPage(body, page, campaigns.length, CAMPAIGN_PAGE_SIZE) ? String(page + 1) : undefined,
	};
}

/** Disposition dropdown: every page of `GET /api/v1/dispositions` (an organisation has a handful to a few hundred). */
export async function getDispositions(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	const options = new Map<string, INodePropertyOptions>();
	for (let page = 1; page <= MAX_DISPOSITION_PAGES; page++) {
		const { body } = await timePayApiRequest.call(this, { method: 'GET', path: '/api/v1/dispositions', qs: { page } });
		const dispositions = records(body).filter((d) => d.id !== undefined && d.id !== null && d.id !== '');
		for (const d of dispositions) {
			const value = String(d.id);
			const description = typeof d.description === 'string' && d.description ? d.description : undefined;
			if (!options.has(value)) options.set(value, { name: label(d), value, ...(description ? { description } : {}) });
		}
		if (!dispositions.length || !hasNextPage(body, page, dispositions.length)) break;
	}
	return [...options.values()];
}
