/**
 * The live heap, for tests that measure what objects cost: two full collections first, so that only
 * what is still referenced is counted. V8's gc() is exposed at run time, as Jest's workers start
 * without --expose-gc.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/** Bytes of the V8 heap in use after full collections. */
export function liveHeap(): number {
	collect();
	collect();
	return process.memoryUsage().heapUsed;
}

/**
 * A CSV line of one-character cells (a, b, c…), one a column. V8 keeps every one-character string
 * once for the whole process, so rows parsed from such lines cost only their own objects.
 */
export function oneCharacterCsvLine(columns: readonly string[]): string {
	return `${columns.map((_, c) => String.fromCharCode(97 + c)).join(',')}\r\n`;
}
