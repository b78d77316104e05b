/**
 * What the Whilter contract server keeps between requests: issued tokens, tasks, real-time requests,
 * the callbacks sent, and the settings a test may change while it runs. Every route handler gets this
 * context explicitly, so each one can live in the file of its route group.
 */
import { randomUUID } from 'node:crypto';

import { S3Client } from '@aws-sdk/client-s3';

import { DEFAULT_MEDIA_BASE } from './files';
import type { CallbackRecord, RealtimeDelay, RealtimeRequest, StatusVariant, Task, TaskState, WhilterServerOptions } from './types';

/** What the token check found: a token that works, none or one never issued, or one past its life or its uses. */
export type TokenCheck = 'valid' | 'invalid' | 'expired';

/** Issued bearer tokens with their expiry (on Date.now, so on the virtual clock in node tests) and remaining uses. */
export class TokenStore {
	issued = 0;
	/** Lifetime of the tokens issued from now on (the `expires_in` the token endpoint answers). */
	ttlSeconds: number;
	private readonly tokens = new Map<string, { uses: number; maxUses: number; expiresAt: number }>();
	private maxUsesForNew = Number.POSITIVE_INFINITY;

	constructor(ttlSeconds: number) {
		this.ttlSeconds = ttlSeconds;
	}

	issue(): string {
		const token = `wt-${randomUUID()}`;
		this.tokens.set(token, { uses: 0, maxUses: this.maxUsesForNew, expiresAt: Date.now() + this.ttlSeconds * 1000 });
		this.issued++;
		return token;
	}

	/** Counts one authenticated use; false when the token is unknown, expired or used up. */
	use(token: string | undefined): boolean {
		return this.check(token) === 'valid';
	}

	/** Counts one authenticated use of a valid token, and says why another one does not pass. */
	check(token: string | undefined): TokenCheck {
		const state = token === undefined ? undefined : this.tokens.get(token);
		if (!state) return 'invalid';
		if (state.uses >= state.maxUses || Date.now() >= state.expiresAt) return 'expired';
		state.uses++;
		return 'valid';
	}

	/** Every token issued so far is expired (still known, so it gets the expired-token answer). */
	expireAll(): void {
		for (const state of this.tokens.values()) state.expiresAt = Number.NEGATIVE_INFINITY;
	}

	expireAfterUses(uses: number): void {
		this.maxUsesForNew = uses;
		for (const state of this.tokens.values()) state.maxUses = state.uses + uses;
	}
}

export interface WhilterContext {
	readonly options: WhilterServerOptions;
	/** The client's S3 drop, where input ZIPs are read and output CSVs written. */
	readonly s3: S3Client;
	readonly bucket: string;
	readonly tokens: TokenStore;
	readonly tasks: Map<string, Task>;
	readonly realtime: Map<string, RealtimeRequest>;
	readonly callbacks: CallbackRecord[];
	readonly failRowEvery: number;
	readonly realtimeReadyAfterPolls: number;
	/** A completion in flight, so a timer tick and advance() never complete the same task twice. */
	readonly completing: Map<string, Promise<void>>;
	statusVariant: StatusVariant;
	/** See WhilterServerOptions.expiredTokenStatus. */
	expiredTokenStatus: 401 | 403;
	checkRowCount: boolean;
	realtimeDelayMs: RealtimeDelay | undefined;
	realtimeExactDelay: boolean;
	realtimeInFlight: number;
	realtimeMaxInFlight: number;
	/** The server's own URL, known only once it listens: 'self' media are served from it. */
	serverUrl: string;
}

export function createContext(options: WhilterServerOptions): WhilterContext {
	return {
		options,
		s3: new S3Client({
			endpoint: options.s3.endpoint,
			region: options.s3.region,
			forcePathStyle: true,
			credentials: { accessKeyId: options.s3.accessKeyId, secretAccessKey: options.s3.secretAccessKey },
			requestChecksumCalculation: 'WHEN_REQUIRED',
			responseChecksumValidation: 'WHEN_REQUIRED',
		}),
		bucket: options.s3.bucket,
		tokens: new TokenStore(options.tokenTtlSeconds ?? 3600),
		tasks: new Map(),
		realtime: new Map(),
		callbacks: [],
		failRowEvery: options.failRowEvery ?? 5,
		realtimeReadyAfterPolls: options.realtimeReadyAfterPolls ?? 2,
		completing: new Map(),
		statusVariant: options.statusVariant ?? 'lower',
		expiredTokenStatus: options.expiredTokenStatus ?? 401,
		checkRowCount: options.checkRowCount ?? true,
		realtimeDelayMs: options.realtimeDelayMs,
		realtimeExactDelay: options.realtimeExactDelay ?? false,
		realtimeInFlight: 0,
		realtimeMaxInFlight: 0,
		serverUrl: '',
	};
}

/** Where made media live: the URL prefix of every media-url, video-url and image-url the server hands out. */
export function mediaBase(ctx: WhilterContext): string {
	return ctx.options.mediaBaseUrl === 'self' ? `${ctx.serverUrl}/media` : (ctx.options.mediaBaseUrl ?? DEFAULT_MEDIA_BASE);
}

export function setTaskState(task: Task, state: TaskState): void {
	task.state = state;
	task.updatedAt = Date.now();
}
