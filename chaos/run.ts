/**
 * `npm run chaos`: the campaign path many times under seeded storms, in-process through n8n-core,
 * judged against the contract servers' and the S3 server's ledgers. The last line is the summary.
 *
 * CHAOS_REPLAY   the run's replay number, which seeds its pseudo-random plan (default 20261203);
 *                printed first, so a failing run can be replayed.
 * CHAOS_CAMPAIGNS how many campaigns (default 320).
 * CHAOS_CAMPAIGN  replays only these campaign numbers (comma-separated) of that run.
 * CHAOS_CONCURRENCY campaigns at a time (default 6).
 * CHAOS_LARGE_EVERY one campaign in this many uploads a ZIP past one S3 part (default 25; 0 none).
 * CHAOS_HUNG_AFTER_MS real ms after which an execution counts as hung and is cancelled (default 180000).
 * CHAOS_REAL_N8N  how many of the campaigns run in a real n8n 2.41 process (default 20, spread evenly; 0 none).
 * CHAOS_REAL_CONCURRENCY real-n8n campaigns at a time (default 2), beside the in-process ones.
 * CHAOS_KILL      0 skips the scenarios that SIGKILL n8n mid-campaign (kill.ts; default on when CHAOS_REAL_N8N > 0).
 * Exit code 1 when an invariant broke.
 */
import { join } from 'node:path';

// Before the package's nodes are loaded: their waits and clock become the campaign's virtual ones.
import { installVirtualDateNow, patchN8nWorkflowSleep } from './virtualTime';

patchN8nWorkflowSleep(join(__dirname, '..', 'nodes'));
installVirtualDateNow();

function intFromEnv(name: string, fallback: number): number {
	const raw = process.env[name];
	if (raw === undefined || raw === '') return fallback;
	const value = Number(raw);
	if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
	return value;
}

export const DEFAULT_SEED = 20261203;

async function main(): Promise<void> {
	/* eslint-disable @typescript-eslint/no-require-imports */
	const run = require('../test/harness/run') as typeof import('../test/harness/run');
	const webhook = require('../test/harness/webhook') as typeof import('../test/harness/webhook');
	const { InProcessRunner } = require('./campaign') as typeof import('./campaign');
	const { runChaos, allHeld } = require('./engine') as typeof import('./engine');
	const { RealN8nRunner } = require('./realN8n') as typeof import('./realN8n');
	const { runKillScenarios } = require('./kill') as typeof import('./kill');
	/* eslint-enable @typescript-eslint/no-require-imports */
	const seed = intFromEnv('CHAOS_REPLAY', DEFAULT_SEED);
	const only = process.env.CHAOS_CAMPAIGN ? process.env.CHAOS_CAMPAIGN.split(',').map((s) => Number(s.trim())) : undefined;
	const campaigns = intFromEnv('CHAOS_CAMPAIGNS', 320);
	process.stdout.write(`chaos: replay=${seed} (replay with CHAOS_REPLAY=${seed}; one campaign with CHAOS_CAMPAIGN=<n>)\n`);
	const runner = new InProcessRunner({
		runChain: run.runChain,
		CredentialStore: run.CredentialStore,
		probeNode: run.probeNode,
		callWebhook: webhook.callWebhook,
		storedWorkflow: webhook.storedWorkflow,
		n8nLogs: webhook.n8nLogs,
	});
	const realCount = Math.min(intFromEnv('CHAOS_REAL_N8N', 20), campaigns);
	const realRunner = realCount > 0 ? new RealN8nRunner() : undefined;
	// Spread over the run: every step-th campaign, so a real-n8n share has the same mix of plans.
	const step = realCount > 0 ? Math.max(1, Math.floor(campaigns / realCount)) : 0;
	const realIndexes = realCount > 0 ? Array.from({ length: realCount }, (_, i) => i * step + step - 1) : [];
	let summary: Awaited<ReturnType<typeof runChaos>>;
	try {
		summary = await runChaos({
			seed,
			campaigns,
			only,
			concurrency: intFromEnv('CHAOS_CONCURRENCY', 6),
			largeEvery: intFromEnv('CHAOS_LARGE_EVERY', 25),
			runner,
			lanes: realRunner ? [{ runner: realRunner, indexes: realIndexes, concurrency: intFromEnv('CHAOS_REAL_CONCURRENCY', 2) }] : [],
			log: (line) => process.stdout.write(`${line}\n`),
		});
	} finally {
		await realRunner?.close();
	}
	await run.shutdownN8nCore();
	const kills = realCount > 0 && process.env.CHAOS_KILL !== '0' && !only ? await runKillScenarios((line) => process.stdout.write(`${line}\n`)) : [];
	process.stdout.write('\nErrors the failed campaigns ended with (grouped; ids and numbers masked):\n');
	for (const group of summary.errorGroups) process.stdout.write(`  ${group.count} × ${group.example}\n`);
	if (summary.broken.length) {
		process.stdout.write('\nCampaigns that broke an invariant:\n');
		for (const b of summary.broken) process.stdout.write(`  #${b.index}: ${b.notes.join('; ')} (replay: CHAOS_REPLAY=${seed} CHAOS_CAMPAIGN=${b.index})\n`);
	}
	if (kills.length) {
		process.stdout.write('\nn8n killed mid-campaign (SIGKILL to its process group, restarted on the same user folder):\n');
		for (const k of kills) process.stdout.write(`  ${k.held ? 'held' : 'BROKEN'} ${k.name}: ${k.findings.join('; ')}\n`);
	}
	process.stdout.write(`\nchaos: ${Math.round(summary.realMs / 1000)} s; runners ${Object.entries(summary.byRunner).map(([k, n]) => `${k}=${n}`).join(' ')}; ${Object.entries(summary.coverage).map(([k, n]) => `${k}=${n}`).join(' ')}\n`);
	const killPart = kills.length ? ` kill_scenarios_held=${kills.filter((k) => k.held).length}/${kills.length}` : '';
	process.stdout.write(`${summary.line}${killPart}\n`);
	process.exitCode = allHeld(summary) && kills.every((k) => k.held) ? 0 : 1;
}

main().catch((error: unknown) => {
	process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
	process.exit(2);
});
