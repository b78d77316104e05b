/**
 * Drives a real n8n process for the end-to-end tests and the demo: installs the pinned n8n in a
 * folder of its own (`e2e/n8n-<major.minor>/`, with its own package.json and lockfile), starts it on
 * loopback ports with a fresh user folder and this package's built `dist/` as custom extensions,
 * sets up the owner and an API key, and offers the calls the tests need. e2e/README.md describes
 * each step and what n8n needs for it.
 *
 * The work is split by job under e2e/n8n/; this file only gathers what the tests, scripts and
 * benchmarks import, so they keep importing from one place.
 */
export {
	DEFAULT_N8N_VERSION,
	E2E_N8N_VERSIONS,
	isN8n28OrOlder,
	N8N1_VERSION,
	NODE20_N8N_VERSION,
	NODE20_N8N_VERSIONS,
	node20Runtime,
	node24Bin,
	node24Runtime,
	REPO_ROOT,
	runtimeFor,
} from './n8n/runtime';
export type { NodeRuntime } from './n8n/runtime';
export { ensureN8n, n8nDir } from './n8n/install';
export type { N8nInstall } from './n8n/install';
export { httpCall, N8nHttpError } from './n8n/rest';
export type { HttpResponse, RawResponse } from './n8n/rest';
export { freePort } from './n8n/process';
export type { Execution, ExecutionStatus, StoredCredential, StoredWorkflow, WorkflowJson } from './n8n/publicApi';
export { dataMatchesStatus, parseCliOutput } from './n8n/runs';
export type { CliRun } from './n8n/runs';
export { startN8n } from './n8n/start';
export type { N8nHandle, StartOptions } from './n8n/start';
