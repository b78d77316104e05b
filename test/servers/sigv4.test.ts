/**
 * The Signature V4 verifier of the test S3 server against the worked examples of AWS's Signature V4
 * documentation for S3 (a GET with a Range header; a PUT with signed aws-chunked chunks), so the
 * verifier is checked against answers it did not compute itself.
 */
import { createHash } from 'node:crypto';

import { canonicalQuery, canonicalUri, checkPayload, verifyRequest } from './sigv4';

const DOC_KEYS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', region: 'us-east-1' };
const DOC_TIME = Date.UTC(2013, 4, 24, 0, 0, 0);
const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

function rawHeaders(headers: Record<string, string>): string[] {
	return Object.entries(headers).flat();
}

describe('Signature V4 verifier: the documented examples', () => {
	const getObject = (signature: string, overrides: Record<string, string> = {}) => ({
		method: 'GET',
		url: '/test.txt',
		rawHeaders: rawHeaders({
			Host: 'examplebucket.s3.amazonaws.com',
			Range: 'bytes=0-9',
			'x-amz-content-sha256': EMPTY_SHA256,
			'x-amz-date': '20130524T000000Z',
			Authorization: `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=${signature}`,
			...overrides,
		}),
	});
	const DOC_SIGNATURE = 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41';

	it('GET Object with a Range header: the documented signature holds', () => {
		expect(verifyRequest(getObject(DOC_SIGNATURE), DOC_KEYS, DOC_TIME)).toMatchObject({ ok: true, payload: { kind: 'sha256', sha256: EMPTY_SHA256 } });
	});

	it('the same request with another secret, range or path does not', () => {
		expect(verifyRequest(getObject(DOC_SIGNATURE), { ...DOC_KEYS, secretAccessKey: 'other' }, DOC_TIME)).toMatchObject({ ok: false, refusal: { status: 403, code: 'SignatureDoesNotMatch' } });
		expect(verifyRequest(getObject(DOC_SIGNATURE, { Range: 'bytes=0-10' }), DOC_KEYS, DOC_TIME)).toMatchObject({ ok: false, refusal: { code: 'SignatureDoesNotMatch' } });
		expect(verifyRequest({ ...getObject(DOC_SIGNATURE), url: '/test2.txt' }, DOC_KEYS, DOC_TIME)).toMatchObject({ ok: false, refusal: { code: 'SignatureDoesNotMatch' } });
	});

	it('unknown key, other region, skewed clock, missing header: S3\'s codes', () => {
		expect(verifyRequest(getObject(DOC_SIGNATURE), { ...DOC_KEYS, accessKeyId: 'AKIAOTHER' }, DOC_TIME)).toMatchObject({ ok: false, refusal: { status: 403, code: 'InvalidAccessKeyId' } });
		expect(verifyRequest(getObject(DOC_SIGNATURE), { ...DOC_KEYS, region: 'eu-west-1' }, DOC_TIME)).toEqual({
			ok: false,
			refusal: { status: 400, code: 'AuthorizationHeaderMalformed', message: "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'", fields: { Region: 'eu-west-1' } },
		});
		expect(verifyRequest(getObject(DOC_SIGNATURE), DOC_KEYS, DOC_TIME + 15 * 60_000)).toMatchObject({ ok: true });
		expect(verifyRequest(getObject(DOC_SIGNATURE), DOC_KEYS, DOC_TIME + 15 * 60_000 + 1000)).toMatchObject({ ok: false, refusal: { status: 403, code: 'RequestTimeTooSkewed' } });
		expect(verifyRequest(getObject(DOC_SIGNATURE), DOC_KEYS, DOC_TIME - 16 * 60_000)).toMatchObject({ ok: false, refusal: { status: 403, code: 'RequestTimeTooSkewed' } });
		const withoutHash = getObject(DOC_SIGNATURE);
		withoutHash.rawHeaders.splice(4, 2);
		expect(verifyRequest(withoutHash, DOC_KEYS, DOC_TIME)).toMatchObject({ ok: false, refusal: { status: 400, code: 'InvalidRequest' } });
		expect(verifyRequest({ method: 'GET', url: '/test.txt', rawHeaders: ['Host', 'x'] }, DOC_KEYS, DOC_TIME)).toMatchObject({ ok: false, refusal: { status: 403, code: 'AccessDenied' } });
	});

	it('PUT with signed aws-chunked chunks (64 KiB + 1 KiB of "a"): the seed and every chunk signature hold; a changed byte does not', () => {
		const seed = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9';
		const request = {
			method: 'PUT',
			url: '/examplebucket/chunkObject.txt',
			rawHeaders: rawHeaders({
				Host: 's3.amazonaws.com',
				'x-amz-date': '20130524T000000Z',
				'x-amz-storage-class': 'REDUCED_REDUNDANCY',
				Authorization: `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=${seed}`,
				'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
				'Content-Encoding': 'aws-chunked',
				'x-amz-decoded-content-length': '66560',
				'Content-Length': '66824',
			}),
		};
		const verdict = verifyRequest(request, DOC_KEYS, DOC_TIME);
		expect(verdict).toMatchObject({ ok: true, payload: { kind: 'signed-chunks', seedSignature: seed } });
		if (!verdict.ok) return;
		const chunk = (data: Buffer, signature: string) => Buffer.concat([Buffer.from(`${data.length.toString(16)};chunk-signature=${signature}\r\n`), data, Buffer.from('\r\n')]);
		const body = Buffer.concat([
			chunk(Buffer.alloc(65536, 'a'), 'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648'),
			chunk(Buffer.alloc(1024, 'a'), '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497'),
			chunk(Buffer.alloc(0), 'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9'),
		]);
		expect(body.length).toBe(66824);
		const checked = checkPayload(verdict.payload, request.rawHeaders, body);
		expect(checked.ok && checked.data.equals(Buffer.alloc(66560, 'a'))).toBe(true);
		const changed = Buffer.from(body);
		changed[1000] = 'b'.charCodeAt(0);
		expect(checkPayload(verdict.payload, request.rawHeaders, changed)).toMatchObject({ ok: false, refusal: { status: 403, code: 'SignatureDoesNotMatch' } });
	});
});

describe('Signature V4 verifier: S3\'s canonical URI and query', () => {
	it('decodes once and encodes once (no double encoding, no normalisation)', () => {
		expect(canonicalUri('/drop/a%20b%2Bc%3Dd%C3%A9.txt')).toBe('/drop/a%20b%2Bc%3Dd%C3%A9.txt');
		// A client that left characters as they are signs them encoded all the same.
		expect(canonicalUri('/drop/a+b=c(1)!*.txt')).toBe('/drop/a%2Bb%3Dc%281%29%21%2A.txt');
		expect(canonicalUri('/drop/%7Euser/./x//y')).toBe('/drop/~user/./x//y');
		expect(canonicalUri('/drop/%E0%A4')).toBeUndefined();
	});

	it('sorts by name then value, gives a bare name an empty value, encodes both', () => {
		expect(canonicalQuery('uploadId=abc&partNumber=2')).toBe('partNumber=2&uploadId=abc');
		expect(canonicalQuery('uploads')).toBe('uploads=');
		expect(canonicalQuery('prefix=a b&prefix=a%2Fb&delimiter=%2F')).toBe('delimiter=%2F&prefix=a%202&prefix=a%2Fb'.replace('a%202', 'a%20b'));
	});
});
