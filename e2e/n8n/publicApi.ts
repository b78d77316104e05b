/**
 * n8n's public API (`/api/v1`, with the API key) as the tests use it: credentials, workflows,
 * activation and executions. It has no "run" endpoint: see runs.ts for running a workflow.
 */
import type { IConnections, INode, IRunExecutionData, IWorkflowSettings } from 'n8n-workflow';

import type { JsonCall } from './rest';
import { isN8n28OrOlder } from './runtime';

export interface WorkflowJson {
	name: string;
	nodes: INode[];
	connections: IConnections;
	settings?: IWorkflowSettings;
	staticData?: Record<string, unknown> | null;
}

export interface StoredWorkflow extends WorkflowJson {
	id: string;
	active: boolean;
}

export interface StoredCredential {
	id: string;
	name: string;
	type: string;
}

export type ExecutionStatus = 'new' | 'running' | 'success' | 'error' | 'waiting' | 'canceled' | 'crashed' | 'unknown';

/** An execution as the public API returns it (`includeData=true` adds `data`). */
export interface Execution {
	id: string;
	finished: boolean;
	mode: string;
	status: ExecutionStatus;
	workflowId: string;
	startedAt: string;
	stoppedAt: string | null;
	data?: IRunExecutionData;
}

export interface PublicApiCalls {
	/** `POST /api/v1/credentials` */
	createCredential(name: string, type: string, data: Record<string, unknown>): Promise<StoredCredential>;
	/** `POST /api/v1/workflows` with only the fields the API accepts. */
	importWorkflow(json: WorkflowJson): Promise<StoredWorkflow>;
	/** `POST /api/v1/workflows/<id>/activate` */
	activate(workflowId: string): Promise<StoredWorkflow>;
	/** The workflow's executions with their data, every page. */
	executions(workflowId: string): Promise<Execution[]>;
	/**
	 * One execution with its data. n8n 2.41 leaves `data` empty when it is larger than
	 * EXECUTIONS_DATA_MAX_DISPLAY_SIZE (a run over a million items) and flags it
	 * `dataTooLargeToDisplay`; `ignoreDataSizeLimit` reads it anyway (a query parameter the public API
	 * of earlier versions does not list, so it is only sent when asked for).
	 */
	execution(executionId: string, options?: { ignoreDataSizeLimit?: boolean }): Promise<Execution>;
}

interface CredentialSchema {
	properties?: Record<string, unknown>;
	allOf?: Array<{ if?: { properties?: Record<string, { enum?: unknown[] }> }; then?: { allOf?: Array<{ required?: string[] }> } }>;
}

/**
 * Up to 2.8 (1.x included) n8n's public API checks the data against the type's schema
 * (`GET /credentials/schema/<type>`), with two quirks of its if/then rules:
 * - where the schema has the domain fields n8n adds to credentials that make HTTP requests, it
 *   requires `allowedDomains` unless `allowedHttpRequestDomains` is given: give the editor's
 *   default, 'all' (only there: a type without them refuses the field);
 * - 1.x builds the rule for fields shown under different values of one option wrongly: with the
 *   whilterApi credential's Client Credentials it also requires Access Token (shown only for Access
 *   Token). Every field the matching branch requires and the data lacks is given empty, which the
 *   credential ignores in that mode (the editor's REST call has no such check).
 */
async function credentialDataFor(api: JsonCall, n8nVersion: string, type: string, data: Record<string, unknown>): Promise<Record<string, unknown>> {
	if (!isN8n28OrOlder(n8nVersion)) return data;
	const schema = await api<CredentialSchema>('GET', `/credentials/schema/${type}`);
	const filled = { ...data };
	if (schema.properties && 'allowedHttpRequestDomains' in schema.properties && !('allowedHttpRequestDomains' in filled)) filled.allowedHttpRequestDomains = 'all';
	for (const rule of schema.allOf ?? []) {
		const [key, condition] = Object.entries(rule.if?.properties ?? {})[0] ?? [];
		if (key === undefined || key === 'allowedHttpRequestDomains' || !condition?.enum?.includes(filled[key])) continue;
		for (const field of (rule.then?.allOf ?? []).flatMap((r) => r.required ?? [])) if (!(field in filled)) filled[field] = '';
	}
	return filled;
}

/** The fields of a new workflow, taken from a workflow file (its id, active flag, meta and the like stay behind). */
function importBody(json: WorkflowJson): WorkflowJson {
	const body: WorkflowJson = {
		name: json.name,
		nodes: json.nodes,
		connections: json.connections,
		settings: json.settings ?? {},
	};
	if (json.staticData !== undefined) body.staticData = json.staticData;
	return body;
}

async function allExecutions(api: JsonCall, workflowId: string): Promise<Execution[]> {
	const found: Execution[] = [];
	let cursor: string | undefined;
	do {
		const query = `workflowId=${encodeURIComponent(workflowId)}&includeData=true&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
		const page = await api<{ data: Execution[]; nextCursor: string | null }>('GET', `/executions?${query}`);
		found.push(...page.data);
		cursor = page.nextCursor ?? undefined;
	} while (cursor);
	return found;
}

/** The public API calls of the handle, for the given n8n version (up to 2.8 a credential needs a little more). */
export function publicApiCalls(api: JsonCall, n8nVersion: string): PublicApiCalls {
	return {
		async createCredential(name, type, data) {
			const body = { name, type, data: await credentialDataFor(api, n8nVersion, type, data) };
			return await api<StoredCredential>('POST', '/credentials', body);
		},
		async importWorkflow(json) {
			return await api<StoredWorkflow>('POST', '/workflows', importBody(json));
		},
		async activate(workflowId) {
			return await api<StoredWorkflow>('POST', `/workflows/${workflowId}/activate`);
		},
		async executions(workflowId) {
			return await allExecutions(api, workflowId);
		},
		async execution(executionId, options) {
			const all = options?.ignoreDataSizeLimit ? '&ignoreDataSizeLimit=true' : '';
			return await api<Execution>('GET', `/executions/${executionId}?includeData=true${all}`);
		},
	};
}
