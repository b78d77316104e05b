import { S3_TIMEOUTS, s3TimeoutsFor } from '../../nodes/Whilter/api/s3Drop';

describe('S3 deadlines', () => {
	it('by default: 10 s to connect, 120 s without a byte', () => {
		expect(S3_TIMEOUTS).toEqual({ connectMs: 10_000, idleMs: 120_000 });
		expect(s3TimeoutsFor(undefined)).toEqual(S3_TIMEOUTS);
	});

	it('S3 Timeout sets the longest silence; connecting never waits longer than the default, nor than that silence', () => {
		expect(s3TimeoutsFor(300)).toEqual({ connectMs: 10_000, idleMs: 300_000 });
		expect(s3TimeoutsFor(2.5)).toEqual({ connectMs: 2_500, idleMs: 2_500 });
	});
});
