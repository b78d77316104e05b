/**
 * `npm run bench` (batch part): rows → CSV → ZIP → S3 → task, timed and measured, for item rows and
 * for rows of a CSV file, against the contract server and the S3 server (a process of their own) on
 * loopback. Figures are printed, never asserted.
 *
 * Cases, each in a fresh child process so a peak RSS is that case's alone:
 * - floor: CSV escaping plus zlib deflateRaw (level 6) of the same rows in one process, no n8n;
 * - items: the rows as n8n items through Whilter Batch (n8n-core's WorkflowExecute, as in n8n);
 * - noop: the same items through a node that returns one item and does nothing else: what n8n
 *   itself costs for giving a node that many items, as far as a node that allocates nothing sees it;
 * - churn: the no-op, but it first makes and drops about 200 MB of short-lived objects, as any node
 *   that reads its items does. n8n's copy of the items (each with its pairing lineage) is still young
 *   when the node starts, so the first collections inside any such node see it all survive and V8
 *   grows the young generation: a cost of the input that the plain no-op never triggers (about
 *   60 MB for a million items). The node's own memory, in the last line, is items minus churn, so
 *   that n8n's cost of handing over the input is left out of it; items minus noop is printed too;
 * - file: a CSV file on disk through n8n's binary storage into Whilter Batch;
 * - touch: 64 MiB the process never had, written once: what a page fault costs on this machine.
 * Each case is a new process, so its first collections copy objects into memory it has never
 * touched, one page fault per 4 KiB. Items and churn therefore run twice more in the same process
 * after the measured run (fresh items each time), as a long-running n8n runs a node again; those
 * runs' blocks and page faults are printed apart, and the last line keeps the measured run's.
 * Every case runs BENCH_RUNS times (3; 1 with --quick), the cases of one size one after another in
 * each round (floor, items, noop, floor, file…), so a busy minute of the machine hits a node case and
 * its floor alike. A ratio is node / floor of the same round; every figure printed is the median of
 * the rounds with their min–max.
 *
 * Event-loop blocking is sampled by a 1 ms timer (bench/lib/loopLag.ts) and reported for the node's
 * own execution (n8n's startTime + executionTime of the node) and, separately, for the whole run.
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDeflateRaw } from 'node:zlib';

import type { IDataObject, INodeType } from 'n8n-workflow';

import { epochNow, mb, measureRun, recordCodeWindow, settle } from './lib/measure';
import type { RunFigures } from './lib/measure';
import { runCaseProcess, startServerProcess } from './lib/processes';
import { median, quickMode, runCount, spread } from './lib/stats';
import { benchWhilterCredential } from './servers';
import type { BenchServerAddresses } from './servers';

const COLUMNS = ['phone', 'name', 'city', 'segment', 'offer', 'amount'];

export function makeRow(i: number): IDataObject {
	return {
		phone: `+91${9_000_000_000 + i}`,
		name: `Customer ${i}`,
		city: `City ${i % 500}`,
		segment: `seg-${i % 7}`,
		offer: `offer ${i % 13}, limited`,
		amount: (i % 997) * 1.5,
	};
}

/**
 * makeRow's row as n8n hands it to a node: parsed from JSON. A Code node's items come back from its
 * task runner as JSON, and HTTP, webhook and database rows are parsed too, so their strings are flat.
 * makeRow's own strings are made by concatenation, which V8 keeps as ropes (two-part strings of 13
 * characters or more); the first read of a rope (trim, a regex, writing it as bytes) flattens it in
 * place, and the flat copy then lives as long as the item: about 100 MB for a million such rows,
 * a cost of the items, not of the node that happens to read them first (the no-op reads none).
 */
export function makeItemRow(i: number): IDataObject {
	return JSON.parse(JSON.stringify(makeRow(i))) as IDataObject;
}

function csvLine(row: IDataObject): string {
	return (
		COLUMNS.map((c) => {
			const text = String(row[c] ?? '');
			return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
		}).join(',') + '\r\n'
	);
}

type Kind = 'floor' | 'items' | 'noop' | 'churn' | 'file' | 'idle';

interface Measured extends RunFigures {
	kind: Kind;
	rows: number;
	csvMb?: number;
	/** Items and churn: the same case run again in the same process, as a long-running n8n runs a node again. */
	warm?: RunFigures[];
}

/** How long the idle case waits. */
const IDLE_MS = 3000;

