import { IdentifierSet } from '../../nodes/Whilter/batch/identifierSet';

describe('IdentifierSet', () => {
	it('tells new identifiers from repeated ones among a million phone numbers, in 12 MiB', () => {
		const set = new IdentifierSet();
		const all = Buffer.from(Array.from({ length: 1_000_000 }, (_, i) => `+91${9_000_000_000 + i}`).join(''));
		const width = 13;
		let added = 0;
		for (let i = 0; i < 1_000_000; i++) if (set.add(all, i * width, (i + 1) * width)) added++;
		expect(added).toBe(1_000_000);
		expect(set.size).toBe(1_000_000);
		for (let i = 0; i < 1_000_000; i += 997) expect(set.add(Buffer.from(`+91${9_000_000_000 + i}`), 0, width)).toBe(false);
		expect(set.size).toBe(1_000_000);
		// 6 bytes a slot, at most 70% full: 2^21 slots for a million.
		expect(set.bytes).toBe(12 * 2 ** 20);
	});

	it('hashes the bytes of a range, wherever they are', () => {
		const set = new IdentifierSet();
		expect(set.add(Buffer.from('xx+911yy'), 2, 6)).toBe(true);
		expect(set.add(Buffer.from('+911'), 0, 4)).toBe(false);
		expect(set.add(Buffer.from('+9111'), 0, 5)).toBe(true);
		expect(set.add(Buffer.from('a'), 0, 0)).toBe(true);
		expect(set.add(Buffer.from('b'), 0, 0)).toBe(false);
		// Every length of tail (0 to 3 bytes past the last 4-byte block) counts.
		for (const text of ['abcd', 'abcde', 'abcdef', 'abcdefg', 'abcdefgh']) expect(set.add(Buffer.from(text), 0, text.length)).toBe(true);
	});
});
