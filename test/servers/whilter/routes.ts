/**
 * Which handler answers a request. Only the token endpoint and the made media (public files on a
 * CDN) go without a token; every other route costs one use of the bearer token.
 */
import type { RecordedRequest, Reply } from '../http';
import { isMediaPath, mediaFile } from './files';
import { realtimeRequest, realtimeStatus } from './realtime';
import { bad } from './reply';
import type { WhilterContext } from './state';
import { cancelTask, createTask, taskStatus } from './tasks';
import { issueTokenReply, refuseToken } from './token';

export async function route(ctx: WhilterContext, request: RecordedRequest): Promise<Reply> {
	const { method, path } = request;
	if (method === 'POST' && path === '/getToken/token') return issueTokenReply(ctx, request);
	if (method === 'GET' && ctx.options.mediaBaseUrl === 'self' && isMediaPath(path)) return mediaFile(path);
	const refused = refuseToken(ctx, request);
	if (refused) return refused;

	if (method === 'POST' && (path === '/video/request' || path === '/video/demo')) return await realtimeRequest(ctx, request);
	const realtimeMatch = method === 'GET' ? /^\/status\/([^/]+)$/.exec(path) : null;
	if (realtimeMatch) return await realtimeStatus(ctx, request, realtimeMatch[1]);
	// Cancel sits outside the `<client>` prefix the other task routes share.
	const cancelMatch = method === 'POST' ? /^\/image\/task\/cancel\/([^/]+)$/.exec(path) : null;
	if (cancelMatch) return cancelTask(ctx, cancelMatch[1]);

	const clientPrefix = `/${ctx.options.client}`;
	if (!path.startsWith(`${clientPrefix}/`)) return bad(404, `Unknown client path: ${path}`);
	const rest = path.slice(clientPrefix.length);
	if (method === 'POST' && rest === '/task') return await createTask(ctx, request);
	const statusMatch = method === 'GET' ? /^\/task\/status\/([^/]+)$/.exec(rest) : null;
	if (statusMatch) return taskStatus(ctx, statusMatch[1]);
	return bad(404, `No route for ${method} ${path}`);
}