/** Runs of an items or churn case after the measured one, in the same process. */
const WARM_RUNS = 2;

/** How much fresh memory the touch probe writes. */
const TOUCH_BYTES = 64 * 1024 * 1024;

/** The first write of fresh memory in a new process: how long it took, and the page faults it made. */
interface Touch {
	ms: number;
	faults: number;
}

/**
 * Writes TOUCH_BYTES the process never had. The kernel maps each 4 KiB page at its first write (a
 * minor page fault); what that costs is the machine's, and every collection that copies objects into
 * memory the process has not used yet pays it.
 */
function touchFreshMemory(): Touch {
	const before = process.resourceUsage().minorPageFault;
	const started = performance.now();
	Buffer.allocUnsafeSlow(TOUCH_BYTES).fill(1);
	return { ms: Math.round((performance.now() - started) * 10) / 10, faults: process.resourceUsage().minorPageFault - before };
}

const microsecondsPerFault = (t: Touch) => (t.ms * 1000) / Math.max(1, t.faults);

interface Reported {
	/** n8n's own timing of the node: leaves out the workflow's setup and the input's making. */
	node?: { startTime: number; executionTime: number };
	/**
	 * When the node's own code ran (epoch ms, entry of execute() to its return). n8n's startTime is
	 * taken before n8n's own preparation of the input (about 0.4 s for a million items, the no-op's
	 * whole "execution"), so the node's blocks are read from this window.
	 */
	code?: { from: number; to: number };
	csvBytes?: number;
}

/** Measures `work` (bench/lib/measure.ts): the node's blocks from its own code window, else n8n's timing of it. */
async function measure(kind: Kind, rows: number, work: () => Promise<Reported>): Promise<Measured> {
	let csvBytes: number | undefined;
	const figures = await measureRun(async () => {
		const { node, code, ...reported } = await work();
		csvBytes = reported.csvBytes;
		return {
			window: code ?? (node ? { from: node.startTime, to: node.startTime + node.executionTime } : undefined),
			wallMs: node?.executionTime,
		};
	});
	return { kind, rows, ...figures, ...(csvBytes ? { csvMb: mb(csvBytes) } : {}) };
}

async function floor(rows: number): Promise<Measured> {
	settle();
	return await measure('floor', rows, async () => {
		let bytes = 0;
		const source = Readable.from(
			(function* () {
				const batch = 2000;
				for (let i = 0; i < rows; i += batch) {
					let text = '';
					for (let j = i; j < Math.min(rows, i + batch); j++) text += csvLine(makeRow(j));
					const buffer = Buffer.from(text);
					bytes += buffer.length;
					yield buffer;
				}
			})(),
		);
		const sink = new Writable({ write: (_c: Buffer, _e: string, cb: () => void) => cb() });
		await pipeline(source, createDeflateRaw({ level: 6 }), sink);
		return { csvBytes: bytes };
	});
}

/** Makes and drops short-lived objects in turns, like a node reading its items, and keeps none. */
async function churn(megabytes: number): Promise<number> {
	let kept = 0;
	for (let made = 0; made < megabytes * 1024 * 1024; ) {
		await new Promise<void>((resolve) => setImmediate(resolve));
		for (let i = 0; i < 20_000; i++, made += 64) kept += [String(i), i].length;
	}
	return kept;
}

