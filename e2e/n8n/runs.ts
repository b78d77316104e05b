/**
 * Running a workflow that starts with a Manual Trigger, the two ways n8n offers: as the editor's
 * "Execute workflow" button does (`POST /rest/workflows/<id>/run`, then polling the public API), and
 * `n8n execute` as a second process on the same user folder (see e2e/README.md for both).
 */
import { spawn } from 'node:child_process';

import { freePort, signalGroup, sleep, trackGroup, untrackGroup } from './process';
import type { Execution, StoredWorkflow } from './publicApi';
import { N8nHttpError } from './rest';
import type { N8nSession } from './rest';
import { isN8n28OrOlder } from './runtime';

export interface CliRun {
	exitCode: number | null;
	/** The execution JSON `--rawOutput` prints after the log lines (undefined if there was none). */
	result: unknown;
	stdout: string;
	stderr: string;
	durationMs: number;
}

export interface WorkflowRuns {
	/**
	 * Runs a workflow as the editor's "Execute workflow" does (`POST /rest/workflows/<id>/run` from
	 * its manual trigger) and waits until the execution has finished; returns it with its data.
	 */
	runManually(workflowId: string, options?: { triggerName?: string; timeoutMs?: number }): Promise<Execution>;
	/** `n8n execute --id=<id> --rawOutput` in a second process sharing this user folder (database, key). */
	runWorkflowCli(workflowId: string, options?: { timeoutMs?: number }): Promise<CliRun>;
}

/** What a second n8n process on the same user folder needs: the server's node, CLI, folder and environment. */
export interface CliSpec {
	node: string;
	bin: string;
	tempDir: string;
	env: NodeJS.ProcessEnv;
}

// ---------------------------------------------------------------------------------------------
// As the editor runs it

async function manualTriggerName(session: N8nSession, workflowId: string): Promise<string> {
	const workflow = await session.api<StoredWorkflow>('GET', `/workflows/${workflowId}`);
	const triggerName = workflow.nodes.find((n) => n.type === 'n8n-nodes-base.manualTrigger')?.name;
	if (!triggerName) throw new Error(`Workflow ${workflowId} has no Manual Trigger: pass triggerName`);
	return triggerName;
}

/** `POST /rest/workflows/<id>/run`; answers the id of the execution it started. */
async function startManualRun(session: N8nSession, n8nVersion: string, workflowId: string, triggerName: string): Promise<string> {
	const runBody: { triggerToStartFrom: { name: string }; workflowData?: unknown } = { triggerToStartFrom: { name: triggerName } };
	// n8n 2.8 runs the `workflowData` of the body (its id must match the URL) and fails without it;
	// 2.41 runs the saved workflow. Up to 2.8, send the saved workflow as the editor does.
	if (isN8n28OrOlder(n8nVersion)) {
		runBody.workflowData = (await session.rest<{ data: unknown }>('GET', `/workflows/${workflowId}`)).data;
	}
	const started = await session.rest<{ data: { executionId?: string; waitingForWebhook?: boolean } }>(
		'POST',
		`/workflows/${workflowId}/run`,
		runBody,
	);
	const executionId = started.data.executionId;
	if (!executionId) throw new Error(`n8n did not start an execution: ${JSON.stringify(started)}`);
	return executionId;
}

/**
 * n8n 1.x saves an execution's status a moment before its data: until both are saved, a successful
 * execution still shows no run data (or, after a wait, the data of its waiting state) and a failed one
 * no error.
 */
export function dataMatchesStatus(found: Execution): boolean {
	if (found.status === 'error') return found.data?.resultData.error !== undefined;
	if (found.status === 'success') return Object.keys(found.data?.resultData.runData ?? {}).length > 0 && !found.data?.waitTill;
	return true;
}

/** Polls the execution until it has stopped; a 404 means it is not saved yet. */
async function finishedExecution(session: N8nSession, executionId: string, timeoutMs = 60_000): Promise<Execution> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const res = await session.raw('GET', `/api/v1/executions/${executionId}?includeData=true`);
		if (res.status === 200) {
			const found = res.body as Execution;
			if (found.stoppedAt && !['new', 'running'].includes(found.status) && dataMatchesStatus(found)) return found;
		} else if (res.status !== 404) {
			throw new N8nHttpError('GET', `/api/v1/executions/${executionId}`, res.status, res.body);
		}
		if (Date.now() > deadline) throw new Error(`Execution ${executionId} did not finish within ${timeoutMs} ms`);
		await sleep(200);
	}
}

// ---------------------------------------------------------------------------------------------
// `n8n execute`

/** The JSON `n8n execute --rawOutput` prints after its log lines: from the first line that is exactly `{`. */
export function parseCliOutput(stdout: string): unknown {
	const lines = stdout.split('\n');
	const start = lines.findIndex((line) => line.trim() === '{');
	if (start < 0) return undefined;
	const text = lines.slice(start).join('\n').trim();
	try {
		return JSON.parse(text) as unknown;
	} catch {
		// Log lines after the JSON: cut at the last closing brace line.
		const end = text.lastIndexOf('\n}');
		return end >= 0 ? (JSON.parse(text.slice(0, end + 2)) as unknown) : undefined;
	}
}

function parseCliOutputOrNothing(stdout: string): unknown {
	try {
		return parseCliOutput(stdout);
	} catch {
		return undefined;
	}
}

/** `n8n execute` in a process group of its own, killed (with anything it started) on timeout and after it closes. */
async function runCli(spec: CliSpec, workflowId: string, timeoutMs = 120_000): Promise<CliRun> {
	// A second n8n process on the same database: it needs its own task broker port.
	const cliEnv = { ...spec.env, N8N_RUNNERS_BROKER_PORT: String(await freePort()) };
	const startedAt = Date.now();
	return await new Promise<CliRun>((resolvePromise, reject) => {
		const cli = spawn(spec.node, [spec.bin, 'execute', `--id=${workflowId}`, '--rawOutput'], {
			cwd: spec.tempDir,
			env: cliEnv,
			detached: true,
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		const cliGroup = cli.pid;
		if (cliGroup !== undefined) trackGroup(cliGroup);
		let stdout = '';
		let stderr = '';
		cli.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
		cli.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
		const timer = setTimeout(() => {
			if (cliGroup !== undefined) signalGroup(cliGroup, 'SIGKILL');
		}, timeoutMs);
		cli.on('error', reject);
		cli.on('close', (exitCode) => {
			clearTimeout(timer);
			if (cliGroup !== undefined) {
				signalGroup(cliGroup, 'SIGKILL');
				untrackGroup(cliGroup);
			}
			resolvePromise({ exitCode, result: parseCliOutputOrNothing(stdout), stdout, stderr, durationMs: Date.now() - startedAt });
		});
	});
}

/** The handle's two ways of running a workflow. */
export function workflowRuns(session: N8nSession, n8nVersion: string, cli: CliSpec): WorkflowRuns {
	return {
		async runManually(workflowId, runOptions = {}) {
			const triggerName = runOptions.triggerName || (await manualTriggerName(session, workflowId));
			const executionId = await startManualRun(session, n8nVersion, workflowId, triggerName);
			return await finishedExecution(session, executionId, runOptions.timeoutMs);
		},
		async runWorkflowCli(workflowId, runOptions = {}) {
			return await runCli(cli, workflowId, runOptions.timeoutMs);
		},
	};
}
