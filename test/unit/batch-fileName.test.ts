import { InputError } from '../../nodes/shared/errors';
import { buildBatchFileName, CAMPAIGN_NAME_RULE, parseBatchFileName, runSuffix, sanitiseCampaignName } from '../../nodes/Whilter/batch/fileName';
import { errorOf } from '../harness/errors';

describe('InputError', () => {
	it('is an Error with a name and details (empty by default)', () => {
		const plain = new InputError('bad');
		expect(plain).toBeInstanceOf(Error);
		expect(plain.name).toBe('InputError');
		expect(plain.details).toEqual({});
		expect(new InputError('bad', { itemIndex: 2, field: 'phone' }).details).toEqual({ itemIndex: 2, field: 'phone' });
	});
});

describe("buildBatchFileName (Whilter's convention: <TemplateID>_[Priority_]<CampaignName>.zip)", () => {
	it('names a normal and a high-priority file, the CSV like the ZIP', () => {
		expect(buildBatchFileName({ templateId: 'T-100', campaignName: 'Diwali-2026', highPriority: false })).toEqual({
			zipName: 'T-100_Diwali-2026.zip',
			csvName: 'T-100_Diwali-2026.csv',
			templateId: 'T-100',
			campaignName: 'Diwali-2026',
			campaignNameChanged: false,
		});
		expect(buildBatchFileName({ templateId: 'T-100', campaignName: 'Diwali-2026', highPriority: true })).toMatchObject({
			zipName: 'T-100_Priority_Diwali-2026.zip',
			csvName: 'T-100_Priority_Diwali-2026.csv',
		});
	});

	it('trims spaces around the template id', () => {
		expect(buildBatchFileName({ templateId: ' 42 ', campaignName: 'x', highPriority: false }).templateId).toBe('42');
	});

	it.each([
		['Diwali 2026', 'Diwali-2026'],
		['a_b', 'a-b'],
		['a  __ ..b', 'a-b'],
		['../etc/passwd', 'etc-passwd'],
		['Q1 — Sale!', 'Q1-Sale'],
		['  spaced  ', 'spaced'],
		['प्रिया शर्मा offer', 'offer'],
		['offer தமிழ் 2', 'offer-2'],
		['Café crème', 'Caf-cr-me'],
		['a - b', 'a---b'],
		['-x-', 'x'],
		['x?y#z%w&v+u=t', 'x-y-z-w-v-u-t'],
		['name.with.dots', 'name-with-dots'],
	])('campaign name %p is used as %p (CAMPAIGN_NAME_RULE)', (given, used) => {
		const name = buildBatchFileName({ templateId: 'T', campaignName: given, highPriority: false });
		expect(name.campaignName).toBe(used);
		expect(name.zipName).toBe(`T_${used}.zip`);
		expect(name.campaignNameChanged).toBe(given !== used);
		expect(sanitiseCampaignName(given)).toBe(used);
	});

	it.each(['Priority', 'priority', ' PRIORITY ', '_Priority_'])('refuses the campaign name %p, which would read as the priority marker', (campaignName) => {
		const error = errorOf(() => buildBatchFileName({ templateId: 'T', campaignName, highPriority: false }));
		expect(error.message).toBe(`The "Campaign Name" parameter "${campaignName}" would read as Whilter's high-priority marker in the file name`);
		expect(error.details.parameter).toBe('campaignName');
		expect(buildBatchFileName({ templateId: 'T', campaignName: 'Priority-Offers', highPriority: true }).zipName).toBe('T_Priority_Priority-Offers.zip');
	});

	it('states the rule as text for the parameter hint', () => {
		expect(CAMPAIGN_NAME_RULE).toContain('"-"');
		expect(CAMPAIGN_NAME_RULE).toContain('"_"');
	});

	it.each(['T_1', 'T 1', 'T/1', 'T.1', 'तेम्प', 'T1é', 'T,1'])('rejects template id %p, naming the parameter, the value and the rule', (templateId) => {
		const error = errorOf(() => buildBatchFileName({ templateId, campaignName: 'c', highPriority: false }));
		expect(error.message).toContain('"Template ID"');
		expect(error.message).toContain(`"${templateId}"`);
		expect(error.message).toMatch(/only letters A–Z, a–z, digits and "-"/);
		expect(error.message).toContain('"_" separates');
		expect(error.details.parameter).toBe('templateId');
	});

	it.each(['', '   '])('rejects an empty template id %p', (templateId) => {
		const error = errorOf(() => buildBatchFileName({ templateId, campaignName: 'c', highPriority: false }));
		expect(error.message).toMatch(/"Template ID" parameter is empty/);
		expect(error.details.parameter).toBe('templateId');
	});

	it.each(['', '___', ' - ', 'प्रिया', 'தமிழ்'])('rejects campaign name %p that has nothing left', (campaignName) => {
		const error = errorOf(() => buildBatchFileName({ templateId: 'T', campaignName, highPriority: true }));
		expect(error.message).toContain('"Campaign Name"');
		expect(error.message).toContain(`"${campaignName}"`);
		expect(error.details).toMatchObject({ parameter: 'campaignName', description: CAMPAIGN_NAME_RULE });
	});
});

