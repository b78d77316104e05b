/**
 * Whilter.AI's API as its documentation states it, for the nodes' tests and the sandbox:
 * - the token endpoint, `POST /getToken/token` with `{client_id, client_secret}` → a bearer token;
 * - the batch media API: `POST /<client>/task` naming a ZIP (one CSV) already in the client's S3 drop,
 *   `GET /<client>/task/status/<id>`, `POST /image/task/cancel/<id>`; on completion the output CSV
 *   (the input plus `media-url` and `error`) is written beside the input and
 *   `{task-id, status, file-path, count, message}` is POSTed to the task's `callback-url`;
 * - the real-time API: `POST /video/request` → a `whilter-request-id`, `GET /status/<id>` until SUCCESS.
 * Strict about what it accepts, and stateful on a clock the test moves (`advance`).
 *
 * The route groups live beside this file (token.ts, tasks.ts, realtime.ts); they share one context
 * (state.ts) and this file only wires them to an HTTP server.
 */
import { startServer } from '../http';
import { whilterHandle } from './handle';
import { route } from './routes';
import { createContext } from './state';
import { startAutoAdvance } from './tasks';
import type { WhilterServer, WhilterServerOptions } from './types';

export { ROW_ERROR, SAMPLE_MP4, buildOutputCsv, outputKeyFor } from './files';
export type { CallbackRecord, RealtimeDelay, RealtimeRequest, RealtimeStatus, StatusVariant, Task, TaskState, WhilterServer, WhilterServerOptions } from './types';

export async function startWhilterServer(options: WhilterServerOptions): Promise<WhilterServer> {
	const ctx = createContext(options);
	const server = await startServer(async (request) => await route(ctx, request), { port: options.port });
	ctx.serverUrl = server.url;
	const timer = options.autoAdvanceMs ? startAutoAdvance(ctx, options.autoAdvanceMs) : undefined;
	return whilterHandle(ctx, server, () => clearInterval(timer));
}
