/**
 * TimePay's agents API as TimePay documents it:
 * `POST /api/v1/initiate/<campaignId>/<whatsapp|sms|calls>`, `GET /api/v1/campaigns`,
 * `GET /api/v1/dispositions`, bearer token. 200 all initiated, 207 partial, 400 validation, 404
 * campaign or customers not found, 500 all failed. Errors are `{success:false, message}`.
 * Both lists are paginated as documented: `{success, data, pagination: {page, limit, total, totalPages}}`;
 * campaigns take page, limit (default 10), status and search (by name); dispositions take page and
 * search (name and description), 20 per page.
 */
import { bearer, isJson, json, jsonObject, startServer, unknownKeys } from './http';
import type { ContractServer, RecordedRequest, Reply } from './http';

export interface Customer {
	/** A customer whose id ends in `-FAIL` cannot be messaged: that is how 207 and 500 are reached. */
	id: string;
	payment_status: string;
	language: string;
	custom?: Record<string, string>;
}

export interface Campaign {
	id: string;
	name: string;
	status: 'active' | 'paused' | 'completed' | 'draft';
	customers: Customer[];
}

export interface Disposition {
	id: string;
	name: string;
	description?: string;
}

export interface InitiateRecord {
	campaignId: string;
	channel: Channel;
	templateId: string;
	initiated: string[];
	failed: string[];
	time: number;
}

export interface TimePayServer extends ContractServer {
	campaigns: Map<string, Campaign>;
	dispositions: Disposition[];
	/** Every accepted initiate call, with who was messaged: tests count sends (and double sends) here. */
	initiations: InitiateRecord[];
	/** See TimePayServerOptions.errorShape. */
	errorShape: ErrorShape;
}

export interface TimePayServerOptions {
	token: string;
	campaigns?: Campaign[];
	dispositions?: Disposition[];
	/** Fixed port (the sandbox); default random. */
	port?: number;
	/** How `results.errors` entries are written (TimePay documents no shape for them); default 'customerId'. Can also be changed at runtime on the server. */
	errorShape?: ErrorShape;
}

/**
 * The shapes of a failed customer in `results.errors`: `{customerId, error}`, `{customer_id,
 * message}`, `{id, reason}`, or a plain string `"<id>: <reason>"`.
 */
export type ErrorShape = 'customerId' | 'customer_id' | 'id' | 'string';

export const ERROR_SHAPES: readonly ErrorShape[] = ['customerId', 'customer_id', 'id', 'string'];

/** Why a `-FAIL` customer could not be messaged. */
export const UNREACHABLE = 'WhatsApp number is not reachable';

function errorEntry(shape: ErrorShape, customerId: string, reason: string): Record<string, string> | string {
	if (shape === 'customer_id') return { customer_id: customerId, message: reason };
	if (shape === 'id') return { id: customerId, reason };
	if (shape === 'string') return `${customerId}: ${reason}`;
	return { customerId, error: reason };
}

type Channel = 'whatsapp' | 'sms' | 'calls';

const BODY_KEYS = ['templateId', 'conversationSettings', 'limit', 'filters'];
const SETTINGS_KEYS = ['agentId', 'dispositionId'];
const LIST_FILTERS = ['ids', 'exclude_ids', 'payment_status', 'language'] as const;
const FILTER_KEYS = [...LIST_FILTERS, 'custom'];
const BATCH_SIZE = 100;
const DISPOSITIONS_PER_PAGE = 20;
const CHANNEL_NAMES: Record<Channel, string> = { whatsapp: 'WhatsApp messages', sms: 'SMS messages', calls: 'Calls' };

function fail(status: number, message: string): Reply {
	return json(status, { success: false, message });
}

function isStringList(value: unknown): value is string[] {
	return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The demo campaigns: loans with every payment status and language, two of them unreachable (-FAIL). */
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
		{ id: 'camp-failing', name: 'Broken numbers', status: 'active', customers: [{ id: 'X-1-FAIL', payment_status: 'pending', language: 'en', custom: { branch: 'Mumbai' } }] },
		{ id: 'camp-empty', name: 'Empty campaign', status: 'paused', customers: [] },
		{ id: 'camp-welcome', name: 'Welcome journey', status: 'completed', customers: [{ id: 'W-1', payment_status: 'paid', language: 'hi', custom: { branch: 'Mumbai' } }] },
	];
}

