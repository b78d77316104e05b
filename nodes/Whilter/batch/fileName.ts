import { BatchInputError } from './errors';

/** Shown as the Campaign Name hint: the rule is part of the node's contract with its users. */
export const CAMPAIGN_NAME_RULE =
	'Used in the file name: each run of characters other than letters, digits and "-" (spaces, "_", dots, accents…) becomes one "-"';

const TEMPLATE_ID = /^[A-Za-z0-9-]+$/;

export interface BatchFileName {
	zipName: string;
	csvName: string;
	templateId: string;
	campaignName: string;
	campaignNameChanged: boolean;
}

/**
 * Whilter's convention (seed, step 2): `<TemplateID>_Priority_<CampaignName>.zip` for high priority,
 * `<TemplateID>_<CampaignName>.zip` otherwise. `_` separates the parts, so neither part may hold one:
 * a template id is Whilter's and is rejected when it would break the name; a campaign name is the
 * user's and is made safe by CAMPAIGN_NAME_RULE.
 */
export function buildBatchFileName(input: { templateId: string; campaignName: string; highPriority: boolean }): BatchFileName {
	const templateId = input.templateId.trim();
	if (!TEMPLATE_ID.test(templateId)) {
		throw new BatchInputError(
			`Template ID "${templateId}" cannot be used in a Whilter file name: only letters, digits and "-" are allowed ("_" separates the parts of the name)`,
			{ parameter: 'templateId' },
		);
	}
	const original = input.campaignName.trim();
	const campaignName = original.replace(/[^A-Za-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
	if (!campaignName) {
		throw new BatchInputError(`Campaign name "${original}" has no letters or digits to put in the file name`, {
			parameter: 'campaignName',
			description: CAMPAIGN_NAME_RULE,
		});
	}
	const stem = input.highPriority ? `${templateId}_Priority_${campaignName}` : `${templateId}_${campaignName}`;
	return { zipName: `${stem}.zip`, csvName: `${stem}.csv`, templateId, campaignName, campaignNameChanged: campaignName !== original };
}

/** The inverse, for names built by buildBatchFileName. */
export function parseBatchFileName(name: string): { templateId: string; highPriority: boolean; campaignName: string } | undefined {
	const match = /^([A-Za-z0-9-]+)_(?:(Priority)_)?([A-Za-z0-9-]+)\.zip$/.exec(name);
	if (!match) return undefined;
	return { templateId: match[1], highPriority: match[2] === 'Priority', campaignName: match[3] };
}
