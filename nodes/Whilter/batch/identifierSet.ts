/**
 * Identifiers as hashes, for finding duplicates in a CSV file: all of a file's while it streams, when
 * it can be read only once, or a sixty-fourth of them at a time when a scan ahead reads the file
 * first (repeatedRows.ts). Memory grows with the number of identifiers and nothing else: each is
 * kept as 54 bits of a 64-bit hash
 * (two 32-bit MurmurHash3-style values of its UTF-8 bytes) in open-addressing tables with linear
 * probing. The hashes are spread over 64 such tables by 6 of their bits (not stored), and a table is
 * doubled when it is 70% full: one table at a time, so a doubling holds 1/64 more memory for a moment
 * and takes a few milliseconds, not a pause of the whole set.
 *
 * Memory: 6 bytes a slot, 1/0.7 to 2/0.7 slots an identifier, so 8.6 to 17.1 bytes an identifier:
 * 12 MiB for 1 million identifiers, 96 MiB for 10 million (2^24 slots in all).
 *
 * A hash is not the identifier: two different identifiers share one with probability about
 * n²/2^55, 0.003 for n = 10 million identifiers. A caller that must be sure (to refuse a file)
 * checks a reported duplicate against the identifiers themselves.
 */

const MAX_LOAD = 0.7;
export const TABLES = 64;

// Bound once: where globals are looked up slowly (a vm context, such as Jest's test environment), a
// lookup of Math per multiplication made hashing thirty times slower.
const imul = Math.imul;

/**
 * Two 32-bit hashes of bytes[start…end) in one pass: MurmurHash3 (x86, 32-bit), and the same
 * construction with other multipliers and starting value, so the two are not one function twice.
 */
function hashPair(bytes: Uint8Array, start: number, end: number, out: Uint32Array): void {
	let a = 0x9747b28c;
	let b = 0x5bd1e995;
	const blocks = start + ((end - start) & ~3);
	let i = start;
	for (; i < blocks; i += 4) {
		const word = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
		let k = imul(word, 0xcc9e2d51);
		k = imul((k << 15) | (k >>> 17), 0x1b873593);
		a ^= k;
		a = (imul((a << 13) | (a >>> 19), 5) + 0xe6546b64) | 0;
		let j = imul(word, 0x85ebca77);
		j = imul((j << 13) | (j >>> 19), 0xc2b2ae3d);
		b ^= j;
		b = (imul((b << 17) | (b >>> 15), 5) + 0x27d4eb2f) | 0;
	}
	if (i < end) {
		let word = bytes[i];
		if (i + 1 < end) word |= bytes[i + 1] << 8;
		if (i + 2 < end) word |= bytes[i + 2] << 16;
		let k = imul(word, 0xcc9e2d51);
		a ^= imul((k << 15) | (k >>> 17), 0x1b873593);
		k = imul(word, 0x85ebca77);
		b ^= imul((k << 13) | (k >>> 19), 0xc2b2ae3d);
	}
	out[0] = finalMix(a ^ (end - start));
	out[1] = finalMix(b ^ (end - start));
}

/** MurmurHash3's finaliser: every input bit moves about half of the output bits. */
function finalMix(h: number): number {
	h ^= h >>> 16;
	h = imul(h, 0x85ebca6b);
	h ^= h >>> 13;
	h = imul(h, 0xc2b2ae35);
	h ^= h >>> 16;
	return h >>> 0;
}

/**
 * One open-addressing table of 48-bit entries: the hash's `high` word in one array, 16 bits of its
 * `low` word in another, (0, 0) marking an empty slot. The 6 bits of `low` that chose the table are
 * not stored: they are the same for every entry of a table.
 */
export class HashTable {
	highs: Uint32Array;
	lows: Uint16Array;
	mask: number;
	count = 0;

	/** `slots`: a power of two. */
	constructor(slots: number) {
		this.highs = new Uint32Array(slots);
		this.lows = new Uint16Array(slots);
		this.mask = slots - 1;
	}

	get bytes(): number {
		return this.highs.byteLength + this.lows.byteLength;
	}

	add(high: number, low: number): boolean {
		const highs = this.highs;
		const lows = this.lows;
		for (let slot = high & this.mask; ; slot = (slot + 1) & this.mask) {
			const h = highs[slot];
			const l = lows[slot];
			if (h === 0 && l === 0) {
				highs[slot] = high;
				lows[slot] = low;
				if (++this.count > (this.mask + 1) * MAX_LOAD) this.grow();
				return true;
			}
			if (h === high && l === low) return false;
		}
	}

	private grow(): void {
		const oldHighs = this.highs;
		const oldLows = this.lows;
		const slots = oldHighs.length * 2;
		const highs = new Uint32Array(slots);
		const lows = new Uint16Array(slots);
		const mask = slots - 1;
		for (let i = 0; i < oldHighs.length; i++) {
			const high = oldHighs[i];
			const low = oldLows[i];
			if (high === 0 && low === 0) continue;
			let slot = high & mask;
			while (highs[slot] !== 0 || lows[slot] !== 0) slot = (slot + 1) & mask;
			highs[slot] = high;
			lows[slot] = low;
		}
		this.highs = highs;
		this.lows = lows;
		this.mask = mask;
	}
}

/** Slots for a table that will hold `entries` (a power of two, at most MAX_LOAD full). */
export function slotsFor(entries: number): number {
	let slots = 64;
	while (slots * MAX_LOAD < entries) slots *= 2;
	return slots;
}

/**
 * An identifier's hash as the tables keep it: out[0] its table, out[1] the word that picks its slot,
 * out[2] the 16 more bits stored. The table by the top 6 bits of the second hash, the slot by the low
 * bits of the first, and 16 more bits of the second stored: 54 bits tell identifiers apart.
 */
export function tableEntryOf(bytes: Uint8Array, start: number, end: number, out: Uint32Array): void {
	hashPair(bytes, start, end, out);
	let high = out[0];
	const low = out[1];
	const stored = (low >>> 10) & 0xffff;
	// (0, 0) marks an empty slot.
	if (high === 0 && stored === 0) high = 1;
	out[0] = low >>> 26;
	out[1] = high;
	out[2] = stored;
}

export class IdentifierSet {
	private readonly tables = Array.from({ length: TABLES }, () => new HashTable(64));
	private readonly entry = new Uint32Array(3);
	private count = 0;

	get size(): number {
		return this.count;
	}

	/** Bytes the tables hold now. */
	get bytes(): number {
		return this.tables.reduce((sum, table) => sum + table.bytes, 0);
	}

	/** Adds the identifier bytes[start…end); false when its hash was there already (a duplicate, almost surely). */
	add(bytes: Uint8Array, start: number, end: number): boolean {
		const entry = this.entry;
		tableEntryOf(bytes, start, end, entry);
		const added = this.tables[entry[0]].add(entry[1], entry[2]);
		if (added) this.count++;
		return added;
	}
}
