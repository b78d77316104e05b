/**
 * The identifiers of the items planned so far, for finding duplicates among a node's input items
 * without keeping a string per item: an open-addressing table of (32-bit hash, item index + 1) pairs
 * in one Uint32Array, sized once for the number of items (never grown, so never rehashed in the
 * middle of a pass). Equal hashes are settled by comparing the identifiers themselves, read back from
 * the earlier item, so the answer is exact, and a duplicate names the earlier item at no extra cost.
 *
 * Memory: 8 bytes a slot, the slots the power of two at or above 1/0.7 of the item count: 16 MiB for
 * a million items, where a Set of a million identifier strings held about three times that and grew
 * by doubling (each doubling a pause and a discarded table).
 */

const MAX_LOAD = 0.7;
const imul = Math.imul;

/** FNV-1a over the UTF-16 code units, with MurmurHash3's finaliser so that near-equal texts spread. */
function hashText(text: string): number {
	let h = 0x811c9dc5;
	for (let i = 0; i < text.length; i++) h = imul(h ^ text.charCodeAt(i), 0x01000193);
	h ^= h >>> 16;
	h = imul(h, 0x85ebca6b);
	h ^= h >>> 13;
	h = imul(h, 0xc2b2ae35);
	h ^= h >>> 16;
	return h >>> 0;
}

export class ItemIdentifiers {
	private readonly pairs: Uint32Array;
	private readonly mask: number;

	/**
	 * @param capacity the most identifiers that will be added (the item count)
	 * @param identifierOf the identifier of an item added earlier, to compare with on equal hashes
	 */
	constructor(
		capacity: number,
		private readonly identifierOf: (itemIndex: number) => string,
	) {
		let slots = 16;
		while (slots * MAX_LOAD < capacity) slots *= 2;
		this.pairs = new Uint32Array(slots * 2);
		this.mask = slots - 1;
	}

	/** Bytes the table holds. */
	get bytes(): number {
		return this.pairs.byteLength;
	}

	/** Adds item `itemIndex` with identifier `id`; returns the earlier item with the same identifier, or -1 when there is none. */
	addOrFind(id: string, itemIndex: number): number {
		const hash = hashText(id);
		const pairs = this.pairs;
		for (let slot = hash & this.mask; ; slot = (slot + 1) & this.mask) {
			const stored = pairs[slot * 2 + 1];
			if (stored === 0) {
				pairs[slot * 2] = hash;
				pairs[slot * 2 + 1] = itemIndex + 1;
				return -1;
			}
			if (pairs[slot * 2] === hash && this.identifierOf(stored - 1) === id) return stored - 1;
		}
	}
}
