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
	/** One execution with its data. */
	execution(executionId: string): Promise<Execution>;
}

/**
 * n8n 2.8's public API checks the data against a schema that includes the domain fields n8n adds to
 * every credential, and (a quirk of its if/then schema) then requires `allowedDomains` unless
 * `allowedHttpRequestDomains` is given: give the editor's default, 'all'.
 */
function credentialDataFor(n8nVersion: string, data: Record<string, unknown>): Record<string, unknown> {
	if (isN8n28OrOlder(n8nVersion) && !('allowedHttpRequestDomains' in data)) return { ...data, allowedHttpRequestDomains: 'all' };
	return data;
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

/** The public API calls of the handle, for the given n8n version (2.8 needs a little more in a credential). */
export function publicApiCalls(api: JsonCall, n8nVersion: string): PublicApiCalls {
	return {
		async createCredential(name, type, data) {
			return await api<StoredCredential>('POST', '/credentials', { name, type, data: credentialDataFor(n8nVersion, data) });
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
		async execution(executionId) {
			return await api<Execution>('GET', `/executions/${executionId}?includeData=true`);
		},
	};
}
