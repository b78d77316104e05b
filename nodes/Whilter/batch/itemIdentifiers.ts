/**
 * The identifiers of the items planned so far, for finding duplicates among a node's input items
 * without keeping a string per item: an open-addressing table, sized once for the number of items
 * (never grown, so never rehashed in the middle of a pass), whose slots hold an item index + 1
 * (Uint32Array) and 16 bits of the identifier's hash (Uint16Array). Equal tags are settled by
 * comparing the identifiers themselves, read back from the earlier item, so the answer is exact, and
 * a duplicate names the earlier item at no extra cost; with 16 bits a slot whose tag matches by
 * chance costs such a read one time in 65,536.
 *
 * Memory: 6 bytes a slot, 1/0.7 slots an item (not rounded up to a power of two: the slot is chosen
 * by multiplying the hash, not by masking it): 8.6 MB for a million items, where a power-of-two
 * table of hashes and indexes held 16.8 MB, and a Set of a million identifier strings about 50 MB.
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
	/** Item index + 1 (0: an empty slot). */
	private readonly items: Uint32Array;
	/** The hash's low 16 bits; its high bits chose the slot. */
	private readonly tags: Uint16Array;
	private readonly slots: number;

	/**
	 * @param capacity the most identifiers that will be added (the item count)
	 * @param identifierOf the identifier of an item added earlier, to compare with on equal tags
	 */
	constructor(
		capacity: number,
		private readonly identifierOf: (itemIndex: number) => string,
	) {
		this.slots = Math.max(16, Math.ceil(capacity / MAX_LOAD));
		this.items = new Uint32Array(this.slots);
		this.tags = new Uint16Array(this.slots);
	}

	/** Bytes the table holds. */
	get bytes(): number {
		return this.items.byteLength + this.tags.byteLength;
	}

	/** Adds item `itemIndex` with identifier `id`; returns the earlier item with the same identifier, or -1 when there is none. */
	addOrFind(id: string, itemIndex: number): number {
		const hash = hashText(id);
		const tag = hash & 0xffff;
		const items = this.items;
		const tags = this.tags;
		// The hash's place in [0, 2^32) scaled to the table (a double: below `slots` for every 32-bit hash).
		let slot = Math.floor((hash / 4294967296) * this.slots);
		for (;;) {
			const stored = items[slot];
			if (stored === 0) {
				items[slot] = itemIndex + 1;
				tags[slot] = tag;
				return -1;
			}
			if (tags[slot] === tag && this.identifierOf(stored - 1) === id) return stored - 1;
			if (++slot === this.slots) slot = 0;
		}
	}
}
