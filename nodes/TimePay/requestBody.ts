import { NodeOperationError } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import { pathSegment } from '../shared/paths';
import { buildFilters } from './filters';
import type { FiltersParameter, TimePayFilters } from './filters';

export const CHANNELS = {
	whatsapp: 'WhatsApp',
	sms: 'SMS',
	calls: 'Calls',
} as const;

export type Channel = keyof typeof CHANNELS;

/** The documented body of `POST /api/v1/initiate/<campaignId>/<channel>`: only what the user set. */
export interface InitiateBody extends IDataObject {
	templateId: string;
	conversationSettings?: { agentId: string; dispositionId: string };
	limit?: number;
	filters?: TimePayFilters & IDataObject;
}

export interface InitiateRequest {
	itemIndex: number;
	campaignId: string;
	channel: Channel;
	body: InitiateBody;
	treatPartialSuccessAsError: boolean;
}

interface ConversationSettingsParameter {
	agentId?: unknown;
	dispositionId?: unknown;
}

function text(value: unknown): string {
	return value === undefined || value === null ? '' : String(value).trim();
}

/**
 * One item's initiation, read and checked before anything is sent: every rule TimePay would answer
 * with a 400 that the node can know in advance fails here, naming the item and the field.
 */
export function readInitiateRequest(context: IExecuteFunctions, itemIndex: number): InitiateRequest {
	const node = context.getNode();
	const fail = (message: string, description: string) => new NodeOperationError(node, `Item ${itemIndex}: ${message}`, { itemIndex, description });

	const campaignId = text(context.getNodeParameter('campaign', itemIndex, '', { extractValue: true }));
	if (!campaignId) throw fail('"Campaign" is empty', 'Pick a campaign from the list, or give its ID (e.g. {{ $json.campaignId }})');
	// The campaign goes into the initiation's path: checked here, before any item is sent.
	pathSegment(campaignId, 'Campaign');

	const channel = text(context.getNodeParameter('channel', itemIndex, 'whatsapp')) as Channel;
	if (!(channel in CHANNELS)) throw fail(`"Channel" is "${channel}"`, `Expected one of: ${Object.keys(CHANNELS).join(', ')}`);

	const templateId = text(context.getNodeParameter('templateId', itemIndex, ''));
	if (!templateId) throw fail('"Template ID" is empty', `The ID of the approved ${CHANNELS[channel]} template TimePay should send`);
	const body: InitiateBody = { templateId };

	const settings = context.getNodeParameter('conversationSettings', itemIndex, {}) as ConversationSettingsParameter;
	const agentId = text(settings.agentId);
	const dispositionId = text(settings.dispositionId);
	if (agentId || dispositionId) {
		if (!agentId || !dispositionId) {
			const [given, missing] = agentId ? ['Agent ID', 'Disposition'] : ['Disposition', 'Agent ID'];
			throw fail(
				`Conversation Settings → "${given}" is set but "${missing}" is empty`,
				'TimePay takes conversation settings only with both an agent ID and a disposition ID: set both, or remove both. Nothing was sent.',
			);
		}
		body.conversationSettings = { agentId, dispositionId };
	}

	if (context.getNodeParameter('messageAll', itemIndex, true) === false) {
		const rawLimit = context.getNodeParameter('limit', itemIndex, 50) as unknown;
		const limit = typeof rawLimit === 'string' && rawLimit.trim() ? Number(rawLimit) : rawLimit;
		if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) {
			throw fail(`"Limit" is ${JSON.stringify(rawLimit)}`, 'Expected a whole number of customers, 1 or more (or turn on "Message All Matching Customers")');
		}
		body.limit = limit;
	}

	if (context.getNodeParameter('audience', itemIndex, 'matchingFilters') !== 'wholeCampaign') {
		// Without filters TimePay messages every customer of the campaign: that must be chosen, not fallen into.
		const filters = buildFilters(node, itemIndex, context.getNodeParameter('filters', itemIndex, {}) as FiltersParameter);
		if (!filters) {
			throw fail(
				'no filter is set',
				'Add a filter (Customer IDs, Payment Status, …) to choose who is messaged, or set "Audience" to "Every Customer of the Campaign" to message them all on purpose. Nothing was sent.',
			);
		}
		body.filters = filters as InitiateBody['filters'];
	}

	const options = context.getNodeParameter('options', itemIndex, {}) as { treatPartialSuccessAsError?: boolean };
	return { itemIndex, campaignId, channel, body, treatPartialSuccessAsError: options.treatPartialSuccessAsError === true };
}

export function initiatePath(request: Pick<InitiateRequest, 'campaignId' | 'channel'>): string {
	return `/api/v1/initiate/${pathSegment(request.campaignId, 'Campaign')}/${request.channel}`;
}
