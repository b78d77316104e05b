import { randomInt } from 'node:crypto';

import { InputError } from '../../shared/errors';

/**
 * Shown as the Campaign Name hint: the rule is part of the node's contract with its users, and the
 * name actually used is reported in the output when the rule changed it.
 */
export const CAMPAIGN_NAME_RULE =
	'Used in the file name: each run of characters other than A–Z, a–z, 0–9 and "-" (spaces, "_", dots, slashes, accented or non-Latin letters…) becomes one "-", and "-" at either end is dropped';

const TEMPLATE_ID = /^[A-Za-z0-9-]+$/;
const UNSAFE_RUN = /[^A-Za-z0-9-]+/g;
const EDGE_DASHES = /^-+|-+$/g;
const PRIORITY = 'Priority';

export interface BatchFileName {
	/** `<TemplateID>_[Priority_]<CampaignName>.zip` */
	zipName: string;
	/** The CSV inside the ZIP: the same name with `.csv`. */
	csvName: string;
	templateId: string;
	/** The campaign name as used in the file name (after CAMPAIGN_NAME_RULE). */
	campaignName: string;
	/** True when the rule changed the name the user gave. */
	campaignNameChanged: boolean;
	/** The run suffix appended to the campaign part of the name ("Unique File Name"), when asked for. */
	runSuffix?: string;
}

const RUN_SUFFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * `<yyyymmddHHMMss>-<4 random>` (UTC) for "Unique File Name": the time orders the files of one
 * campaign in the drop, and the random part separates runs started in the same second. It uses only
 * characters CAMPAIGN_NAME_RULE keeps, so the name stays `<TemplateID>[_Priority]_<CampaignName>.zip`.
 */
export function runSuffix(now: Date = new Date(Date.now()), random: (below: number) => number = randomInt): string {
	const stamp = now.toISOString().replace(/\.\d+Z$/, '').replace(/\D/g, '');
	let tail = '';
	for (let i = 0; i < 4; i++) tail += RUN_SUFFIX_ALPHABET[random(RUN_SUFFIX_ALPHABET.length)];
	return `${stamp}-${tail}`;
}

/** Applies CAMPAIGN_NAME_RULE. */
export function sanitiseCampaignName(name: string): string {
	return name.replace(UNSAFE_RUN, '-').replace(EDGE_DASHES, '');
}

/**
 * Whilter's naming convention for batch files: `<TemplateID>_Priority_<CampaignName>.zip` for high priority,
 * `<TemplateID>_<CampaignName>.zip` otherwise. `_` separates the parts, so neither part may hold one.
 * The template id is Whilter's own identifier: changing it would point the task at another template,
 * so a bad one is rejected. The campaign name is the user's label: it is made safe by
 * CAMPAIGN_NAME_RULE, which also keeps the S3 key free of characters that need encoding.
 */
export function buildBatchFileName(input: {
	templateId: string;
	campaignName: string;
	highPriority: boolean;
	/** Appended to the campaign part as `-<suffix>` (see runSuffix). */
	runSuffix?: string;
}): BatchFileName {
	// Surrounding spaces are a copy-and-paste accident, not part of the id.
	const templateId = input.templateId.trim();
	if (!templateId) {
		throw new InputError('The "Template ID" parameter is empty: enter the Whilter template id (letters, digits and "-")', {
			parameter: 'templateId',
		});
	}
	if (!TEMPLATE_ID.test(templateId)) {
		throw new InputError(
			`The "Template ID" parameter "${templateId}" cannot be used in a Whilter file name: only letters A–Z, a–z, digits and "-" are allowed, because "_" separates the parts of the name (<TemplateID>_<CampaignName>.zip)`,
			{ parameter: 'templateId', description: 'Check the template id given by Whilter; it is used unchanged in the file name and the task.' },
		);
	}
	const campaignName = sanitiseCampaignName(input.campaignName);
	if (!campaignName) {
		throw new InputError(
			`The "Campaign Name" parameter "${input.campaignName}" has no letters A–Z, a–z or digits to put in the file name`,
			{ parameter: 'campaignName', description: CAMPAIGN_NAME_RULE },
		);
	}
	// `T_Priority.zip` reads as a high-priority file with no campaign to anyone who splits on "_".
	if (campaignName.toLowerCase() === PRIORITY.toLowerCase()) {
		throw new InputError(`The "Campaign Name" parameter "${input.campaignName}" would read as Whilter's high-priority marker in the file name`, {
			parameter: 'campaignName',
			description: 'Choose another name (for example "Priority-Offers"), and turn on High Priority for a high-priority file',
		});
	}
	const suffix = input.runSuffix ? sanitiseCampaignName(input.runSuffix) : '';
	const campaignPart = suffix ? `${campaignName}-${suffix}` : campaignName;
	const stem = input.highPriority ? `${templateId}_${PRIORITY}_${campaignPart}` : `${templateId}_${campaignPart}`;
	return {
		zipName: `${stem}.zip`,
		csvName: `${stem}.csv`,
		templateId,
		campaignName,
		campaignNameChanged: campaignName !== input.campaignName,
		...(suffix ? { runSuffix: suffix } : {}),
	};
}

/**
 * The inverse of buildBatchFileName (used to check a file name given for the resume option).
 * Unambiguous because neither part may hold `_`: `T_Priority.zip` is a normal-priority campaign
 * called "Priority", `T_Priority_x.zip` a high-priority campaign "x".
 */
export function parseBatchFileName(name: string): { templateId: string; highPriority: boolean; campaignName: string } | undefined {
	const match = /^([A-Za-z0-9-]+)_(?:(Priority)_)?([A-Za-z0-9-]+)\.zip$/.exec(name);
	if (!match) return undefined;
	return { templateId: match[1], highPriority: match[2] === PRIORITY, campaignName: match[3] };
}
