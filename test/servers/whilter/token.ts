/** `POST /getToken/token`: the client's id and secret, as JSON, buy a bearer token for every other call. */
import { bearer, isJson, json, jsonObject } from '../http';
import type { RecordedRequest, Reply } from '../http';
import { bad, isNonEmptyString } from './reply';
import type { WhilterContext } from './state';

export function issueTokenReply(ctx: WhilterContext, request: RecordedRequest): Reply {
	if (!isJson(request)) return bad(415, 'Content-Type must be application/json');
	const body = jsonObject(request);
	if (!body || !isNonEmptyString(body.client_id) || !isNonEmptyString(body.client_secret)) return bad(400, 'client_id and client_secret are required');
	if (body.client_id !== ctx.options.clientId || body.client_secret !== ctx.options.clientSecret) return bad(401, 'Invalid client credentials');
	return json(200, { access_token: ctx.tokens.issue(), expires_in: ctx.tokens.ttlSeconds, token_type: 'Bearer' });
}

/**
 * The token check every authenticated route passes first: undefined lets the call through (one use
 * counted). A missing or unknown token is 401; an expired or used-up one gets the server's
 * expiredTokenStatus, since Whilter's guide names 401 or 403 for a token to renew.
 */
export function refuseToken(ctx: WhilterContext, request: RecordedRequest): Reply | undefined {
	const check = ctx.tokens.check(bearer(request));
	if (check === 'valid') return undefined;
	// One message for both: Whilter's wording is not documented, and the status is what a client acts on.
	return bad(check === 'expired' ? ctx.expiredTokenStatus : 401, 'Token expired or invalid');
}
