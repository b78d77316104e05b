/**
 * The chaos run: many campaigns, each under a seeded storm, judged against the servers' ledgers, and
 * one summary. Campaigns run a few at a time; each has servers and a virtual clock of its own, so one
 * campaign's faults and waits do not depend on the others.
 */
import type { CampaignOutcome, CampaignRunner } from './campaign';
import { judge, noViolations } from './invariants';
import type { Violations } from './invariants';
import { planCampaign } from './plan';
import { realNow } from './virtualTime';

export interface ChaosOptions {
	seed: number;
	campaigns: number;
	/** Only these campaign numbers (replaying one); default all. */
	only?: number[];
	concurrency: number;
	runner: CampaignRunner;
	/** One campaign in this many uploads a ZIP past one S3 part (0: none). */
	largeEvery?: number;
	/** Campaigns run by another runner (a real n8n), beside the main one with a concurrency of their own. */
	lanes?: Array<{ runner: CampaignRunner; indexes: readonly number[]; concurrency: number }>;
	log?: (line: string) => void;
}

export interface ChaosSummary {
	seed: number;
	campaigns: number;
	faults: number;
	faultsByKind: Record<string, number>;
	totals: Violations;
	failedWithClearError: number;
	/** Each distinct error message (numbers and ids masked) with how many campaigns ended with it. */
	errorGroups: Array<{ message: string; count: number; example: string }>;
	/** Campaigns that broke an invariant, with what broke and how to replay them. */
	broken: Array<{ index: number; notes: string[] }>;
	realMs: number;
	/** Campaigns judged, by the runner that ran them. */
	byRunner: Record<string, number>;
	/** How far the campaigns got: the invariants only bite where something happened. */
	coverage: Record<string, number>;
	line: string;
}


/** An error message with what differs between campaigns masked, so one kind of failure is one group. */
export function maskMessage(message: string): string {
	return message
		.replace(/task-[0-9a-f-]{36}/g, 'task-<id>')
		.replace(/wr-[0-9a-f-]{36}/g, 'wr-<id>')
		.replace(/c\d+x[0-9a-z]+/g, '<campaign>')
		.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<time>')
		.replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>')
		.replace(/(rt-|row count |Item )\d+/g, '$1<n>')
		.replace(/\(\d+ rows\)/g, '(<n> rows)');
}

