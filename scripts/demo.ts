/**
 * `npm run demo`: the main job end to end. Builds the package, makes sure the pinned n8n is
 * installed, starts the local sandbox (S3 server + Whilter, Insider and TimePay contract servers)
 * and a real n8n with the package, creates the credentials, imports examples/batch-campaign.json,
 * runs it, waits for the Whilter task to complete and prints what came back.
 * `npm run demo -- --keep` leaves n8n (http://127.0.0.1:5678) and the sandbox running.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import Papa from 'papaparse';
import type { INode } from 'n8n-workflow';

import { ensureN8n, REPO_ROOT, startN8n } from '../e2e/n8n';
import type { WorkflowJson } from '../e2e/n8n';
import { DIST_DIR, ensurePackageBuilt } from '../e2e/package';
import { SANDBOX_CREDENTIALS, startSandbox } from '../test/servers/sandbox';

const keep = process.argv.includes('--keep');
const say = (line: string) => process.stdout.write(`[demo] ${line}\n`);

async function main(): Promise<void> {
	say('building the package…');
	await ensurePackageBuilt();
	say('making sure n8n is installed (the first time takes about 4 minutes)…');
	await ensureN8n();
	say('starting the sandbox (S3 server, Whilter, Insider and TimePay contract servers)…');
	const sandbox = await startSandbox({ autoAdvanceMs: 1500 });
	say('starting n8n with the package…');
	const n8n = await startN8n({ extensionsDir: DIST_DIR, ...(keep ? { port: 5678 } : {}) });
	const stopAll = async () => {
		await n8n.stop();
		await sandbox.close();
	};
	try {
		const names: Record<string, string> = { whilterApi: 'Whilter (sandbox)', insiderApi: 'Insider (sandbox)', timePayApi: 'TimePay (sandbox)' };
		const ids: Record<string, string> = {};
		for (const [type, data] of Object.entries(sandbox.credentials)) {
			ids[type] = (await n8n.createCredential(names[type], type, data as Record<string, unknown>)).id;
		}
		// The example uses the package's type names, as a user's n8n knows them; loaded through
		// N8N_CUSTOM_EXTENSIONS they are CUSTOM.<name>, and n8n's import needs the credentials' ids.
		const example = JSON.parse(readFileSync(join(REPO_ROOT, 'examples', 'batch-campaign.json'), 'utf8')) as WorkflowJson;
		example.nodes = example.nodes.map((node: INode) => ({
			...node,
			type: node.type.replace(/^n8n-nodes-whilter\./, 'CUSTOM.'),
			...(node.credentials
				? { credentials: Object.fromEntries(Object.entries(node.credentials).map(([type, ref]) => [type, { ...ref, id: ids[type] }])) }
				: {}),
		}));
		const workflow = await n8n.importWorkflow(example);
		say(`running "${example.name}"…`);
		const execution = await n8n.runManually(workflow.id, { triggerName: 'Start' });
		const runData = execution.data?.resultData.runData ?? {};
		if (execution.status !== 'success') throw new Error(`the workflow ended "${execution.status}": ${JSON.stringify(execution.data?.resultData.error?.message ?? '')}`);
		const batch = runData['Whilter Batch']?.[0]?.data?.main?.[0]?.[0]?.json ?? {};
		const status = runData['Whilter Status']?.[0]?.data?.main?.[0]?.[0]?.json ?? {};
		const taskId = String(batch['task-id']);
		say(`task ${taskId} created; waiting for Whilter to finish it…`);
		const deadline = Date.now() + 60_000;
		while (sandbox.whilter.tasks.get(taskId)?.state !== 'completed') {
			if (Date.now() > deadline) throw new Error(`task ${taskId} did not complete within 60 s`);
			await new Promise((r) => setTimeout(r, 250));
		}
		const task = sandbox.whilter.tasks.get(taskId)!;
		const output = Papa.parse<Record<string, string>>((await sandbox.s3.getObjectBuffer(SANDBOX_CREDENTIALS.bucket, task.outputKey!)).toString('utf8'), {
			header: true,
			skipEmptyLines: true,
		}).data;
		const failed = output.filter((row) => row.error);
		const lines = [
			'',
			'Whilter batch campaign, run by a real n8n against the local sandbox',
			`  task id          ${taskId}`,
			`  rows sent        ${String(batch['row-count'])}   (file ${String(batch['file-name'])})`,
			`  uploaded to      s3://${String(batch.bucket)}/${String(batch['file-path'])}`,
			`  status (n8n)     ${String(status.status)} right after creation; now completed`,
			`  output file      s3://${SANDBOX_CREDENTIALS.bucket}/${task.outputKey}`,
			'  first media URLs',
			...output.slice(0, 3).map((row) => `    ${row.phone}  ${row.name.padEnd(16)} ${row['media-url'] || `(failed: ${row.error})`}`),
			`  failed rows      ${failed.length} of ${output.length}${failed.length ? `, e.g. ${failed[0].phone}: ${failed[0].error}` : ''}`,
			'',
		];
		process.stdout.write(`${lines.join('\n')}\n`);
		if (keep) {
			say(`n8n stays up at ${n8n.url} (sign in as ${n8n.owner.email} / ${n8n.owner.password}); Ctrl-C stops it and the sandbox.`);
			const stop = () => void stopAll().then(() => process.exit(0));
			process.on('SIGINT', stop);
			process.on('SIGTERM', stop);
			return;
		}
		await stopAll();
	} catch (error) {
		await stopAll();
		throw error;
	}
}

main().catch((error: unknown) => {
	process.stderr.write(`[demo] failed: ${error instanceof Error ? error.message : String(error)}\n`);
	process.exit(1);
});
