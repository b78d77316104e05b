/**
 * A campaign's plan, drawn from the run's seed and the campaign's number alone: the same seed gives
 * the same campaigns, and one campaign can be replayed by its number (CHAOS_CAMPAIGN).
 */
import { hash32, unitFloat } from '../test/servers/http';
import type { StormKind } from '../test/servers/http';

export type CallbackPlan = 'once' | 'twice' | 'late' | 'out-of-order';

export interface CampaignPlan {
	/** The campaign's number in the run (0-based). */
	index: number;
	/** The run's seed. */
	seed: number;
	/** The seed of this campaign's storms: derived from the run's seed and the index. */
	stormSeed: number;
	/** Unique in the run; part of every name the campaign creates (Whilter campaign id, client-request-ids). */
	id: string;
	input: 'items' | 'file';
	rows: number;
	/** A ZIP past one 5 MiB part, so the S3 drop uploads it in parts (a share of the campaigns). */
	large: boolean;
	/** Share of each server's requests that get a fault. */
	rate: number;
	expiredTokenStatus: 401 | 403;
	/** Tokens stop working after this many uses (tokens expiring mid-run), or live their TTL. */
	tokenUses: number | undefined;
	/** Token lifetime in (virtual) seconds. */
	tokenTtlSeconds: number;
	callbacks: CallbackPlan;
	realtimeItems: number;
}

export const WHILTER_KINDS: readonly StormKind[] = ['429', '429-retry-after', '500', '502', '503', '503-retry-after', '504', 'reset', 'reset-after', 'slow', 'truncate'];
/** S3: no slow answers (the drop's idle timeout is 120 s of real time) and no truncated ones (an S3 answer cut short waits for that timeout too). */
export const S3_KINDS: readonly StormKind[] = ['429', '500', '502', '503', '503-retry-after', '504', 'reset', 'reset-after'];

/** A deterministic stream of numbers in [0, 1) for one campaign. */
export class Draw {
	private n = 0;

	constructor(private readonly key: number) {}

	next(): number {
		return unitFloat(hash32(`${this.key}:${this.n++}`));
	}

	int(min: number, max: number): number {
		return min + Math.floor(this.next() * (max - min + 1));
	}

	pick<T>(list: readonly T[]): T {
		return list[Math.floor(this.next() * list.length)];
	}
}

export function planCampaign(seed: number, index: number, options: { largeEvery?: number } = {}): CampaignPlan {
	const stormSeed = hash32(`${seed}/${index}`);
	const draw = new Draw(stormSeed);
	const largeEvery = options.largeEvery ?? 25;
	const large = largeEvery > 0 && draw.next() < 1 / largeEvery;
	const uses = draw.next() < 0.4 ? draw.int(3, 20) : undefined;
	return {
		index,
		seed,
		stormSeed,
		id: `c${index}x${stormSeed.toString(36)}`,
		input: draw.next() < 0.5 ? 'items' : 'file',
		rows: large ? draw.int(300, 400) : draw.int(10, 500),
		large,
		rate: draw.pick([0.05, 0.1, 0.2, 0.3, 0.4]),
		expiredTokenStatus: draw.next() < 0.5 ? 401 : 403,
		tokenUses: uses,
		tokenTtlSeconds: draw.pick([90, 300, 3600]),
		callbacks: draw.pick(['once', 'twice', 'late', 'out-of-order'] as const),
		realtimeItems: draw.int(3, 12),
	};
}