export function demoDispositions(): Disposition[] {
	return [
		{ id: 'XaYnpMfmTumXNSgOSIZB', name: 'Promise to pay' },
		{ id: 'disp-callback', name: 'Call back later' },
	];
}

interface InitiateBody {
	templateId: string;
	limit?: number;
	filters: { ids?: string[]; exclude_ids?: string[]; payment_status?: string[]; language?: string[]; custom?: Record<string, unknown> };
}

/** The validated body, or the message of the first broken rule. */
function readInitiateBody(body: Record<string, unknown>, dispositions: Disposition[]): InitiateBody | string {
	const unknown = unknownKeys(body, BODY_KEYS);
	if (unknown.length) return `Unknown field(s): ${unknown.join(', ')}`;
	if (typeof body.templateId !== 'string' || !body.templateId.trim()) return 'templateId is required';
	if (body.conversationSettings !== undefined) {
		const settings = body.conversationSettings;
		if (!isPlainObject(settings)) return 'conversationSettings must be an object';
		const extra = unknownKeys(settings, SETTINGS_KEYS);
		if (extra.length) return `Unknown conversationSettings field(s): ${extra.join(', ')}`;
		const { agentId, dispositionId } = settings;
		if (typeof agentId !== 'string' || !agentId || typeof dispositionId !== 'string' || !dispositionId) {
			return 'conversationSettings requires both agentId and dispositionId';
		}
		if (!dispositions.some((d) => d.id === dispositionId)) return `Unknown dispositionId ${dispositionId}`;
	}
	const limit = body.limit;
	if (limit !== undefined && (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1)) return 'limit must be a positive integer';
	const filters = body.filters ?? {};
	if (!isPlainObject(filters)) return 'filters must be an object';
	const badFilter = unknownKeys(filters, FILTER_KEYS);
	if (badFilter.length) return `Unknown filter(s): ${badFilter.join(', ')}`;
	for (const key of LIST_FILTERS) if (filters[key] !== undefined && !isStringList(filters[key])) return `filters.${key} must be a list of strings`;
	if (filters.custom !== undefined && !isPlainObject(filters.custom)) return 'filters.custom must be an object';
	return { templateId: body.templateId, limit, filters: filters as InitiateBody['filters'] };
}

/** Filters are combined with AND, as the docs say; `custom` matches the customer's custom fields exactly. */
function matchCustomers(customers: Customer[], filters: InitiateBody['filters']): Customer[] {
	const custom = Object.entries(filters.custom ?? {});
	return customers.filter(
		(c) =>
			(!filters.ids || filters.ids.includes(c.id)) &&
			(!filters.exclude_ids || !filters.exclude_ids.includes(c.id)) &&
			(!filters.payment_status || filters.payment_status.includes(c.payment_status)) &&
			(!filters.language || filters.language.includes(c.language)) &&
			custom.every(([key, value]) => c.custom?.[key] === value),
	);
}

/** A query parameter that must be a positive integer when given; NaN when it is not. */
function positiveIntParam(request: RecordedRequest, name: string, fallback: number): number {
	const raw = request.query.get(name);
	if (raw === null) return fallback;
	return /^[1-9]\d*$/.test(raw) ? Number(raw) : Number.NaN;
}

function pagination(page: number, limit: number, total: number): { page: number; limit: number; total: number; totalPages: number } {
	return { page, limit, total, totalPages: Math.ceil(total / limit) };
}