async function nodeCase(kind: 'items' | 'noop' | 'churn' | 'file', rows: number, csvPath: string | undefined): Promise<Measured> {
	// Loaded here so the floor runs without n8n-core in memory; the servers run in a process of their own.
	const { CredentialStore, packageNodeTypes, probeNode, runChain, shutdownN8nCore } = await import('../test/harness/run');
	let code: Reported['code'];
	// The node's own code window: n8n calls execute() after preparing the input, and is done when it returns.
	recordCodeWindow(packageNodeTypes.whilterBatch as INodeType, (window) => (code = window));
	const servers = await startServers();
	const store = new CredentialStore();
	const credential = store.add('whilterApi', benchWhilterCredential(servers.addresses));
	const inputSource = kind === 'file' ? 'file' : 'items';
	const node = {
		name: 'Batch',
		type: 'whilterBatch',
		parameters: { inputSource, identifierColumn: 'phone', templateId: 'T-1', campaignId: `bench-${kind}-${rows}`, binaryPropertyName: 'data' },
		credentials: { whilterApi: credential },
	};
	// The baseline: takes every item, returns one, does nothing else (n8n pairs it as it pairs any such node).
	const noop = probeNode('Batch', async () => {
		const from = epochNow();
		await Promise.resolve();
		code = { from, to: epochNow() };
		return [{ json: { done: true } }];
	});
	const churning = probeNode('Batch', async () => {
		const from = epochNow();
		const made = await churn(200);
		code = { from, to: epochNow() };
		return [{ json: { done: made > 0 } }];
	});
	const timing = (run: Awaited<ReturnType<typeof runChain>>): Reported['node'] => {
		const task = run.run.data.resultData.runData.Batch[0];
		return { startTime: task.startTime, executionTime: task.executionTime };
	};
	try {
		// Warm the engine and the servers so the RSS before includes them.
		const warm = await runChain({ items: [{ json: makeRow(0) }], nodes: [{ ...node, parameters: { ...node.parameters, inputSource: 'items', campaignId: 'warm-up' } }], credentials: store });
		if (warm.error) throw warm.error;
		if (kind === 'file') {
			// The file path's own code (n8n's binary storage, the CSV reader) runs once before it is measured, as in an n8n that has run a file before.
			const warmPath = `${csvPath!}.warm-up.csv`;
			writeFileSync(warmPath, `phone,name\n${Array.from({ length: 1000 }, (_, i) => `+91${i},Customer ${i}`).join('\n')}\n`);
			const warmFile = await runChain({
				items: [{ json: {} }],
				files: [{ property: 'data', path: warmPath, fileName: 'warm-up.csv', mimeType: 'text/csv' }],
				nodes: [{ ...node, parameters: { ...node.parameters, campaignId: 'warm-up-file' } }],
				credentials: store,
			});
			rmSync(warmPath, { force: true });
			if (warmFile.error) throw warmFile.error;
		}
		const warmNoop = await runChain({ items: [{ json: makeRow(0) }], nodes: [noop], credentials: store });
		if (warmNoop.error) throw warmNoop.error;
		if (kind === 'file') {
			settle();
			return await measure('file', rows, async () => {
				const run = await runChain({
					items: [{ json: {} }],
					files: [{ property: 'data', path: csvPath!, fileName: 'rows.csv', mimeType: 'text/csv' }],
					nodes: [node],
					credentials: store,
				});
				if (run.error) throw run.error;
				return { node: timing(run), code, csvBytes: statSync(csvPath!).size };
			});
		}
		const measuredRun = async (again = 0) => {
			const items = Array.from({ length: rows }, (_, i) => ({ json: process.env.BENCH_ROPE_ROWS === '1' ? makeRow(i) : makeItemRow(i) }));
			// A campaign of its own each run: the node never replaces a batch file already in the drop.
			const batch = again ? { ...node, parameters: { ...node.parameters, campaignId: `${node.parameters.campaignId}-again-${again}` } } : node;
			settle();
			return await measure(kind, rows, async () => {
				const run = await runChain({ items, nodes: [kind === 'noop' ? noop : kind === 'churn' ? churning : batch], credentials: store });
				if (run.error) throw run.error;
				return { node: timing(run), code };
			});
		};
		const first = await measuredRun();
		if (kind === 'items' || kind === 'churn') {
			// Fresh items each time, as the node before makes them in every execution; the process, its
			// heap and the memory it has touched stay.
			first.warm = [];
			for (let again = 1; again <= WARM_RUNS; again++) first.warm.push(await measuredRun(again));
		}
		return first;
	} finally {
		await servers.stop();
		await shutdownN8nCore();
	}
}

async function startServers(): Promise<{ addresses: BenchServerAddresses; stop: () => Promise<void> }> {
	const { line, stop } = await startServerProcess(join(__dirname, 'servers.ts'));
	return { addresses: JSON.parse(line) as BenchServerAddresses, stop };
}

export function label(rows: number): string {
	return rows >= 1_000_000 ? `${rows / 1_000_000}M` : `${rows / 1000}k`;
}

