/**
 * A short chaos run (chaos/): the campaign path under seeded storms on every request, in-process through
 * n8n-core, judged against the servers' ledgers. A different replay number (the seed of the run's plan) each run, printed (and in the test's
 * name) so a failure can be replayed with `CHAOS_REPLAY=<n> npm run chaos`; CHAOS_REPLAY set here fixes it.
 * Every seed must pass: the invariants hold whatever the storm does, and no assertion reads the clock.
 */
import { sleep } from 'n8n-workflow';

import { InProcessRunner } from '../../chaos/campaign';
import { runChaos } from '../../chaos/engine';
import { noViolations } from '../../chaos/invariants';
import { installVirtualDateNow, virtualSleep } from '../../chaos/virtualTime';
import { CredentialStore, probeNode, runChain, shutdownN8nCore } from '../harness/run';
import { callWebhook, n8nLogs, storedWorkflow } from '../harness/webhook';

// The package's only wait becomes the running campaign's virtual sleep (chaos/virtualTime.ts).
jest.mock('n8n-workflow', () => {
	const actual = jest.requireActual<typeof import('n8n-workflow')>('n8n-workflow');
	const time = jest.requireActual<typeof import('../../chaos/virtualTime')>('../../chaos/virtualTime');
	return { ...actual, sleep: time.virtualSleep };
});

const seed = process.env.CHAOS_REPLAY ? Number(process.env.CHAOS_REPLAY) : Math.floor(Math.random() * 2 ** 31);
const CAMPAIGNS = Number(process.env.CHAOS_CAMPAIGNS ?? 45);

afterAll(async () => {
	await shutdownN8nCore();
});

it(`holds every invariant under a short storm (replay: CHAOS_REPLAY=${seed} npm run chaos)`, async () => {
	process.stderr.write(`short chaos: replay=${seed} (replay: CHAOS_REPLAY=${seed} CHAOS_CAMPAIGNS=${CAMPAIGNS} npm run chaos)\n`);
	expect(sleep).toBe(virtualSleep);
	installVirtualDateNow();
	const runner = new InProcessRunner({ runChain, CredentialStore, probeNode, callWebhook, storedWorkflow, n8nLogs });
	const summary = await runChaos({ seed, campaigns: CAMPAIGNS, concurrency: 4, largeEvery: 25, runner });
	process.stderr.write(`${summary.line}\n`);
	expect(summary.broken).toEqual([]);
	expect(summary.totals).toEqual(noViolations());
	// The storm did happen: a run without faults would prove nothing.
	expect(summary.faults).toBeGreaterThanOrEqual(CAMPAIGNS * 3);
}, 600_000);
