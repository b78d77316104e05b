/**
 * Deployment check: the S3 drop's requests are signed as S3 requires, and the store's refusals
 * reach the user. Whilter Batch runs through real n8n-core against the test S3 server, which checks
 * Signature V4 as S3 does: a wrong secret, a wrong region and a clock an hour off must be refused
 * (and the node must stop with S3's code), and a second conditional write (`If-None-Match: *`) of an
 * existing key, sent by the S3 client the node builds, must get 412. Each figure is what was
 * observed: 'refused' / '412' only when the server refused, otherwise what happened instead.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { IDataObject, INodeParameters } from 'n8n-workflow';

import { createS3Client } from '../../nodes/Whilter/api/s3Drop';
import { runChain } from '../harness/run';
import { DEFAULT_DROP, useWhilterWithS3, whilterCredentialData } from '../harness/whilter';
import { recordDeployFigures } from './figures';

jest.setTimeout(120_000);

const bed = useWhilterWithS3();
const observed: Record<string, string> = {};

afterAll(() => {
	recordDeployFigures('s3_sigv4', observed);
});

async function submit(campaignName: string, s3Settings: IDataObject, options: INodeParameters = {}) {
	const credential = bed.store.add('whilterApi', { ...whilterCredentialData(bed.whilter, bed.drop), ...s3Settings });
	const before = bed.s3.requests.length;
	const result = await runChain({
		items: [{ json: { phone: '+919800000001' } }],
		nodes: [
			{
				name: 'Batch',
				type: 'whilterBatch',
				parameters: { inputSource: 'items', identifierColumn: 'phone', templateId: 'T-1', campaignId: 'deploy', campaignName, options },
				credentials: { whilterApi: credential },
			},
		],
		credentials: bed.store,
	});
	const refusals = bed.s3.requests.slice(before).map((r) => r.refused).filter(Boolean);
	const stored = (await bed.s3.listKeys(DEFAULT_DROP.bucket, `${DEFAULT_DROP.prefix}/T-1_${campaignName}`)).length > 0;
	return { result, refusals, stored };
}

/** 'refused' when the server refused with `code` and the node stopped with nothing stored; otherwise what happened. */
function verdict(run: Awaited<ReturnType<typeof submit>>, code: string): string {
	if (run.refusals.includes(code) && run.result.error && !run.stored) return 'refused';
	if (run.stored) return 'accepted';
	return `failed otherwise: ${run.result.error?.message ?? 'no error'}`;
}

describe('deploy: S3 Signature V4 and conditional writes', () => {
	it('a wrong secret is refused (SignatureDoesNotMatch)', async () => {
		const run = await submit('Deploy-Secret', { s3SecretAccessKey: 'not-the-secret' });
		observed.wrong_secret = verdict(run, 'SignatureDoesNotMatch');
		expect(observed.wrong_secret).toBe('refused');
		expect(run.result.error?.message).toContain('signature does not match');
	});

	it('a wrong region is refused (AuthorizationHeaderMalformed)', async () => {
		const run = await submit('Deploy-Region', { s3Region: 'eu-central-1' });
		observed.wrong_region = verdict(run, 'AuthorizationHeaderMalformed');
		expect(observed.wrong_region).toBe('refused');
		expect(run.result.error?.message).toContain(`the store expects "${bed.s3.region}"`);
	});

	it('a clock an hour off is refused (RequestTimeTooSkewed)', async () => {
		const machine = bed.s3.clock;
		bed.s3.clock = () => Date.now() + 60 * 60_000;
		try {
			// Replace Existing File: no HeadObject first, from whose refusal the SDK would take S3's time and go on.
			const run = await submit('Deploy-Clock', {}, { replaceExisting: true });
			observed.skewed_clock = verdict(run, 'RequestTimeTooSkewed');
		} finally {
			bed.s3.clock = machine;
		}
		expect(observed.skewed_clock).toBe('refused');
	});

	it("a second write of an existing key with If-None-Match: * gets 412 (the node's S3 client)", async () => {
		const credentials = whilterCredentialData(bed.whilter, bed.drop);
		const client = createS3Client({
			bucket: DEFAULT_DROP.bucket,
			prefix: DEFAULT_DROP.prefix,
			region: String(credentials.s3Region),
			accessKeyId: String(credentials.s3AccessKeyId),
			secretAccessKey: String(credentials.s3SecretAccessKey),
			endpoint: String(credentials.s3Endpoint),
			forcePathStyle: true,
		});
		const key = `${DEFAULT_DROP.prefix}/deploy-conditional.zip`;
		const write = async (body: string) => {
			try {
				await client.send(new PutObjectCommand({ Bucket: DEFAULT_DROP.bucket, Key: key, Body: body, IfNoneMatch: '*' }));
				return 'stored';
			} catch (error) {
				return String((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? (error as Error).message);
			}
		};
		try {
			expect(await write('first')).toBe('stored');
			const second = await write('second');
			observed.conditional_write = second === 'stored' ? 'overwritten' : second;
		} finally {
			client.destroy();
		}
		expect(observed.conditional_write).toBe('412');
		expect((await bed.s3.getObjectBuffer(DEFAULT_DROP.bucket, key)).toString()).toBe('first');
	});
});