async function child(spec: string, csvPath: string | undefined): Promise<void> {
	const [kind, rowsText] = spec.split(':') as [Kind | 'touch', string];
	const rows = Number(rowsText);
	if (kind === 'touch') return void process.stdout.write(`RESULT ${JSON.stringify(touchFreshMemory())}\n`);
	const result =
		kind === 'idle'
			? await measure('idle', 0, async () => await new Promise<Reported>((resolve) => setTimeout(() => resolve({}), IDLE_MS)))
			: kind === 'floor'
				? await floor(rows)
				: await nodeCase(kind, rows, csvPath);
	process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

function runChild(spec: string, csvPath?: string): Measured {
	return runCaseProcess<Measured>(__filename, ['--case', spec, ...(csvPath ? ['--csv', csvPath] : [])], spec);
}

/** The figures of one round, by case ("items:1000000"). */
type Round = Map<string, Measured>;

export interface BatchBenchResult {
	/** `batch-1M items: …; file-10M: …` (or the quick mode's sizes). */
	line: string;
	itemsRows: number;
	fileRows: number;
}

function sizes(): { items: number[]; files: number[] } {
	const list = (name: string, fallback: number[]) =>
		process.env[name] ? process.env[name].split(',').map(Number).filter((n) => n > 0) : fallback;
	return quickMode()
		? { items: list('BENCH_ITEMS_ROWS', [100_000]), files: list('BENCH_FILE_ROWS', [1_000_000]) }
		: { items: list('BENCH_ITEMS_ROWS', [100_000, 1_000_000]), files: list('BENCH_FILE_ROWS', [1_000_000, 10_000_000]) };
}

/** The CSV file of a file case, written once for every round by a process of its own (its memory is not the node's). */
function writeCsvOnce(dir: string, rows: number): string {
	const path = join(dir, `rows-${rows}.csv`);
	execFileSync(process.execPath, ['--import', 'tsx', __filename, '--write-csv', path, String(rows)], { stdio: 'inherit' });
	return path;
}

const header =
	'case          rows  runs   wall ms                 peak RSS MB            over before MB       node max block ms   node p99 ms   run max block ms   ratio to floor';

/** A run's block figures for its line in the output. */
function blockFigures(m: RunFigures): string {
	const collections = m.inputCollections
		? ` input_collections_ms=${m.inputCollections.durationsMs.map((ms, i) => `${ms}@+${m.inputCollections!.atMs[i]}(${m.inputCollections!.faults[i] ?? '?'} faults)`).join(',')} max_block_after_them_ms=${m.inputCollections.maxBlockAfterMs}`
		: '';
	return `max_block_ms=${m.maxBlockMs} p99_ms=${m.p99BlockMs} run_max_block_ms=${m.runMaxBlockMs} longest=${m.longest.join(',')} page_faults=${m.faults.window} longest_block_faults=${m.faults.longestBlock ?? '?'}${collections}`;
}

function row(kind: Kind, rows: number, runs: Measured[], ratios: number[]): string {
	const pick = (f: (m: Measured) => number, digits = 1) => spread(runs.map(f), digits);
	return [
		kind.padEnd(6),
		String(rows).padStart(10),
		String(runs.length).padStart(5),
		pick((m) => m.wallMs, 0).padEnd(22),
		pick((m) => m.peakRssMb).padEnd(22),
		pick((m) => m.peakRssMb - m.beforeRssMb).padEnd(20),
		pick((m) => m.maxBlockMs).padEnd(19),
		pick((m) => m.p99BlockMs).padEnd(13),
		pick((m) => m.runMaxBlockMs).padEnd(18),
		ratios.length ? spread(ratios, 2) : '-',
	].join(' ');
}

export function runBatchBench(): BatchBenchResult {
	const runs = runCount();
	const { items, files } = sizes();
	const dir = mkdtempSync(join(tmpdir(), 'whilter-bench-'));
	const rounds: Round[] = [];
	const touches: Touch[] = [];
	process.stdout.write(
		`\nWhilter Batch: rows → CSV → ZIP → S3 → task; ${runs} round(s), each case in a fresh process; median (min–max) of the rounds\n`,
	);
	try {
		const csv = new Map(files.map((rows) => [rows, writeCsvOnce(dir, rows)]));
		for (let round = 1; round <= runs; round++) {
			const figures: Round = new Map();
			const run = (kind: Kind, rows: number) => {
				const m = runChild(`${kind}:${rows}`, kind === 'file' ? csv.get(rows) : undefined);
				figures.set(`${kind}:${rows}`, m);
				process.stdout.write(
					`  round ${round} ${kind} ${label(rows)}: wall_ms=${m.wallMs} peak_rss_mb=${m.peakRssMb} over_before_mb=${(m.peakRssMb - m.beforeRssMb).toFixed(1)} ${blockFigures(m)}\n`,
				);
				m.warm?.forEach((w, i) => process.stdout.write(`    same process, run ${i + 2}: wall_ms=${w.wallMs} ${blockFigures(w)}\n`));
			};
			// The machine's own noise: a process that only waits still sees its timer late when the
			// cores are shared; a node's block figure means little below this one.
			run('idle', 0);
			// And what a page of fresh memory costs it, which the first collections of a process pay.
			const touch = runCaseProcess<Touch>(__filename, ['--case', 'touch:0'], 'touch');
			touches.push(touch);
			process.stdout.write(
				`  round ${round} touch: ${TOUCH_BYTES / 1024 / 1024} MiB written for the first time in ${touch.ms} ms, ${touch.faults} page faults, ${microsecondsPerFault(touch).toFixed(1)} µs each\n`,
			);
			const all = [...new Set([...items, ...files])].sort((a, b) => a - b);
			for (const rows of all) {
				run('floor', rows);
				if (items.includes(rows)) {
					run('items', rows);
					run('noop', rows);
					run('churn', rows);
				}
				if (files.includes(rows)) run('file', rows);
			}
			rounds.push(figures);
		}
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}

	const of = (kind: Kind, rows: number) => rounds.map((r) => r.get(`${kind}:${rows}`)).filter((m): m is Measured => m !== undefined);
	const ratios = (kind: Kind, rows: number) =>
		rounds.flatMap((r) => {
			const node = r.get(`${kind}:${rows}`);
			const base = r.get(`floor:${rows}`);
			return node && base ? [node.wallMs / base.wallMs] : [];
		});
	/** Peak above the RSS before the run, node minus a baseline, round by round. */
	const overNoop = (rows: number, baseline: Kind = 'noop') =>
		rounds.flatMap((r) => {
			const node = r.get(`items:${rows}`);
			const noop = r.get(`${baseline}:${rows}`);
			return node && noop ? [node.peakRssMb - node.beforeRssMb - (noop.peakRssMb - noop.beforeRssMb)] : [];
		});
	process.stdout.write(`\n${header}\n`);
	for (const rows of [...new Set([...items, ...files])].sort((a, b) => a - b)) {
		for (const kind of ['floor', 'items', 'noop', 'churn', 'file'] as const) {
			const runsOf = of(kind, rows);
			if (runsOf.length) process.stdout.write(`${row(kind, rows, runsOf, kind === 'items' || kind === 'file' ? ratios(kind, rows) : [])}\n`);
		}
	}
	for (const rows of items) {
		process.stdout.write(
			`items ${label(rows)}: node's peak above the churning no-op's (MB, the last line's node_over_noop_mb): ${spread(overNoop(rows, 'churn'))}; above the plain no-op's: ${spread(overNoop(rows))}; the churning no-op above the plain no-op: ${spread(rounds.flatMap((r) => {
				const c = r.get(`churn:${rows}`);
				const n = r.get(`noop:${rows}`);
				return c && n ? [c.peakRssMb - c.beforeRssMb - (n.peakRssMb - n.beforeRssMb)] : [];
			}))}\n`,
		);
	}
	// The acceptance's block figure stays the whole window's; this shows what the node's own work
	// blocks once n8n's young input objects have been copied and promoted, and what the same two
	// collections cost the churning no-op.
	/** The i-th input collection's duration or page faults, over the runs that have one, as median (min–max). */
	const nth = (list: RunFigures[], i: number, field: 'durationsMs' | 'faults' = 'durationsMs') =>
		spread(
			list.flatMap((m) => {
				const value = m.inputCollections?.[field][i];
				return value == null ? [] : [value];
			}),
			field === 'faults' ? 0 : 1,
		);
	for (const rows of items) {
		const node = of('items', rows);
		const churning = of('churn', rows).filter((m) => m.inputCollections);
		const collections = node.flatMap((m) => (m.inputCollections ? [m.inputCollections] : []));
		if (!collections.length) continue;
		process.stdout.write(
			`items ${label(rows)}: the node's first two young-generation collections (n8n's input copied, then promoted): ${nth(node, 0)} ms and ${nth(node, 1)} ms, the first ${spread(collections.map((c) => c.atMs[0]), 0)} ms into the node; the node's max block after them: ${spread(collections.map((c) => c.maxBlockAfterMs))} ms (p99 ${spread(collections.map((c) => c.p99BlockAfterMs))}); the churning no-op's two: ${churning.length ? `${nth(churning, 0)} ms and ${nth(churning, 1)} ms` : '-'}\n`,
		);
	}
	const idle = of('idle', 0);
	if (idle.length) {
		process.stdout.write(
			`event-loop noise floor (a process waiting ${IDLE_MS / 1000} s, no work): max_block_ms=${spread(idle.map((m) => m.maxBlockMs))} p99_ms=${spread(idle.map((m) => m.p99BlockMs))}\n`,
		);
	}
	if (touches.length) {
		process.stdout.write(
			`fresh memory (${TOUCH_BYTES / 1024 / 1024} MiB written once in a new process): ${spread(touches.map((t) => t.ms))} ms, ${spread(touches.map(microsecondsPerFault))} µs per 4 KiB page fault\n`,
		);
	}
	// Where the items' blocks come from: the page faults inside the input collections' blocks and the
	// longest block (a fault costs about what the touch probe found, less when V8's collector threads
	// fault at once), in the measured run and in the runs after it in the same process.
	for (const rows of items) {
		for (const kind of ['items', 'churn'] as const) {
			const runsOf = of(kind, rows);
			if (!runsOf.some((m) => m.inputCollections)) continue;
			const faultsOf = (list: RunFigures[], i: number) => nth(list, i, 'faults');
			const warm = runsOf.flatMap((m) => m.warm ?? []);
			process.stdout.write(
				`${kind} ${label(rows)} page faults: in the blocks of the first two collections (${nth(runsOf, 0)} ms and ${nth(runsOf, 1)} ms) ${faultsOf(runsOf, 0)} and ${faultsOf(runsOf, 1)}, in the longest block ${spread(runsOf.flatMap((m) => (m.faults.longestBlock === null ? [] : [m.faults.longestBlock])), 0)}, in the whole node ${spread(runsOf.map((m) => m.faults.window), 0)}\n`,
			);
			if (warm.length) {
				process.stdout.write(
					`${kind} ${label(rows)} run again in the same process (${warm.length} runs; a long-running n8n, its memory touched before): max_block_ms=${spread(warm.map((m) => m.maxBlockMs))} p99_ms=${spread(warm.map((m) => m.p99BlockMs))} first two collections ${nth(warm, 0)} ms and ${nth(warm, 1)} ms with ${faultsOf(warm, 0)} and ${faultsOf(warm, 1)} page faults; max block after them ${spread(warm.flatMap((m) => (m.inputCollections ? [m.inputCollections.maxBlockAfterMs] : [])))} ms; page faults in the whole node ${spread(warm.map((m) => m.faults.window), 0)}\n`,
				);
			}
		}
	}

	const itemsRows = Math.max(...items);
	const fileRows = Math.max(...files);
	const itemRuns = of('items', itemsRows);
	const fileRuns = of('file', fileRows);
	const itemsPart = itemRuns.length
		? `ratio=${median(ratios('items', itemsRows)).toFixed(2)} node_over_noop_mb=${median(overNoop(itemsRows, 'churn')).toFixed(1)} max_block_ms=${median(itemRuns.map((m) => m.maxBlockMs)).toFixed(0)}`
		: 'not run';
	const filePart = fileRuns.length
		? `ratio=${median(ratios('file', fileRows)).toFixed(2)} peak_rss_mb=${median(fileRuns.map((m) => m.peakRssMb)).toFixed(1)} max_block_ms=${median(fileRuns.map((m) => m.maxBlockMs)).toFixed(0)}`
		: 'not run';
	return { line: `batch-${label(itemsRows)} items: ${itemsPart}; file-${label(fileRows)}: ${filePart}`, itemsRows, fileRows };
}

async function writeCsv(path: string, rows: number): Promise<void> {
	const out = createWriteStream(path);
	out.write(COLUMNS.join(',') + '\r\n');
	for (let i = 0; i < rows; i += 2000) {
		let text = '';
		for (let j = i; j < Math.min(rows, i + 2000); j++) text += csvLine(makeRow(j));
		if (!out.write(text)) await once(out, 'drain');
	}
	out.end();
	await once(out, 'finish');
}

if (process.argv.includes('--write-csv')) {
	const at = process.argv.indexOf('--write-csv');
	void writeCsv(process.argv[at + 1], Number(process.argv[at + 2]));
}

if (process.argv.includes('--case')) {
	const csvAt = process.argv.indexOf('--csv');
	child(process.argv[process.argv.indexOf('--case') + 1], csvAt >= 0 ? process.argv[csvAt + 1] : undefined).catch((error: unknown) => {
		process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
		process.exit(1);
	});
}
