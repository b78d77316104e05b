/**
 * `npm run demo`: the main job end to end. Builds the package, makes sure the pinned n8n is
 * installed, starts the local sandbox (S3 server + Whilter, Insider and TimePay contract servers)
 * and a real n8n with the package, creates the credentials, imports the three examples and runs
 * them (e2e/examples.ts): (2) the callback flow, active, started by the sandbox's real callback when
 * (1) the batch campaign's task completes; (3) the real-time flow. Prints what came back.
 * `npm run demo -- --keep` leaves n8n (http://127.0.0.1:5678) and the sandbox running.
 * `npm run demo -- --queue` runs the same in n8n's queue mode (e2e/queue.ts): main, two workers and
 * a webhook processor with their own PostgreSQL and Redis; it also says which process ran each
 * execution. With `--keep`, the cluster stays up (main on 5678) until Ctrl-C.
 */
import type { IDataObject } from 'n8n-workflow';

import { createSandboxCredentials, runExamples } from '../e2e/examples';
import type { ExamplesRun } from '../e2e/examples';
import { ensureN8n, startN8n } from '../e2e/n8n';
import type { N8nHandle } from '../e2e/n8n';
import { DIST_DIR, ensurePackageBuilt } from '../e2e/package';
import { memoryLine, startQueueCluster } from '../e2e/queue';
import type { QueueCluster } from '../e2e/queue';
import { startSandbox } from '../test/servers/sandbox';

const keep = process.argv.includes('--keep');
const queue = process.argv.includes('--queue');
const say = (line: string) => process.stdout.write(`[demo] ${line}\n`);

const text = (value: unknown): string => (value === undefined || value === null ? '' : String(value));

function customer(row: IDataObject): string {
	return `${text(row.phone)}  ${text(row.name).padEnd(18)}`;
}

function summary(run: ExamplesRun, executionsUrl?: string): string[] {
	const { task, rows, insider, timepay } = run.batch;
	const failed = rows.filter((row) => text(row.error));
	const answer = (timepay.response ?? {}) as IDataObject;
	const counts = (answer.results ?? {}) as IDataObject;
	const failedCustomers = Array.isArray(timepay['failed-customers']) ? (timepay['failed-customers'] as IDataObject[]) : [];
	return [
		'',
		'(1) Whilter batch campaign, run by a real n8n against the local sandbox',
		`  task id           ${text(task['task-id'])}`,
		`  rows sent         ${text(task['row-count'])}   (file ${text(task['file-name'])})`,
		`  uploaded to       s3://${text(task.bucket)}/${text(task['file-path'])}`,
		`  result rows       ${rows.length}, of which failed: ${failed.length}`,
		'  first media URLs',
		...rows.slice(0, 3).map((row) => `    ${customer(row)} ${text(row['media-url']) || `(failed: ${text(row.error)})`}`),
		'  failed rows',
		...(failed.length ? failed.slice(0, 3).map((row) => `    ${customer(row)} ${text(row.error)}`) : ['    none']),
		...(failed.length > 3 ? [`    … and ${failed.length - 3} more`] : []),
		`  WhatsApp media    ${text(insider.id)} → ${text(insider.url)} (${text(insider['mime-type'])}, ${text(insider['file-size'])} bytes)`,
		`  TimePay           campaign ${text(timepay['campaign-id'])}: HTTP ${text(timepay['status-code'])}, initiated ${text(counts.initiated)}, failed ${text(counts.failed)}` +
			(failedCustomers.length ? ` (${failedCustomers.map((f) => text(f['customer-id'])).join(', ')})` : ''),
		'',
		'(2) Whilter callback, started by the sandbox\'s completion callback on its production webhook',
		`  execution         ${text(run.callback.execution.id)} (${run.callback.execution.status}), ${run.callback.rows.length} result rows, ` +
			`${run.callback.rows.filter((row) => row['media-ready'] === true).length} with media ready`,
		'',
		'(3) Whilter real-time video',
		...run.realtime.items.map((item) => `    ${text(item['user-id']).padEnd(8)} ${text(item.status).padEnd(8)} ${text(item['video-url'] ?? item['image-url'])}`),
		'',
		...(executionsUrl ? [`Executions of (1): ${executionsUrl}`, ''] : []),
	];
}

