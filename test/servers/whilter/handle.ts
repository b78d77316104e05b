/** The handle tests hold: the context's stores and settings, live, and the test-only actions on them. */
import type { ContractServer } from '../http';
import { sendTaskCallback } from './callbacks';
import { sendRealtimeCallback } from './realtime';
import type { WhilterContext } from './state';
import { advanceTasks, outputKeyOfTask, seedTask } from './tasks';
import type { RealtimeDelay, StatusVariant, WhilterServer } from './types';

/** `stop` ends what runs beside the HTTP server (the auto-advance timer); close() calls it first. */
export function whilterHandle(ctx: WhilterContext, server: ContractServer, stop: () => void): WhilterServer {
	return {
		...server,
		tasks: ctx.tasks,
		realtime: ctx.realtime,
		get realtimeDelayMs() {
			return ctx.realtimeDelayMs;
		},
		set realtimeDelayMs(delay: RealtimeDelay | undefined) {
			ctx.realtimeDelayMs = delay;
		},
		get realtimeInFlight() {
			return ctx.realtimeInFlight;
		},
		get realtimeMaxInFlight() {
			return ctx.realtimeMaxInFlight;
		},
		resetRealtimeStats: () => {
			ctx.realtimeMaxInFlight = ctx.realtimeInFlight;
		},
		callbacks: ctx.callbacks,
		get tokensIssued() {
			return ctx.tokens.issued;
		},
		get tokenTtlSeconds() {
			return ctx.tokens.ttlSeconds;
		},
		set tokenTtlSeconds(seconds: number) {
			ctx.tokens.ttlSeconds = seconds;
		},
		get expiredTokenStatus() {
			return ctx.expiredTokenStatus;
		},
		set expiredTokenStatus(status: 401 | 403) {
			ctx.expiredTokenStatus = status;
		},
		get statusVariant() {
			return ctx.statusVariant;
		},
		set statusVariant(variant: StatusVariant) {
			ctx.statusVariant = variant;
		},
		get checkRowCount() {
			return ctx.checkRowCount;
		},
		set checkRowCount(check: boolean) {
			ctx.checkRowCount = check;
		},
		expireTokens: () => ctx.tokens.expireAll(),
		expireTokenAfterUses: (uses) => ctx.tokens.expireAfterUses(uses),
		advance: async (taskId) => await advanceTasks(ctx, taskId),
		outputKeyOf: (taskId) => outputKeyOfTask(ctx, taskId),
		seedTask: async (options) => await seedTask(ctx, options),
		issueToken: () => ctx.tokens.issue(),
		sendCallback: async (options) => await sendTaskCallback(ctx, options),
		sendRealtimeCallback: async (options) => await sendRealtimeCallback(ctx, options),
		close: async () => {
			stop();
			// A completion still writing its CSV would otherwise hit a destroyed S3 client.
			await Promise.allSettled(ctx.completing.values());
			ctx.s3.destroy();
			await server.close();
		},
	};
}