export async function startTimePayServer(options: TimePayServerOptions): Promise<TimePayServer> {
	const campaigns = new Map((options.campaigns ?? demoCampaigns()).map((c) => [c.id, c]));
	const dispositions = options.dispositions ?? demoDispositions();
	const initiations: InitiateRecord[] = [];
	let errorShape = options.errorShape ?? 'customerId';

	const initiate = (request: RecordedRequest, campaignId: string, channel: Channel): Reply => {
		// A JSON API behind a body parser sees no fields in any other content type: a validation error.
		if (!isJson(request)) return fail(400, 'Content-Type must be application/json');
		const body = jsonObject(request);
		if (!body) return fail(400, 'The body must be a JSON object');
		const parsed = readInitiateBody(body, dispositions);
		if (typeof parsed === 'string') return fail(400, parsed);
		const campaign = campaigns.get(campaignId);
		if (!campaign) return fail(404, `Campaign ${campaignId} not found`);
		const matched = matchCustomers(campaign.customers, parsed.filters);
		if (!matched.length) return fail(404, `No customers found in campaign ${campaignId} for these filters`);
		const selected = parsed.limit ? matched.slice(0, parsed.limit) : matched;
		const failed = selected.filter((c) => c.id.endsWith('-FAIL'));
		const initiated = selected.filter((c) => !c.id.endsWith('-FAIL'));
		initiations.push({ campaignId, channel, templateId: parsed.templateId, initiated: initiated.map((c) => c.id), failed: failed.map((c) => c.id), time: Date.now() });
		const results = {
			totalMatched: matched.length,
			customersSelected: selected.length,
			initiated: initiated.length,
			failed: failed.length,
			batchesProcessed: Math.ceil(selected.length / BATCH_SIZE),
			errors: failed.map((c) => errorEntry(errorShape, c.id, UNREACHABLE)),
		};
		const what = CHANNEL_NAMES[channel];
		if (!initiated.length) return json(500, { success: false, message: `All ${failed.length} ${what.toLowerCase()} failed`, results });
		if (failed.length) return json(207, { success: false, message: `${what} initiated for ${initiated.length} customers, ${failed.length} failed`, results });
		return json(200, { success: true, message: `${what} initiated for ${initiated.length} customers`, results });
	};

	const listCampaigns = (request: RecordedRequest): Reply => {
		const page = positiveIntParam(request, 'page', 1);
		const limit = positiveIntParam(request, 'limit', 10);
		if (Number.isNaN(page) || Number.isNaN(limit) || limit > 100) return fail(400, 'page and limit must be positive integers (limit at most 100)');
		const search = (request.query.get('search') ?? '').toLowerCase();
		const status = request.query.get('status');
		const all = [...campaigns.values()]
			.filter((c) => (!search || c.name.toLowerCase().includes(search)) && (!status || c.status === status))
			.map(({ id, name, status: s }) => ({ id, name, status: s }));
		return json(200, { success: true, data: all.slice((page - 1) * limit, page * limit), pagination: pagination(page, limit, all.length) });
	};

	const listDispositions = (request: RecordedRequest): Reply => {
		const page = positiveIntParam(request, 'page', 1);
		if (Number.isNaN(page)) return fail(400, 'page must be a positive integer');
		const search = (request.query.get('search') ?? '').toLowerCase();
		const all = dispositions.filter((d) => !search || d.name.toLowerCase().includes(search) || (d.description ?? '').toLowerCase().includes(search));
		const limit = DISPOSITIONS_PER_PAGE;
		return json(200, { success: true, data: all.slice((page - 1) * limit, page * limit), pagination: pagination(page, limit, all.length) });
	};

	const server = await startServer(
		(request) => {
			if (bearer(request) !== options.token) return fail(401, 'Unauthorized: invalid or missing bearer token');
			const { method, path } = request;
			const route = /^\/api\/v1\/initiate\/([^/]+)\/(whatsapp|sms|calls)$/.exec(path);
			if (method === 'POST' && route) return initiate(request, route[1], route[2] as Channel);
			if (method === 'GET' && path === '/api/v1/campaigns') return listCampaigns(request);
			if (method === 'GET' && path === '/api/v1/dispositions') return listDispositions(request);
			return fail(404, `No route for ${method} ${path}`);
		},
		{ port: options.port },
	);
	return {
		...server,
		campaigns,
		dispositions,
		initiations,
		get errorShape() {
			return errorShape;
		},
		set errorShape(shape: ErrorShape) {
			errorShape = shape;
		},
	};
}
