import type {
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	IHookFunctions,
	INodeCredentialTestResult,
	INodeType,
	INodeTypeDescription,
	IWebhookFunctions,
	IWebhookResponseData,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { basicCredentialProblem, headerCredentialProblem } from './trigger/authentication';
import { handleCallback } from './trigger/handleCallback';
import { REALTIME_STATUS_PATH, TASK_STATUS_PATH } from './api/endpoints';
import { maxFieldSizeOption, maxResultRowsOption } from './api/resultLimits';
import { RESULT_ROW_FILTER_OPTIONS } from './api/rowFilter';

/** Options that matter only when the trigger outputs a task's result rows. */
const ROWS_OUTPUT = { show: { '/event': ['batchTask'], '/output': ['rows'] } };

function testResult(problem: string | undefined): INodeCredentialTestResult {
	return problem ? { status: 'Error', message: problem } : { status: 'OK', message: 'The values are usable; callers must send them' };
}

export class WhilterTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Whilter Trigger',
		name: 'whilterTrigger',
		icon: { light: 'file:../../icons/whilter.svg', dark: 'file:../../icons/whilter.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{$parameter["event"] === "realtimeMedia" ? "Real-Time Media Ready" : "Batch Task Completed"}}',
		description: 'Starts the workflow when Whilter.AI calls back: a batch task finished, or real-time media is ready',
		defaults: { name: 'Whilter Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			// Confirms callbacks against the status API and reads the result rows (Result Rows always
			// confirm first): with confirmation off there is nothing to call, so no credential to ask for.
			// A parameter hidden by the event or output is absent from the node and hides nothing.
			{ name: 'whilterApi', required: true, displayOptions: { hide: { confirmWithApi: [false], realtimeConfirmation: ['off'] } } },
			// The shared secret lives in n8n's encrypted credential store, as for n8n's Webhook node: a
			// password parameter on the node would be saved in clear in the workflow JSON and its exports.
			// The package's own credential types, since community nodes may not use n8n's httpHeaderAuth.
			{
				name: 'whilterCallbackHeaderAuthApi',
				required: true,
				testedBy: 'whilterCallbackHeaderAuthTest',
				displayOptions: { show: { authentication: ['headerAuth'] } } },
			{
				name: 'whilterCallbackBasicAuthApi',
				required: true,
				testedBy: 'whilterCallbackBasicAuthTest',
				displayOptions: { show: { authentication: ['basicAuth'] } } },
		],
		// responseData is set empty on purpose: left out, n8n answers an accepted call with the literal
		// text "firstEntryJson"; empty, it answers with the node's own small JSON (webhookResponse).
		webhooks: [{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: 'whilter', responseData: '' }],
		properties: [
			{
				displayName:
					'Publish the workflow, then paste this node\'s <b>Production URL</b> (Webhook URLs above) into Whilter Batch\'s <b>Callback URL</b> option, or give it to Whilter as your callback URL',
				name: 'callbackNotice',
				type: 'notice',
				default: '',
				displayOptions: { show: { event: ['batchTask'] } },
			},
			{
				displayName:
					'Give this node\'s <b>Production URL</b> to Whilter as your real-time callback URL. Whilter\'s documented real-time callback carries no Whilter request ID, so unless Whilter adds one it cannot be checked against the API: set Authentication (without it, such callbacks are refused).',
				name: 'realtimeNotice',
				type: 'notice',
				default: '',
				displayOptions: { show: { event: ['realtimeMedia'] } },
			},
			{
				displayName: 'Event',
				name: 'event',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Batch Task Completed',
						value: 'batchTask',
						description: 'Whilter\'s callback for a batch task (the Callback URL of Whilter Batch)',
					},
					{
						name: 'Real-Time Media Ready',
						value: 'realtimeMedia',
						description: 'Whilter\'s real-time callback with the client request ID, user ID and video URL',
					},
				],
				default: 'batchTask',
			},
			{
				displayName: 'Authentication',
				name: 'authentication',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'None', value: 'none', description: 'Rely on "Confirm With Whilter API" alone' },
					{ name: 'Header Auth', value: 'headerAuth', description: 'A header with a shared secret (a Whilter Callback Header Auth credential)' },
					{ name: 'Basic Auth', value: 'basicAuth', description: 'HTTP basic auth (a Whilter Callback Basic Auth credential)' },
				],
				default: 'none',
				description:
					'How callers prove they are Whilter. Missing: 401; wrong: 403; nothing starts. Compared in constant time.',
			},
			{
				displayName: 'Confirm With Whilter API',
				name: 'confirmWithApi',
				type: 'boolean',
				default: true,
				// Result Rows are always read from the file path the status API gives, never the caller's.
				displayOptions: { show: { event: ['batchTask'], output: ['callback'] } },
				description:
					'Whether to look the task up (GET /&lt;client&gt;/task/status/&lt;task ID&gt;) before starting, and start only if it exists (else 403) and its status is the one the callback names (else 409). Stops forged callbacks even without a shared secret.',
			},
			{
				displayName: 'Start On Statuses',
				name: 'statuses',
				type: 'multiOptions',
				options: [
					{ name: 'Cancelled', value: 'cancelled' },
					{ name: 'Completed', value: 'completed' },
					{ name: 'Failed', value: 'failed' },
					{ name: 'In Progress', value: 'in-progress' },
					{ name: 'Other (a Status Word Not Listed)', value: 'other', description: 'Any status word the node does not know, passed on as Whilter wrote it' },
					{ name: 'Pending', value: 'pending' },
				],
				default: ['completed'],
				displayOptions: { show: { event: ['batchTask'] } },
				description:
					'Task statuses that start the workflow. Words are matched in any case, with common synonyms (succeeded, finished, …); a word the node does not know is checked with the status API first. A confirmed status not chosen here is answered 200 ("ignored") and starts nothing.',
			},
			{
				displayName: 'Output',
				name: 'output',
				type: 'options',
				options: [
					{ name: 'Callback', value: 'callback', description: 'One item: the callback with the confirmed status' },
					{ name: 'Result Rows', value: 'rows', description: 'One item per row of the task\'s output file (with its media URL and error), read from the file path Whilter\'s status API gives' },
				],
				default: 'callback',
				displayOptions: { show: { event: ['batchTask'] } },
				description: 'What the workflow starts with. Result rows are read only for a completed task; other statuses give the callback item.',
			},
			{
				displayName: 'Rows',
				name: 'rowFilter',
				type: 'options',
				options: RESULT_ROW_FILTER_OPTIONS,
				default: 'all',
				displayOptions: { show: { event: ['batchTask'], output: ['rows'] } },
				description: 'Which rows to output. No row left: nothing starts (the callback is answered 200).',
			},
			{
				displayName: 'Confirm With Whilter API',
				name: 'realtimeConfirmation',
				type: 'options',
				options: [
					{
						name: 'When the Callback Names Its Request',
						value: 'whenIdPresent',
						description: 'Look up GET /status/&lt;Whilter request ID&gt; when the callback carries one; otherwise start unconfirmed',
					},
					{
						name: 'Always (Refuse Callbacks Without a Request ID)',
						value: 'requireId',
						description: 'Callbacks without a Whilter request ID get 400 and start nothing',
					},
					{ name: 'Never', value: 'off', description: 'Trust the callback (use Authentication)' },
				],
				default: 'whenIdPresent',
				displayOptions: { show: { event: ['realtimeMedia'] } },
				description:
					'How to check the callback against the real-time status API (needs the real-time API on your Whilter credential). Confirmed: the status must be SUCCESS and the media URLs must be the API\'s (else 409); unknown request: 403.',
			},
			{
				displayName: 'Start On Statuses',
				name: 'realtimeStatuses',
				type: 'multiOptions',
				options: [
					{ name: 'Success', value: 'SUCCESS', description: 'The media is ready (the documented callback)' },
					{ name: 'Failure', value: 'FAILURE', description: 'Only if Whilter sends a status: FAILURE callback' },
				],
				default: ['SUCCESS'],
				displayOptions: { show: { event: ['realtimeMedia'] } },
				description: 'A callback without a status counts as SUCCESS; others are answered 200 ("ignored") and start nothing',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add option',
				default: {},
				options: [
					{
						displayName: 'Max Body Size (KB)',
						name: 'maxBodySize',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 1024,
						description: 'Larger callbacks get 413 and start nothing (n8n itself refuses bodies above N8N_PAYLOAD_SIZE_MAX, 16 MB by default)',
					},
					maxFieldSizeOption(ROWS_OUTPUT),
					maxResultRowsOption(
						'The most result rows a callback starts the workflow with. The rows are read before n8n answers Whilter; a task with more is answered 500 and starts nothing. For large tasks set Output to Callback and read the rows with Whilter Status → Get Results, which streams them.',
						ROWS_OUTPUT,
					),
					{
						displayName: 'Real-Time Status Path',
						name: 'realtimeStatusPath',
						type: 'string',
						default: REALTIME_STATUS_PATH,
						displayOptions: { show: { '/event': ['realtimeMedia'] } },
						description: 'Path of the real-time status endpoint callbacks are confirmed against',
					},
					{
						displayName: 'Start Once per ID and Status',
						name: 'startOnce',
						type: 'boolean',
						default: true,
						description:
							'Whether a callback that already started this workflow (Whilter retrying, or a replay) is answered 200 "already handled" and starts nothing. Remembered per task ID and status, or per real-time request ID and status, for 7 days (the last 1,000), in the workflow\'s static data. Off: every genuine callback starts.',
					},
					{
						displayName: 'Start Unverified Real-Time Callbacks',
						name: 'allowUnverified',
						type: 'boolean',
						default: false,
						displayOptions: { show: { '/event': ['realtimeMedia'], '/authentication': ['none'] } },
						description:
							'Whether a real-time callback that cannot be checked (no Authentication, and no Whilter request ID to confirm with the API) may start the workflow. Anyone who knows the URL could then start it with any video URL.',
					},
					{
						displayName: 'Status Path',
						name: 'statusPath',
						type: 'string',
						default: TASK_STATUS_PATH,
						displayOptions: { show: { '/event': ['batchTask'] } },
						description: 'Path under /&lt;client&gt; of the task status endpoint callbacks are confirmed against',
					},
				],
			},
		],
	};

	// The callback credentials call nothing: their test checks the values (a header name HTTP allows,
	// a secret long enough not to be guessed).
	methods = {
		credentialTest: {
			async whilterCallbackHeaderAuthTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
				const data = credential.data ?? {};
				return testResult(headerCredentialProblem(String(data.headerName ?? ''), String(data.secret ?? '')));
			},
			async whilterCallbackBasicAuthTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
				const data = credential.data ?? {};
				return testResult(basicCredentialProblem(String(data.user ?? ''), String(data.password ?? '')));
			},
		},
	};

	// Whilter has no endpoint to register or remove a callback: the URL travels with each task
	// (Whilter Batch's "Callback URL" option) or is set up with Whilter once. n8n itself serves the URL
	// while the workflow is published, so there is nothing remote to check, create or delete, and these
	// methods make no calls.
	webhookMethods = {
		default: {
			async checkExists(this: IHookFunctions): Promise<boolean> {
				return true;
			},
			async create(this: IHookFunctions): Promise<boolean> {
				return true;
			},
			async delete(this: IHookFunctions): Promise<boolean> {
				return true;
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		return await handleCallback(this);
	}
}
