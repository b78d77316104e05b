import { WhilterApi, sessionTokenUsable, tokenUseUntil } from '../../credentials/WhilterApi.credentials';
import { whilterFailureHint } from '../../nodes/Whilter/api/transport';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);

describe('token lifetime (expires_in)', () => {
	it('stops sending a token 60 s before expires_in ends, or halfway through a life under 2 minutes', () => {
		expect(tokenUseUntil(3600, NOW)).toBe(NOW + 3540_000);
		expect(tokenUseUntil('300', NOW)).toBe(NOW + 240_000);
		expect(tokenUseUntil(90, NOW)).toBe(NOW + 45_000);
		for (const none of [undefined, null, '', 0, -5, 'soon', Number.NaN]) expect(tokenUseUntil(none, NOW)).toBeUndefined();
	});

	it('a token with no known lifetime stays usable; one past its time does not', () => {
		expect(sessionTokenUsable({ sessionToken: 't' }, NOW)).toBe(true);
		expect(sessionTokenUsable({ sessionToken: 't', sessionUseUntil: '' }, NOW)).toBe(true);
		const until = new Date(NOW + 1000).toISOString();
		expect(sessionTokenUsable({ sessionToken: 't', sessionUseUntil: until }, NOW + 999)).toBe(true);
		expect(sessionTokenUsable({ sessionToken: 't', sessionUseUntil: until }, NOW + 1000)).toBe(false);
	});
});

describe('authenticate', () => {
	const credential = new WhilterApi();
	const authenticate = credential.authenticate as (c: Record<string, unknown>, o: { url: string; headers?: Record<string, string> }) => Promise<{ headers: Record<string, string> }>;

	beforeEach(() => jest.useFakeTimers({ now: NOW }));
	afterEach(() => jest.useRealTimers());

	it('sends the fetched token until its time, then none (and drops the one a repeated call carried)', async () => {
		const fresh = { authentication: 'clientCredentials', sessionToken: 'wt-1', sessionUseUntil: new Date(NOW + 1000).toISOString(), apiKey: 'k' };
		expect((await authenticate(fresh, { url: 'u' })).headers).toEqual({ Authorization: 'Bearer wt-1', 'x-api-key': 'k' });
		jest.setSystemTime(NOW + 1000);
		expect((await authenticate(fresh, { url: 'u', headers: { authorization: 'Bearer wt-1', Accept: 'application/json' } })).headers).toEqual({
			Accept: 'application/json',
			'x-api-key': 'k',
		});
	});

	it('Access Token mode sends the Access Token field itself, whatever the stored session token', async () => {
		const headers = (await authenticate({ authentication: 'accessToken', accessToken: 'static-2', sessionToken: 'static-1' }, { url: 'u' })).headers;
		expect(headers).toEqual({ Authorization: 'Bearer static-2' });
	});
});

describe('whilterFailureHint', () => {
	const before = { authentication: 'clientCredentials', sessionToken: 'wt-1' };

	it('a 403 with the stored token unchanged: this n8n does not renew after 403, and what to do', () => {
		const hint = whilterFailureHint(403, before, { ...before, sessionUseUntil: '2025-01-01T12:04:00.000Z' });
		expect(hint).toMatch(/fetches a new token after a 401 only/);
		expect(hint).toMatch(/after 2025-01-01T12:04:00.000Z/);
		expect(hint).toMatch(/test it/);
		expect(hint).toMatch(/update n8n/);
	});

	it('a 403 after n8n renewed the token: the client has no access', () => {
		expect(whilterFailureHint(403, before, { ...before, sessionToken: 'wt-2' })).toMatch(/no access/);
	});

	it('nothing for other statuses or for an access token', () => {
		expect(whilterFailureHint(401, before, before)).toBeUndefined();
		expect(whilterFailureHint(404, before, before)).toBeUndefined();
		expect(whilterFailureHint(403, { authentication: 'accessToken' }, { authentication: 'accessToken' })).toBeUndefined();
	});
});
