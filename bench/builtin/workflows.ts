/**
 * The campaign's workflows (bench/workflows/*.json) with the run's values filled in. Both start with
 * the same Code node, which generates the rows, so both paths get identical source data.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { INode } from 'n8n-workflow';

import type { WorkflowJson } from '../../e2e/n8n';
import { BUCKET, CLIENT, CLIENT_ID, CLIENT_SECRET, PREFIX, TEMPLATE } from './config';
import type { RunPath } from './config';
import type { ServerAddresses } from './servers';

/** The ids of the credentials the workflows use, created in each n8n. */
export interface CredentialIds {
	aws: string;
	whilter: string;
}

const WORKFLOWS_DIR = join(__dirname, '..', 'workflows');

/** A workflow of bench/workflows/ with its %PLACEHOLDERS% filled in (values JSON-escaped). */
function workflowFrom(file: string, values: Record<string, string | number>): WorkflowJson {
	let text = readFileSync(join(WORKFLOWS_DIR, file), 'utf8');
	text = text.replace(/%([A-Z_]+)%/g, (whole, name: string) => {
		if (!(name in values)) throw new Error(`${file}: no value for ${whole}`);
		return JSON.stringify(String(values[name])).slice(1, -1);
	});
	const workflow = JSON.parse(text) as WorkflowJson;
	// Loaded through N8N_CUSTOM_EXTENSIONS, the package's node types are CUSTOM.<name>.
	workflow.nodes = workflow.nodes.map((node: INode) => ({ ...node, type: node.type.replace(/^n8n-nodes-whilter\./, 'CUSTOM.') }));
	return workflow;
}

/** The ZIP both paths upload, named as Whilter expects it. */
export function zipNameOf(campaign: string): string {
	return `${TEMPLATE}_${campaign}.zip`;
}

/** The path's workflow for one campaign of `rows` rows (for whilter-file, the rows of the CSV file at `csvPath`). */
export function campaignWorkflow(path: RunPath, campaign: string, rows: number, ids: CredentialIds, servers: ServerAddresses, csvPath?: string): WorkflowJson {
	const common = { ROWS: rows, CAMPAIGN: campaign, TEMPLATE };
	if (path === 'whilter-file') {
		if (!csvPath) throw new Error('the CSV file case needs the path of its file');
		return workflowFrom('whilter-file-campaign.json', { CSV_PATH: csvPath, CAMPAIGN: campaign, TEMPLATE, WHILTER_CREDENTIAL_ID: ids.whilter });
	}
	if (path === 'whilter') return workflowFrom('whilter-campaign.json', { ...common, WHILTER_CREDENTIAL_ID: ids.whilter });
	return workflowFrom('builtin-campaign.json', {
		...common,
		BUCKET,
		PREFIX,
		CLIENT,
		CLIENT_ID,
		CLIENT_SECRET,
		WHILTER_URL: servers.whilter,
		AWS_CREDENTIAL_ID: ids.aws,
	});
}