function faultKey(kind: string, server: string): string {
	return server === 's3' ? `s3-${kind}` : kind;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosSummary> {
	const log = options.log ?? (() => undefined);
	const began = realNow();
	const all = options.only ?? Array.from({ length: options.campaigns }, (_, i) => i);
	const lanes = (options.lanes ?? []).map((lane) => ({ ...lane, indexes: lane.indexes.filter((i) => all.includes(i)) }));
	const elsewhere = new Set(lanes.flatMap((lane) => lane.indexes));
	lanes.unshift({ runner: options.runner, indexes: all.filter((i) => !elsewhere.has(i)), concurrency: options.concurrency });
	const outcomes: Array<{ outcome: CampaignOutcome; verdict: ReturnType<typeof judge> }> = [];
	const crashed: ChaosSummary['broken'] = [];
	const worker = async (lane: (typeof lanes)[number], queue: { next: number }) => {
		while (queue.next < lane.indexes.length) {
			const index = lane.indexes[queue.next++];
			const plan = planCampaign(options.seed, index, { largeEvery: options.largeEvery });
			let outcome: CampaignOutcome;
			try {
				outcome = await lane.runner.run(plan);
			} catch (error) {
				// A campaign the harness could not run breaks the run: reported with its replay, not hidden.
				const why = error instanceof Error ? (error.stack ?? error.message) : String(error);
				log(`campaign ${index}: the runner failed: ${why} (replay: CHAOS_REPLAY=${options.seed} CHAOS_CAMPAIGN=${index})`);
				crashed.push({ index, notes: [`the runner failed: ${why.split('\n')[0]}`] });
				continue;
			}
			const verdict = judge(outcome);
			outcomes.push({ outcome, verdict });
			const broken = Object.values(verdict.violations).some((n) => n > 0);
			const ok = outcome.executions.every((e) => e.ok);
			log(
				`campaign ${index}${lane.runner.name === options.runner.name ? '' : ` [${lane.runner.name}]`} (${plan.id}, ${plan.input}, ${plan.rows} rows${plan.large ? ', large' : ''}, rate ${plan.rate}, callbacks ${plan.callbacks}): ` +
					`${outcome.faults.length + outcome.extraFaults.length} faults, ${Math.round(outcome.executions.reduce((sum, e) => sum + e.realMs, 0))} ms, ${ok ? 'all executions succeeded' : 'failed with: ' + verdict.errors.map((e) => maskMessage(e).slice(0, 160)).join(' | ')}` +
					(broken ? ` — BROKEN: ${verdict.notes.join('; ')} (replay: CHAOS_REPLAY=${options.seed} CHAOS_CAMPAIGN=${index})` : ''),
			);
		}
	};
	await Promise.all(
		lanes.flatMap((lane) => {
			const queue = { next: 0 };
			return Array.from({ length: Math.max(1, lane.concurrency) }, async () => await worker(lane, queue));
		}),
	);

	const totals = noViolations();
	const faultsByKind: Record<string, number> = {};
	const groups = new Map<string, { count: number; example: string }>();
	let faults = 0;
	let failedWithClearError = 0;
	const broken: ChaosSummary['broken'] = [...crashed];
	for (const { outcome, verdict } of outcomes) {
		for (const key of Object.keys(totals) as Array<keyof Violations>) totals[key] += verdict.violations[key];
		for (const fault of outcome.faults) faultsByKind[faultKey(fault.kind, fault.server)] = (faultsByKind[faultKey(fault.kind, fault.server)] ?? 0) + 1;
		for (const extra of outcome.extraFaults) faultsByKind[extra] = (faultsByKind[extra] ?? 0) + 1;
		faults += outcome.faults.length + outcome.extraFaults.length;
		if (verdict.failedWithClearError) failedWithClearError++;
		// Grouped by the message alone (its description follows from it); the first one is kept whole.
		for (const error of verdict.errors) {
			const key = maskMessage(error.split(' — ')[0]);
			const group = groups.get(key) ?? { count: 0, example: maskMessage(error) };
			group.count++;
			groups.set(key, group);
		}
		if (Object.values(verdict.violations).some((n) => n > 0)) broken.push({ index: outcome.plan.index, notes: verdict.notes });
	}
	const coverage = {
		batchSucceeded: outcomes.filter((o) => o.outcome.executions.some((e) => e.name === 'batch' && e.ok)).length,
		statusCompleted: outcomes.filter((o) => o.outcome.statusCompleted).length,
		realtimeSucceeded: outcomes.filter((o) => o.outcome.executions.some((e) => e.name === 'realtime' && e.ok)).length,
		triggerStarts: outcomes.reduce((n, o) => n + o.outcome.triggerDeliveries.filter((d) => d.started).length, 0),
		multipartUploads: outcomes.reduce((n, o) => n + o.outcome.ledger.multipart.length, 0),
		unheardUploadsLeftOpen: outcomes.reduce((n, o) => n + o.verdict.unheardUploads, 0),
		tasks: outcomes.reduce((n, o) => n + o.outcome.ledger.tasks.length, 0),
		initiations: outcomes.reduce((n, o) => n + o.outcome.ledger.initiations.length, 0),
		insiderMedia: outcomes.reduce((n, o) => n + o.outcome.ledger.insiderMedia, 0),
		realtimeRequests: outcomes.reduce((n, o) => n + o.outcome.ledger.realtime.length, 0),
	};
	const byRunner: Record<string, number> = {};
	for (const { outcome } of outcomes) byRunner[outcome.runner] = (byRunner[outcome.runner] ?? 0) + 1;
	const byKind = Object.entries(faultsByKind)
		.sort((a, b) => b[1] - a[1])
		.map(([kind, n]) => `${kind}:${n}`)
		.join(' ');
	const line =
		`chaos: campaigns=${outcomes.length} real_n8n=${byRunner['real-n8n'] ?? 0} faults=${faults} (by kind ${byKind}) lost_rows=${totals.lostRows} duplicate_tasks=${totals.duplicateTasks} ` +
		`duplicate_initiations=${totals.duplicateInitiations} orphan_uploads=${totals.orphanUploads} hung=${totals.hung} leaked_secrets=${totals.leakedSecrets} ` +
		`failed_with_clear_error=${failedWithClearError} duplicate_realtime=${totals.duplicateRealtime} repeated_uploads=${totals.repeatedUploads} ` +
		`duplicate_starts=${totals.duplicateStarts} unclear_errors=${totals.unclearErrors} unheard_uploads_left_open=${coverage.unheardUploadsLeftOpen} replay=${options.seed}`;
	return {
		seed: options.seed,
		campaigns: outcomes.length,
		faults,
		faultsByKind,
		totals,
		failedWithClearError,
		errorGroups: [...groups.entries()].map(([message, g]) => ({ message, count: g.count, example: g.example })).sort((a, b) => b.count - a.count),
		broken: broken.sort((a, b) => a.index - b.index),
		realMs: realNow() - began,
		byRunner,
		coverage,
		line,
	};
}

/** Whether the run held every invariant. */
export function allHeld(summary: ChaosSummary): boolean {
	return summary.broken.length === 0 && Object.values(summary.totals).every((n) => n === 0);
}
