/** The invariants a campaign's ledger must hold, whatever the storm did. */
import type { CampaignOutcome } from './campaign';

export interface Violations {
	lostRows: number;
	duplicateTasks: number;
	duplicateInitiations: number;
	duplicateRealtime: number;
	repeatedUploads: number;
	duplicateStarts: number;
	orphanUploads: number;
	hung: number;
	leakedSecrets: number;
	unclearErrors: number;
}

export interface CampaignVerdict {
	violations: Violations;
	/** Multipart uploads left open whose id the client never received (see judge). */
	unheardUploads: number;
	/** What went wrong, for the campaign's report line. */
	notes: string[];
	/** Errors the campaign's executions (and the Trigger's refusals) ended with. */
	errors: string[];
	failedWithClearError: boolean;
}

const GENERIC = /^(undefined|null|error|unknown error|\[object object\]|request failed)\.?$/i;

/** An error a user can act on: it says something of its own (not a bare word) and names no server bug. */
export function isClearError(message: string): boolean {
	const text = message.trim();
	return text.length >= 12 && !GENERIC.test(text) && !/contract server error/i.test(text);
}

function missing(expected: readonly string[], got: readonly string[]): number {
	const left = new Map<string, number>();
	for (const id of got) left.set(id, (left.get(id) ?? 0) + 1);
	let lost = 0;
	for (const id of expected) {
		const n = left.get(id) ?? 0;
		if (n === 0) lost++;
		else left.set(id, n - 1);
	}
	return lost;
}

function countOccurrences(text: string, secret: string): number {
	if (!secret) return 0;
	let n = 0;
	for (let at = text.indexOf(secret); at !== -1; at = text.indexOf(secret, at + secret.length)) n++;
	return n;
}

/** Every count at zero: what a campaign starts from, and what a run must end with. */
export function noViolations(): Violations {
	return {
		lostRows: 0,
		duplicateTasks: 0,
		duplicateInitiations: 0,
		duplicateRealtime: 0,
		repeatedUploads: 0,
		duplicateStarts: 0,
		orphanUploads: 0,
		hung: 0,
		leakedSecrets: 0,
		unclearErrors: 0,
	};
}

export function judge(outcome: CampaignOutcome): CampaignVerdict {
	const { ledger } = outcome;
	const notes: string[] = [];
	const v = noViolations();

	// One Batch execution per campaign: one task at most.
	if (ledger.tasks.length > 1) {
		v.duplicateTasks += ledger.tasks.length - 1;
		notes.push(`${ledger.tasks.length} Whilter tasks created for one execution`);
	}
	// Every row sent is in the ZIP Whilter received, and the task's row-count is the ZIP's row count.
	for (const task of ledger.tasks) {
		const zip = ledger.zipRows.get(task.id) ?? [];
		const lost = missing(outcome.sent, zip);
		if (lost) notes.push(`${lost} sent rows not in the ZIP of ${task.id}`);
		const declared = Number(task.body['row-count']);
		if (declared !== zip.length) notes.push(`row-count ${declared} but the ZIP of ${task.id} holds ${zip.length} rows`);
		v.lostRows += lost + Math.abs(declared - zip.length);
	}
	// Every result row reaches the workflow output when the Status node completed.
	if (outcome.statusCompleted) {
		const lost = missing(outcome.sent, outcome.output);
		if (lost) notes.push(`${lost} rows missing from Whilter Status's output`);
		const extra = outcome.output.length - outcome.sent.length;
		if (extra > 0) notes.push(`${extra} rows more in Whilter Status's output than were sent`);
		v.lostRows += lost + Math.max(0, extra);
	}
	// One initiation per execution ("Once per Execution").
	if (ledger.initiations.length > 1) {
		v.duplicateInitiations += ledger.initiations.length - 1;
		notes.push(`${ledger.initiations.length} TimePay initiations for one execution`);
	}
	// One real-time request per client-request-id.
	const byCrid = new Map<string, number>();
	for (const request of ledger.realtime) {
		const crid = String(request.body['client-request-id']);
		byCrid.set(crid, (byCrid.get(crid) ?? 0) + 1);
	}
	for (const [crid, n] of byCrid) {
		if (n > 1) {
			v.duplicateRealtime += n - 1;
			notes.push(`${n} real-time requests for client-request-id ${crid}`);
		}
	}
	// One media item goes to Insider: a second stored media is an upload repeated after the first was stored.
	if (ledger.insiderMedia > 1) {
		v.repeatedUploads += ledger.insiderMedia - 1;
		notes.push(`${ledger.insiderMedia} Insider media stored for one upload`);
	}
	// A task's completion starts the Trigger's workflow once, with every row.
	const starts = new Map<string, number>();
	for (const delivery of outcome.triggerDeliveries) {
		if (!delivery.started) continue;
		starts.set(delivery.taskId, (starts.get(delivery.taskId) ?? 0) + 1);
		const lost = missing(outcome.sent, delivery.rows);
		if (lost) notes.push(`${lost} rows missing from the Trigger's output for ${delivery.taskId}`);
		v.lostRows += lost;
	}
	for (const [taskId, n] of starts) {
		if (n > 1) {
			v.duplicateStarts += n - 1;
			notes.push(`the Trigger started ${n} workflows for ${taskId}`);
		}
	}
	// Every multipart upload the client knew of ends completed or aborted. One whose create answer never
	// reached the client (the store acted, the connection dropped) has an id the client never learnt:
	// only the bucket's lifecycle rule ends it. Those are counted apart.
	const open = ledger.multipart.filter((m) => m.state === 'open' && m.idSent);
	if (open.length) {
		v.orphanUploads += open.length;
		notes.push(`multipart upload(s) left open: ${open.map((m) => m.key).join(', ')}`);
	}
	const errors: string[] = [];
	for (const execution of outcome.executions) {
		if (execution.hung) {
			v.hung++;
			notes.push(`${execution.name} hung (${execution.realMs} ms real, ${execution.virtualMs} ms virtual)`);
		}
		if (!execution.error) continue;
		const text = `${execution.name}: ${execution.error.message}${execution.error.description ? ` — ${execution.error.description}` : ''}`;
		errors.push(text);
		if (!execution.hung && !isClearError(execution.error.message)) {
			v.unclearErrors++;
			notes.push(`unclear error: ${text}`);
		}
	}
	for (const delivery of outcome.triggerDeliveries) {
		if (!delivery.started && delivery.error && delivery.status >= 300) errors.push(`trigger (HTTP ${delivery.status}): ${delivery.error}`);
	}
	// No secret in any output, error or log line.
	const texts = [...outcome.executions.map((e) => e.text), ...errors, ...outcome.triggerDeliveries.map((d) => d.error ?? ''), outcome.logText];
	for (const secret of new Set(outcome.secrets)) {
		const n = texts.reduce((sum, text) => sum + countOccurrences(text, secret), 0);
		if (n) {
			v.leakedSecrets += n;
			notes.push(`a secret (${secret.slice(0, 4)}…) appears ${n} time(s) in outputs, errors or logs`);
		}
	}
	const unheardUploads = ledger.multipart.filter((m) => m.state === 'open' && !m.idSent).length;
	return { violations: v, unheardUploads, notes, errors, failedWithClearError: errors.length > 0 && v.unclearErrors === 0 };
}
