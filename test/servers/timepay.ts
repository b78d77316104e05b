import type { RecordedRequest, Reply } from './http';
import { bearer, isJson, startContractServer } from './http';
import type { ContractServer } from './http';

/**
 * TimePay's agents API as documented (seed timepay-initiate-whatsapp.txt and its public docs):
 * `POST /api/v1/initiate/<campaignId>/<whatsapp|sms|calls>`, `GET /api/v1/campaigns`,
 * `GET /api/v1/dispositions`, bearer token. 200 all initiated, 207 partial, 400 validation, 404
 * campaign or customers not found, 500 all failed.
 */
export interface Customer {
	id: string;
	payment_status: string;
	language: string;
	custom?: Record<string, string>;
}

export interface Campaign {
	id: string;
	name: string;
	status: 'active' | 'paused' | 'completed';
	customers: Customer[];
}

export interface TimePayServer extends ContractServer {
	campaigns: Map<string, Campaign>;
	dispositions: Array<{ id: string; name: string }>;
}

const FILTER_KEYS = ['ids', 'exclude_ids', 'payment_status', 'language', 'custom'];
const BODY_KEYS = ['templateId', 'conversationSettings', 'limit', 'filters'];

function fail(status: number, message: string): Reply {
	return { status, body: { success: false, message } };
}