describe('Unique File Name: the run suffix', () => {
	/** Picks the alphabet's characters in turn: a, b, c, d (and 0–9 further on). */
	const inTurn = (start = 0) => {
		let next = start;
		return (below: number) => next++ % below;
	};

	it('is <yyyymmddHHMMss>-<4 random> in UTC', () => {
		expect(runSuffix(new Date('2026-10-20T09:30:05.789Z'), inTurn())).toBe('20261020093005-abcd');
		expect(runSuffix(new Date('2026-01-02T23:04:00Z'), inTurn(26))).toBe('20260102230400-0123');
	});

	it('takes the time from Date.now by default, and random characters from a-z and 0-9', () => {
		const now = jest.spyOn(Date, 'now').mockReturnValue(Date.parse('2027-03-04T05:06:07Z'));
		try {
			const suffixes = Array.from({ length: 200 }, () => runSuffix());
			for (const suffix of suffixes) expect(suffix).toMatch(/^20270304050607-[a-z0-9]{4}$/);
			expect(new Set(suffixes).size).toBeGreaterThan(1);
		} finally {
			now.mockRestore();
		}
	});

	it('is appended to the campaign part, within the naming rule; the campaign name is reported without it', () => {
		const name = buildBatchFileName({ templateId: 'T-100', campaignName: 'Diwali Offers', highPriority: true, runSuffix: '20261020093005-k3x9' });
		expect(name).toEqual({
			zipName: 'T-100_Priority_Diwali-Offers-20261020093005-k3x9.zip',
			csvName: 'T-100_Priority_Diwali-Offers-20261020093005-k3x9.csv',
			templateId: 'T-100',
			campaignName: 'Diwali-Offers',
			campaignNameChanged: true,
			runSuffix: '20261020093005-k3x9',
		});
		expect(parseBatchFileName(name.zipName)).toEqual({ templateId: 'T-100', highPriority: true, campaignName: 'Diwali-Offers-20261020093005-k3x9' });
		expect(buildBatchFileName({ templateId: 'T', campaignName: 'x', highPriority: false, runSuffix: runSuffix() }).zipName).toMatch(/^T_x-\d{14}-[a-z0-9]{4}\.zip$/);
	});

	it('two runs in the same second get different names', () => {
		const at = new Date('2026-10-20T09:30:05Z');
		expect(runSuffix(at, inTurn(0))).not.toBe(runSuffix(at, inTurn(4)));
	});

	it('does not rescue a campaign name the rule refuses', () => {
		expect(errorOf(() => buildBatchFileName({ templateId: 'T', campaignName: '___', highPriority: false, runSuffix: '20261020093005-k3x9' })).details.parameter).toBe(
			'campaignName',
		);
	});
});

describe('parseBatchFileName', () => {
	it.each([
		['T-1', 'Diwali', false],
		['T-1', 'Diwali', true],
		['T', 'Priority-Offers', false],
		['T', 'Priority-Offers', true],
		['Priority', 'x', false],
		['Priority', 'x', true],
		['1', '2', false],
		['a-', '-b', true],
	])('round-trips template %p, campaign %p, priority %p', (templateId, campaignName, highPriority) => {
		const { zipName } = buildBatchFileName({ templateId, campaignName: campaignName.replace(/^-|-$/g, ''), highPriority });
		expect(parseBatchFileName(zipName)).toEqual({ templateId, highPriority, campaignName: campaignName.replace(/^-|-$/g, '') });
	});

	it.each(['T.zip', 'T__x.zip', 'T_x.csv', 'T_Priority_.zip', 'a_b_c.zip', '_x.zip', 'T_x.zip.zip', 'T_प्रिया.zip', 'T_priority_x.zip', ''])(
		'does not parse %p',
		(name) => {
			expect(parseBatchFileName(name)).toBeUndefined();
		},
	);

	it('round-trips random names, and the name is always safe', () => {
		const alphabet = ['a', 'Z', '7', '-', '_', ' ', '.', '/', 'é', 'प्', 'த', '"', '\n', 'Priority', '%', '😀'];
		let seed = 7;
		const random = () => {
			seed = (seed * 1103515245 + 12345) % 2 ** 31;
			return seed / 2 ** 31;
		};
		for (let n = 0; n < 2000; n++) {
			let given = '';
			const length = Math.floor(random() * 12);
			for (let i = 0; i < length; i++) given += alphabet[Math.floor(random() * alphabet.length)];
			const highPriority = random() < 0.5;
			let built;
			try {
				built = buildBatchFileName({ templateId: 'T-9', campaignName: given, highPriority });
			} catch (error) {
				expect(error).toBeInstanceOf(InputError);
				// Nothing left of the name, or only the word that would read as the priority marker.
				expect(['', 'priority']).toContain(sanitiseCampaignName(given).toLowerCase());
				continue;
			}
			expect(built.campaignName).toMatch(/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/);
			expect(built.zipName).toMatch(/^[A-Za-z0-9_-]+\.zip$/);
			expect(parseBatchFileName(built.zipName)).toEqual({ templateId: 'T-9', highPriority, campaignName: built.campaignName });
		}
	});
});
