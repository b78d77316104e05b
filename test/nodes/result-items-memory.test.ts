/**
 * Get Results as items can hand n8n a million rows, which n8n keeps for the rest of the execution:
 * what one item costs on the live heap is measured here (a full collection before and after the
 * run), through n8n-core with the results file in S3. Every cell is one character, which V8 does not
 * allocate, so the figure is the item's own objects plus n8n's references to it.
 */
import { liveHeap, oneCharacterCsvLine } from '../harness/heap';
import { runChain } from '../harness/run';
import { DEFAULT_DROP, seedTaskAt, useWhilterWithS3 } from '../harness/whilter';

const bed = useWhilterWithS3();

const COLUMNS = ['phone', 'name', 'city', 'note', 'media-url', 'error'];

async function completedTaskWithRows(rows: number): Promise<string> {
	const id = await seedTaskAt(bed.whilter, 2, { rows: 1, campaign: `memory-${rows}` });
	const key = `${DEFAULT_DROP.prefix}/output/memory-${id}.csv`;
	const line = oneCharacterCsvLine(COLUMNS);
	await bed.s3.putObject(DEFAULT_DROP.bucket, key, `${COLUMNS.join(',')}\r\n${line.repeat(rows)}`);
	bed.whilter.tasks.get(id)!.outputKey = key;
	return id;
}

async function getResults(taskId: string) {
	return await runChain({
		items: [{ json: {} }],
		nodes: [{ name: 'Status', type: 'whilterStatus', parameters: { taskId, operation: 'getResults' }, credentials: { whilterApi: bed.credential } }],
		credentials: bed.store,
	});
}

it('makes each result row one item and one row object, the pairing and every column in place', async () => {
	const count = 100_000;
	const small = await completedTaskWithRows(10);
	const large = await completedTaskWithRows(count);
	// Warm-up: n8n-core, the node and the row's shape exist before the baseline.
	expect((await getResults(small)).error).toBeUndefined();
	const before = liveHeap();
	const result = await getResults(large);
	const perItem = (liveHeap() - before) / count;
	expect(result.error).toBeUndefined();
	const items = result.output('Status');
	expect(items).toHaveLength(count);
	expect(items[count - 1]).toEqual({ json: { phone: 'a', name: 'b', city: 'c', note: 'd', 'media-url': 'e', error: 'f' }, pairedItem: { item: 0 } });
	// The item {json, pairedItem} in one object is 24 + 2×8 bytes on 64-bit V8, the row 24 + 6×8;
	// n8n holds each item in a few arrays (8 bytes a reference). An item made as { json } and given its
	// pairing afterwards takes 24 + 8 + 16 + 3×8 bytes, and a row built up from {} keeps two of its
	// columns in a second allocation (+24): about 64 bytes more an item in all.
	expect(perItem).toBeLessThan(150);
});