function isStringList(value: unknown): value is string[] {
	return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** Customers whose id ends in -FAIL cannot be messaged: they make 207 and 500 reachable. */
export function demoCampaigns(): Campaign[] {
	const statuses = ['bounced', 'pending', 'partial', 'paid', 'received'];
	const languages = ['en', 'hi', 'ta'];
	const loans = Array.from({ length: 12 }, (_, i) => ({
		id: `LOANID-${2043150 + i}${i % 6 === 5 ? '-FAIL' : ''}`,
		payment_status: statuses[i % statuses.length],
		language: languages[i % languages.length],
		custom: { branch: i % 2 ? 'Pune' : 'Chennai' },
	}));
	return [
		{ id: 'camp-loans', name: 'Loan reminders', status: 'active', customers: loans },
		{ id: 'camp-failing', name: 'Broken numbers', status: 'active', customers: [{ id: 'X-1-FAIL', payment_status: 'pending', language: 'en' }] },
		{ id: 'camp-empty', name: 'Empty campaign', status: 'paused', customers: [] },
		{ id: 'camp-welcome', name: 'Welcome journey', status: 'completed', customers: [{ id: 'W-1', payment_status: 'paid', language: 'hi' }] },
	];
}

export async function startTimePayServer(options: { token: string; campaigns?: Campaign[] }): Promise<TimePayServer> {
	const campaigns = new Map((options.campaigns ?? demoCampaigns()).map((c) => [c.id, c]));
	const dispositions = [
		{ id: 'XaYnpMfmTumXNSgOSIZB', name: 'Promise to pay' },
		{ id: 'disp-callback', name: 'Call back later' },
	];

	const initiate = (request: RecordedRequest, campaignId: string): Reply => {
		if (!isJson(request)) return fail(400, 'Content-Type must be application/json');
		const body = request.body as Record<string, unknown>;
		if (typeof body !== 'object' || body === null || Buffer.isBuffer(body) || Array.isArray(body)) return fail(400, 'Body must be a JSON object');
		const unknown = Object.keys(body).filter((k) => !BODY_KEYS.includes(k));
		if (unknown.length) return fail(400, `Unknown field(s): ${unknown.join(', ')}`);
		if (typeof body.templateId !== 'string' || !body.templateId.trim()) return fail(400, 'templateId is required');
		if (body.conversationSettings !== undefined) {
			const settings = body.conversationSettings as Record<string, unknown>;
			if (typeof settings !== 'object' || settings === null || typeof settings.agentId !== 'string' || typeof settings.dispositionId !== 'string' || !settings.agentId || !settings.dispositionId) {
				return fail(400, 'conversationSettings requires both agentId and dispositionId');
			}
			if (!dispositions.some((d) => d.id === settings.dispositionId)) return fail(400, `Unknown dispositionId ${String(settings.dispositionId)}`);
		}
		if (body.limit !== undefined && (!Number.isInteger(body.limit) || (body.limit as number) < 1)) return fail(400, 'limit must be a positive integer');
		const filters = (body.filters ?? {}) as Record<string, unknown>;
		if (typeof filters !== 'object' || filters === null || Array.isArray(filters)) return fail(400, 'filters must be an object');
		const badFilter = Object.keys(filters).filter((k) => !FILTER_KEYS.includes(k));
		if (badFilter.length) return fail(400, `Unknown filter(s): ${badFilter.join(', ')}`);
		for (const key of ['ids', 'exclude_ids', 'payment_status', 'language']) {
			if (filters[key] !== undefined && !isStringList(filters[key])) return fail(400, `filters.${key} must be a list of strings`);
		}
		if (filters.custom !== undefined && (typeof filters.custom !== 'object' || filters.custom === null || Array.isArray(filters.custom))) {
			return fail(400, 'filters.custom must be an object');
		}
		const campaign = campaigns.get(campaignId);
		if (!campaign) return fail(404, `Campaign ${campaignId} not found`);
		const custom = (filters.custom ?? {}) as Record<string, unknown>;
		const matched = campaign.customers.filter(
			(c) =>
				(!filters.ids || (filters.ids as string[]).includes(c.id)) &&
				(!filters.exclude_ids || !(filters.exclude_ids as string[]).includes(c.id)) &&
				(!filters.payment_status || (filters.payment_status as string[]).includes(c.payment_status)) &&
				(!filters.language || (filters.language as string[]).includes(c.language)) &&
				Object.entries(custom).every(([k, v]) => c.custom?.[k] === v),
		);
		if (!matched.length) return fail(404, `No customers matched in campaign ${campaignId}`);
		const selected = body.limit ? matched.slice(0, body.limit as number) : matched;
		const failed = selected.filter((c) => c.id.endsWith('-FAIL'));
		const initiated = selected.length - failed.length;
		const results = {
			totalMatched: matched.length,
			customersSelected: selected.length,
			initiated,
			failed: failed.length,
			batchesProcessed: Math.ceil(selected.length / 100),
			errors: failed.map((c) => ({ customerId: c.id, error: 'WhatsApp number is not reachable' })),
		};
		if (!initiated) return { status: 500, body: { success: false, message: `All ${failed.length} messages failed`, results } };
		if (failed.length) {
			return { status: 207, body: { success: false, message: `WhatsApp messages initiated for ${initiated} customers, ${failed.length} failed`, results } };
		}
		return { status: 200, body: { success: true, message: `WhatsApp messages initiated for ${initiated} customers`, results } };
	};

	const server = await startContractServer((request) => {
		if (bearer(request) !== options.token) return fail(401, 'Unauthorized: invalid or missing bearer token');
		const route = /^\/api\/v1\/initiate\/([^/]+)\/(whatsapp|sms|calls)$/.exec(request.path);
		if (request.method === 'POST' && route) return initiate(request, route[1]);
		if (request.method === 'GET' && request.path === '/api/v1/campaigns') {
			const page = Math.max(1, Number(request.query.get('page') ?? 1));
			const limit = Math.min(100, Math.max(1, Number(request.query.get('limit') ?? 20)));
			const search = (request.query.get('search') ?? '').toLowerCase();
			const status = request.query.get('status');
			const all = [...campaigns.values()]
				.filter((c) => (!search || c.name.toLowerCase().includes(search) || c.id.includes(search)) && (!status || c.status === status))
				.map(({ id, name, status: s }) => ({ id, name, status: s }));
			return { status: 200, body: { success: true, data: all.slice((page - 1) * limit, page * limit), pagination: { page, limit, total: all.length } } };
		}
		if (request.method === 'GET' && request.path === '/api/v1/dispositions') return { status: 200, body: { success: true, data: dispositions } };
		return fail(404, `No route for ${request.method} ${request.path}`);
	});
	return { ...server, campaigns, dispositions };
}
