/**
 * When the S3 drop refuses the batch upload, the error names the store, the bucket and the key, and
 * says which setting to check: run through real n8n-core against the S3 server, which checks
 * Signature V4 as S3 does (a wrong secret, key, region or clock is refused with S3's own code).
 */
import type { IDataObject, INodeParameters } from 'n8n-workflow';

import { runChain } from '../harness/run';
import { DEFAULT_DROP, useWhilterWithS3, whilterCredentialData } from '../harness/whilter';

const bed = useWhilterWithS3();
const { bucket: BUCKET, prefix: PREFIX } = DEFAULT_DROP;

afterEach(() => {
	bed.s3.clearDenials();
	bed.s3.clock = () => Date.now();
});

const customers: IDataObject[] = [
	{ phone: '+919800000001', name: 'Asha' },
	{ phone: '+919800000002', name: 'Ravi' },
];

/** Whilter Batch with the bed's credential, some S3 settings changed. */
async function submit(campaignName: string, s3Settings: IDataObject = {}, options: INodeParameters = {}) {
	const credential = bed.store.add('whilterApi', { ...whilterCredentialData(bed.whilter, bed.drop), ...s3Settings });
	return await runChain({
		items: customers.map((json) => ({ json })),
		nodes: [
			{
				name: 'Batch',
				type: 'whilterBatch',
				parameters: { inputSource: 'items', identifierColumn: 'phone', templateId: 'T-9', campaignId: 'errors', campaignName, options },
				credentials: { whilterApi: credential },
			},
		],
		credentials: bed.store,
	});
}

/** The start of the message: the store, the bucket and the key of the file. */
function where(campaignName: string, bucket: string = BUCKET): string {
	return `Uploading the batch file to S3 failed (store ${bed.s3.endpoint}, bucket "${bucket}", key "${PREFIX}/T-9_${campaignName}.zip"): `;
}

async function expectNothingUploaded(campaignName: string) {
	expect(await bed.s3.listKeys(BUCKET, `${PREFIX}/T-9_${campaignName}`)).toEqual([]);
}

describe('Whilter Batch: S3 refusals say what to check', () => {
	it('a wrong Secret Access Key: "signature does not match", check the Secret Access Key', async () => {
		const result = await submit('Wrong-Secret', { s3SecretAccessKey: 'not-the-secret-of-this-key' });
		expect(result.error?.message).toBe(`${where('Wrong-Secret')}S3 refused the request: the signature does not match (SignatureDoesNotMatch) to PutObject`);
		expect(result.error?.description).toMatch(/^Check the S3 Secret Access Key of the Whilter credential: it does not belong to access key ID "AKIA/);
		expect(result.error?.message).not.toContain('not-the-secret-of-this-key');
		await expectNothingUploaded('Wrong-Secret');
	});

	it('an unknown Access Key ID: check the Access Key ID', async () => {
		const result = await submit('Unknown-Key', { s3AccessKeyId: 'AKIANOSUCHKEY0000000' });
		expect(result.error?.message).toBe(`${where('Unknown-Key')}S3 does not know the access key ID "AKIANOSUCHKEY0000000" (InvalidAccessKeyId) to PutObject`);
		expect(result.error?.description).toMatch(/^Check the S3 Access Key ID of the Whilter credential/);
		await expectNothingUploaded('Unknown-Key');
	});

	it("a wrong Region: check the Region, which the store says it expects", async () => {
		const result = await submit('Wrong-Region', { s3Region: 'eu-west-1' });
		expect(result.error?.message).toBe(`${where('Wrong-Region')}S3 refused the region "eu-west-1": the store expects "${bed.s3.region}" (AuthorizationHeaderMalformed) to PutObject`);
		expect(result.error?.description).toMatch(new RegExp(`^Check the S3 Region of the Whilter credential: set it to "${bed.s3.region}"`));
		await expectNothingUploaded('Wrong-Region');
	});

	it('an n8n clock an hour off S3\'s, with "Replace Existing File" (no HeadObject first): check the clock of the n8n machine', async () => {
		bed.s3.clock = () => Date.now() + 60 * 60_000;
		const result = await submit('Skewed-Clock', {}, { replaceExisting: true });
		expect(result.error?.message).toMatch(
			new RegExp(`^${where('Skewed-Clock').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}S3 refused the request time: the clock of the n8n machine is more than 15 minutes off the store's \\(the request said \\d{8}T\\d{6}Z, the store \\S+\\) \\(RequestTimeTooSkewed\\) to PutObject$`),
		);
		expect(result.error?.description).toMatch(/^Check the clock of the n8n machine/);
		await expectNothingUploaded('Skewed-Clock');
	});

	it("an n8n clock an hour off S3's, by default: HeadObject is refused, the SDK takes S3's time from its Date header, and the upload is stored", async () => {
		bed.s3.clock = () => Date.now() + 60 * 60_000;
		const before = bed.s3.requests.length;
		const result = await submit('Skew-Corrected');
		expect(result.error).toBeUndefined();
		// The node's two calls; the Whilter contract server reads the file after them.
		expect(bed.s3.requests.slice(before, before + 2).map((r) => [r.method, r.status, r.refused])).toEqual([
			['HEAD', 403, 'RequestTimeTooSkewed'],
			['PUT', 200, undefined],
		]);
		expect(await bed.s3.listKeys(BUCKET, `${PREFIX}/T-9_Skew-Corrected`)).toEqual([`${PREFIX}/T-9_Skew-Corrected.zip`]);
	});

	it('AccessDenied: the IAM permissions the drop needs, by action', async () => {
		bed.s3.deny({ method: 'PUT' });
		const result = await submit('Denied');
		expect(result.error?.message).toMatch(new RegExp(`^${where('Denied').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}S3 denied PutObject to access key ID "AKIA\\w+" \\(AccessDenied\\) to PutObject$`));
		expect(result.error?.description).toContain('Check the IAM permissions of the access key: PutObject needs s3:PutObject.');
		expect(result.error?.description).toContain(`The S3 drop needs s3:PutObject, s3:GetObject, s3:AbortMultipartUpload on arn:aws:s3:::${BUCKET}/${PREFIX}/*`);
		expect(result.error?.description).toContain('s3:GetObject also covers HeadObject');
		await expectNothingUploaded('Denied');
	});

	it('NoSuchBucket: check the bucket name', async () => {
		const result = await submit('No-Bucket', { s3Bucket: 'no-such-drop' });
		expect(result.error?.message).toBe(`${where('No-Bucket', 'no-such-drop')}the store has no bucket "no-such-drop" (NoSuchBucket) to PutObject`);
		expect(result.error?.description).toMatch(/^Check the S3 Bucket of the Whilter credential/);
	});
});
