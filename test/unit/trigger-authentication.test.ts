import { timingSafeEqual } from 'node:crypto';

import {
	basicCredentialProblem,
	checkAuthentication,
	headerCredentialProblem,
	parseBasicAuthorization,
	safeEqual,
} from '../../nodes/Whilter/trigger/authentication';
import type { AuthOutcome, ExpectedAuth } from '../../nodes/Whilter/trigger/authentication';

jest.mock('node:crypto', () => {
	const actual = jest.requireActual<typeof import('node:crypto')>('node:crypto');
	return { ...actual, timingSafeEqual: jest.fn(actual.timingSafeEqual) };
});

const SECRET = 's3cr3t-value-0123456789abcdef';
const header: ExpectedAuth = { kind: 'headerAuth', name: 'X-Whilter-Secret', value: SECRET };
const basic: ExpectedAuth = { kind: 'basicAuth', user: 'whilter', password: SECRET };

function basicHeader(user: string, password: string): string {
	return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

function statusOf(outcome: AuthOutcome): number | 'ok' {
	return outcome.ok ? 'ok' : outcome.refusal.status;
}

describe('Whilter Trigger authentication', () => {
	it('none lets every request through', () => {
		expect(checkAuthentication({ kind: 'none' }, {})).toEqual({ ok: true });
	});

	describe('header secret', () => {
		it('accepts the right value under the header name, whatever its case', () => {
			expect(checkAuthentication(header, { 'x-whilter-secret': SECRET })).toEqual({ ok: true });
		});

		it('answers 401 when the header is missing, 403 when it is wrong, empty or sent twice', () => {
			expect(statusOf(checkAuthentication(header, {}))).toBe(401);
			expect(statusOf(checkAuthentication(header, { 'x-other': SECRET }))).toBe(401);
			expect(statusOf(checkAuthentication(header, { 'x-whilter-secret': `${SECRET}x` }))).toBe(403);
			expect(statusOf(checkAuthentication(header, { 'x-whilter-secret': SECRET.slice(0, -1) }))).toBe(403);
			expect(statusOf(checkAuthentication(header, { 'x-whilter-secret': '' }))).toBe(403);
			expect(statusOf(checkAuthentication(header, { 'x-whilter-secret': [SECRET, SECRET] }))).toBe(403);
		});

		it('never repeats the secret or what was sent in its message', () => {
			const outcome = checkAuthentication(header, { 'x-whilter-secret': 'guess-123' });
			expect(outcome.ok).toBe(false);
			const text = JSON.stringify(outcome);
			expect(text).not.toContain(SECRET);
			expect(text).not.toContain('guess-123');
		});

		it('answers 500 (nothing starts) when the credential has no name or value', () => {
			expect(statusOf(checkAuthentication({ kind: 'headerAuth', name: '', value: SECRET }, { '': SECRET }))).toBe(500);
			expect(statusOf(checkAuthentication({ kind: 'headerAuth', name: 'x-a', value: '' }, { 'x-a': '' }))).toBe(500);
		});
	});

	describe('basic auth', () => {
		it('accepts the right user and password (a password may hold ":")', () => {
			expect(checkAuthentication(basic, { authorization: basicHeader('whilter', SECRET) })).toEqual({ ok: true });
			const colon: ExpectedAuth = { kind: 'basicAuth', user: 'u', password: 'a:b:c' };
			expect(checkAuthentication(colon, { authorization: basicHeader('u', 'a:b:c') })).toEqual({ ok: true });
			expect(checkAuthentication(basic, { authorization: `basic   ${Buffer.from(`whilter:${SECRET}`).toString('base64')}` })).toEqual({ ok: true });
		});

		it('answers 401 with a Basic challenge when Authorization is missing or not basic', () => {
			for (const headers of [{}, { authorization: '' }, { authorization: `Bearer ${SECRET}` }, { authorization: 'Basic !!!' }]) {
				const outcome = checkAuthentication(basic, headers);
				expect(statusOf(outcome)).toBe(401);
				expect(!outcome.ok && outcome.refusal.headers?.['WWW-Authenticate']).toMatch(/^Basic realm=/);
			}
		});

		it('answers 403 for a wrong user or password', () => {
			expect(statusOf(checkAuthentication(basic, { authorization: basicHeader('whilter', 'wrong') }))).toBe(403);
			expect(statusOf(checkAuthentication(basic, { authorization: basicHeader('someone', SECRET) }))).toBe(403);
			expect(statusOf(checkAuthentication(basic, { authorization: basicHeader('', '') }))).toBe(403);
		});

		it('answers 500 when the credential has no user or password', () => {
			expect(statusOf(checkAuthentication({ kind: 'basicAuth', user: '', password: '' }, { authorization: basicHeader('', '') }))).toBe(500);
		});

		it('parses only well-formed basic headers', () => {
			expect(parseBasicAuthorization(basicHeader('a', 'b'))).toEqual({ user: 'a', password: 'b' });
			expect(parseBasicAuthorization(`Basic ${Buffer.from('no-colon').toString('base64')}`)).toBeUndefined();
			expect(parseBasicAuthorization(undefined)).toBeUndefined();
		});
	});

	describe('constant-time comparison', () => {
		it('is exact', () => {
			expect(safeEqual(SECRET, SECRET)).toBe(true);
			expect(safeEqual(SECRET, `${SECRET} `)).toBe(false);
			expect(safeEqual('', SECRET)).toBe(false);
			expect(safeEqual('é', 'e\u0301')).toBe(false);
		});

		it('goes through crypto.timingSafeEqual with equal-length buffers, also for inputs of different lengths', () => {
			const spy = timingSafeEqual as jest.MockedFunction<typeof timingSafeEqual>;
			spy.mockClear();
			checkAuthentication(header, { 'x-whilter-secret': 'short' });
			checkAuthentication(basic, { authorization: basicHeader('a-much-longer-user-name-than-expected', 'x') });
			// One call for the header, two for basic auth (user and password both checked, no short cut).
			expect(spy).toHaveBeenCalledTimes(3);
			for (const [a, b] of spy.mock.calls) expect((a as Buffer).length).toBe((b as Buffer).length);
		});
	});

	describe('credential test checks', () => {
		it('wants a valid header name and a secret of 16+ characters', () => {
			expect(headerCredentialProblem('X-Whilter-Secret', SECRET)).toBeUndefined();
			expect(headerCredentialProblem('X Whilter', SECRET)).toMatch(/not a valid HTTP header name/);
			expect(headerCredentialProblem('X-Whilter-Secret', 'short')).toMatch(/5 characters long/);
		});

		it('wants a user without ":" and a password of 16+ characters', () => {
			expect(basicCredentialProblem('whilter', SECRET)).toBeUndefined();
			expect(basicCredentialProblem('', SECRET)).toMatch(/user is empty/);
			expect(basicCredentialProblem('a:b', SECRET)).toMatch(/":"/);
			expect(basicCredentialProblem('whilter', 'pw')).toMatch(/2 characters long/);
		});
	});
});