/** Queue mode: which process enqueued and which worker ran each execution (from the processes' logs). */
async function whoRanLines(cluster: QueueCluster, run: ExamplesRun): Promise<string[]> {
	const executions: Array<[string, string]> = [
		['(1) batch campaign', run.batch.execution.id],
		['(2) callback flow', run.callback.execution.id],
		['(3) real-time flow', run.realtime.execution.id],
	];
	const lines = ['Queue mode: who ran what'];
	for (const [label, id] of executions) {
		const who = await cluster.waitForWhoRan(id);
		const ran = who.startedOn.map((name) => name.replace(/^worker-(\d+)$/, `worker $1/${cluster.workers.length}`));
		lines.push(`  ${label.padEnd(20)} execution ${id}: enqueued by ${who.enqueuedBy.join(', ') || '?'}, ran on ${ran.join(', ') || '(not found in the logs)'}`);
	}
	const { startupMs } = cluster;
	lines.push(
		`  start-up          ${(startupMs.total / 1000).toFixed(1)} s (PostgreSQL + Redis ${(startupMs.postgresAndRedis / 1000).toFixed(1)} s, n8n processes ${(startupMs.n8n / 1000).toFixed(1)} s)`,
		`  memory            ${memoryLine(cluster.memory())}`,
		'',
	);
	return lines;
}

/** A single n8n, or with --queue the cluster whose main the examples are run through. */
async function startN8nOrCluster(): Promise<{ n8n: N8nHandle; cluster?: QueueCluster; webhookBaseUrl: string }> {
	if (!queue) {
		say('starting n8n with the package (about 15 s)…');
		const n8n = await startN8n({ extensionsDir: DIST_DIR, ...(keep ? { port: 5678 } : {}) });
		return { n8n, webhookBaseUrl: n8n.url };
	}
	say('starting n8n in queue mode: PostgreSQL 17, Redis, main, 2 workers, a webhook processor (about 30 s; PostgreSQL and Redis install themselves the first time)…');
	const cluster = await startQueueCluster({ extensionsDir: DIST_DIR, workers: 2, webhookProcessors: 1, ...(keep ? { mainPort: 5678 } : {}) });
	say(`main ${cluster.main.url}, workers ${cluster.workers.map((w) => `${w.name} (health ${w.url})`).join(', ')}, webhook processor ${cluster.webhookUrl}`);
	return { n8n: cluster.main, cluster, webhookBaseUrl: cluster.webhookUrl };
}

async function main(): Promise<void> {
	say('building the package…');
	await ensurePackageBuilt();
	say('making sure n8n is installed (the first time takes about 4 minutes)…');
	await ensureN8n();
	say('starting the sandbox (S3 server, Whilter, Insider and TimePay contract servers)…');
	const sandbox = await startSandbox({ autoAdvanceMs: 1500 });
	const { n8n, cluster, webhookBaseUrl } = await startN8nOrCluster();
	const stopAll = async () => {
		await n8n.stop();
		await sandbox.close();
	};
	try {
		say('creating the credentials (Whilter, Insider, TimePay), pointing at the sandbox…');
		const ids = await createSandboxCredentials(n8n, sandbox);
		const run = await runExamples(n8n, ids, say, { webhookBaseUrl });
		process.stdout.write(`${summary(run, keep ? `${n8n.url}/workflow/${run.workflowIds.batch}/executions` : undefined).join('\n')}\n`);
		if (cluster) process.stdout.write(`${(await whoRanLines(cluster, run)).join('\n')}\n`);
		if (keep) {
			say(`n8n stays up at ${n8n.url} with the examples imported. Sign in with`);
			say(`  e-mail    ${n8n.owner.email}`);
			say(`  password  ${n8n.owner.password}`);
			say(cluster ? 'Ctrl-C stops every n8n process, PostgreSQL, Redis and the sandbox.' : 'Ctrl-C stops n8n and the sandbox.');
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
