import { createReadStream, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type {
	ICredentialType,
	IDataObject,
	INode,
	INodeExecutionData,
	INodeType,
	INodeTypes,
	IRun,
	IWorkflowBase,
	IWorkflowExecuteAdditionalData,
	IVersionedNodeType,
	INodeParameters,
	IExecuteFunctions,
} from 'n8n-workflow';
import { NodeConnectionTypes, Workflow } from 'n8n-workflow';

import { InsiderApi } from '../../credentials/InsiderApi.credentials';
import { TimePayApi } from '../../credentials/TimePayApi.credentials';
import { WhilterApi } from '../../credentials/WhilterApi.credentials';
import { WhilterCallbackBasicAuthApi } from '../../credentials/WhilterCallbackBasicAuthApi.credentials';
import { WhilterCallbackHeaderAuthApi } from '../../credentials/WhilterCallbackHeaderAuthApi.credentials';
import type { StoredCredential } from './credentials';
import { TestCredentialsHelper } from './credentials';

// n8n-core reads its instance settings (user folder, binary data path) when its services are
// first created: point them at a temp folder before n8n-core is loaded.
const userFolder = mkdtempSync(join(tmpdir(), 'whilter-n8n-core-'));
process.env.N8N_USER_FOLDER = userFolder;
process.env.N8N_DEFAULT_BINARY_DATA_MODE = 'filesystem';
process.env.N8N_ENCRYPTION_KEY = 'in-process-tests-only';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const core = require('n8n-core') as typeof import('n8n-core');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Container } = require('@n8n/di') as typeof import('@n8n/di');

export interface TestFile {
	property: string;
	path: string;
	fileName: string;
	mimeType: string;
}

const inputItems = new Map<string, INodeExecutionData[]>();

/** Emits the items given in its `items` parameter: the start of every test workflow. */
class ItemsSource implements INodeType {
	description = {
		displayName: 'Items Source',
		name: 'itemsSource',
		group: ['input'],
		version: 1,
		description: 'Test input',
		defaults: { name: 'Items Source' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		properties: [
			{ displayName: 'Items Key', name: 'itemsKey', type: 'string' as const, default: '' },
			{ displayName: 'Files', name: 'files', type: 'json' as const, default: '[]' },
		],
	} as INodeType['description'];

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const parse = (name: string) => {
			const value = this.getNodeParameter(name, 0) as unknown;
			return typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
		};
		// Items are handed over in memory, not as a JSON parameter: a million rows then exist once,
		// as they would coming out of a database node, and the benchmark measures the node, not a copy.
		const list = inputItems.get(String(this.getNodeParameter('itemsKey', 0))) ?? [];
		const files = parse('files') as Array<TestFile | null>;
		const out: INodeExecutionData[] = [];
		for (const [index, item] of list.entries()) {
			const file = files[index];
			// The given item objects themselves go out (a database node's rows would not be copied either).
			item.pairedItem = { item: index };
			// Files go into n8n's binary storage as a stream, as Read File does: the item holds an id.
			if (file) {
				item.binary = {
					...(item.binary ?? {}),
					[file.property]: await this.helpers.prepareBinaryData(createReadStream(file.path), file.fileName, file.mimeType),
				};
			}
			out.push(item);
		}
		return [out];
	}
}

const probes = new Map<string, (context: IExecuteFunctions) => Promise<INodeExecutionData[]>>();

/**
 * Runs a test's function as a node, with n8n-core's own ExecuteContext as `this`: a way to call a
 * package helper (a vendor's transport) from inside a real execution, cancel signal included.
 */
class Probe implements INodeType {
	description = {
		displayName: 'Probe',
		name: 'probe',
		group: ['transform'],
		version: 1,
		description: 'Test probe',
		defaults: { name: 'Probe' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		// Any of the package's credentials, as the probe's test gives them.
		credentials: ['whilterApi', 'insiderApi', 'timePayApi'].map((name) => ({ name, required: false })),
		properties: [{ displayName: 'Probe Key', name: 'probeKey', type: 'string' as const, default: '' }],
	} as INodeType['description'];

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const probe = probes.get(String(this.getNodeParameter('probeKey', 0)));
		if (!probe) throw new Error('No probe registered under this key');
		return [await probe(this)];
	}
}

let probeCounter = 0;

/** A node spec that runs `probe` inside the execution (its credentials as given). */
export function probeNode(
	name: string,
	probe: (context: IExecuteFunctions) => Promise<INodeExecutionData[]>,
	credentials?: NodeSpec['credentials'],
): NodeSpec {
	const key = `probe-${++probeCounter}`;
	probes.set(key, probe);
	return { name, type: 'probe', parameters: { probeKey: key }, credentials };
}

// Every node of the package, found by file name as n8n finds custom extensions. tsx (bench,
// sandbox) resolves "X.node" to the codex file X.node.json before X.node.ts, so the node files are
// loaded with their extension spelled out.
function loadPackageNodeTypes(): Record<string, INodeType | IVersionedNodeType> {
	const nodesDir = join(__dirname, '..', '..', 'nodes');
	const found: Record<string, INodeType | IVersionedNodeType> = {};
	for (const file of readdirSync(nodesDir, { recursive: true }) as string[]) {
		if (!file.endsWith('.node.ts')) continue;
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const exports = require(join(nodesDir, file)) as Record<string, unknown>;
		for (const exported of Object.values(exports)) {
			if (typeof exported !== 'function') continue;
			const instance = new (exported as new () => INodeType | IVersionedNodeType)();
			if (instance.description?.name) found[instance.description.name] = instance;
		}
	}
	return found;
}

/** Every node and credential type of the package, as n8n would load them. */
export const packageNodeTypes: Record<string, INodeType | IVersionedNodeType> = loadPackageNodeTypes();

const credentialTypes = new Map<string, ICredentialType>(
	[new WhilterApi(), new InsiderApi(), new TimePayApi(), new WhilterCallbackHeaderAuthApi(), new WhilterCallbackBasicAuthApi()].map((t) => [t.name, t]),
);

const allNodeTypes: Record<string, INodeType | IVersionedNodeType> = {
	...packageNodeTypes,
	itemsSource: new ItemsSource(),
	probe: new Probe(),
};

/** The package's node types and the test nodes, as n8n's NodeTypes serves them ('<package>.<name>' or the bare name). */
export const testNodeTypes: INodeTypes = {
	getByName: (name) => allNodeTypes[name.replace(/^.*\./, '')],
	getByNameAndVersion: (name) => {
		const type = allNodeTypes[name.replace(/^.*\./, '')];
		if (!type) throw new Error(`Unknown node type ${name}`);
		return 'nodeVersions' in type ? type.nodeVersions[type.currentVersion] : type;
	},
	getKnownTypes: () => ({}),
};

let binaryDataReady: Promise<void> | undefined;
async function ensureBinaryData(): Promise<void> {
	binaryDataReady ??= Container.get(core.BinaryDataService).init();
	await binaryDataReady;
}

/** A credential store shared by the runs that use it, as n8n's database is. */
export class CredentialStore {
	readonly entries = new Map<string, StoredCredential>();

	readonly helper = new TestCredentialsHelper(credentialTypes, this.entries);

	private nextId = 1;

	add(type: string, data: IDataObject, name = `${type} ${this.nextId}`): { id: string; name: string } {
		const id = String(this.nextId++);
		this.entries.set(id, { id, name, type, data: data as StoredCredential['data'] });
		return { id, name };
	}

	data(id: string): IDataObject {
		return this.entries.get(id)!.data as IDataObject;
	}
}

export interface NodeSpec {
	name: string;
	/** Node type name without package prefix, e.g. 'whilterStatus'. */
	type: string;
	parameters?: INodeParameters;
	credentials?: Record<string, { id: string; name: string }>;
	continueOnFail?: boolean;
	/** Settings → On Error: "Continue (using error output)": failed items leave on a second output. */
	errorOutput?: boolean;
}

export interface RunResult {
	run: IRun;
	/** Output items of a node's first run, first output. */
	output(nodeName: string, outputIndex?: number): INodeExecutionData[];
	/** The error that stopped the execution, if one did. */
	error?: Error & { description?: string; httpCode?: string; context?: IDataObject };
}

/** What n8n-core's execution and webhook contexts read from n8n around them, for the test instance. */
export function baseAdditionalData(credentials: CredentialStore, executionId: string | undefined, workflowId: string): IWorkflowExecuteAdditionalData {
	return {
		credentialsHelper: credentials.helper,
		executionId,
		currentNodeExecutionIndex: 0,
		restApiUrl: 'http://127.0.0.1/rest',
		instanceBaseUrl: 'http://127.0.0.1/',
		formBaseUrl: 'http://127.0.0.1/form',
		formWaitingBaseUrl: 'http://127.0.0.1/form-waiting',
		formTestBaseUrl: 'http://127.0.0.1/form-test',
		webhookBaseUrl: 'http://127.0.0.1/webhook',
		webhookWaitingBaseUrl: 'http://127.0.0.1/webhook-waiting',
		webhookTestBaseUrl: 'http://127.0.0.1/webhook-test',
		mcpBaseUrl: 'http://127.0.0.1/mcp',
		mcpTestBaseUrl: 'http://127.0.0.1/mcp-test',
		variables: {},
		userId: 'test-user',
		workflowId,
		logAiEvent: () => undefined,
		getRunExecutionData: async () => undefined,
		getRuntimeCredential: async () => undefined,
		executeWorkflow: async () => {
			throw new Error('Sub-workflows are not part of these tests');
		},
		startRunnerTask: async () => {
			throw new Error('Task runners are not part of these tests');
		},
	} as unknown as IWorkflowExecuteAdditionalData;
}

let executionCounter = 0;

/**
 * Runs Items Source → the given nodes in a chain through n8n-core's WorkflowExecute: real parameter
 * resolution, expressions, credentials (with preAuthentication), binary data and error handling.
 */
export async function runChain(options: {
	items: INodeExecutionData[];
	/** Per item: a file put into n8n's binary storage under `property`. */
	files?: Array<TestFile | null>;
	nodes: NodeSpec[];
	credentials: CredentialStore;
	/** Hands the test a way to cancel the running execution, as n8n's "stop" button does. */
	onStart?: (cancel: () => void) => void;
}): Promise<RunResult> {
	await ensureBinaryData();
	const executionId = String(++executionCounter);
	inputItems.set(executionId, options.items);
	const nodes: INode[] = [
		{
			id: 'source',
			name: 'Source',
			type: 'test.itemsSource',
			typeVersion: 1,
			position: [0, 0],
			parameters: { itemsKey: executionId, files: JSON.stringify(options.files ?? []) },
		},
		...options.nodes.map(
			(spec, index): INode => ({
				id: `node-${index}`,
				name: spec.name,
				type: `n8n-nodes-whilter.${spec.type}`,
				typeVersion: 1,
				position: [200 * (index + 1), 0],
				parameters: spec.parameters ?? {},
				credentials: spec.credentials,
				...(spec.continueOnFail ? { onError: 'continueRegularOutput' as const } : {}),
				...(spec.errorOutput ? { onError: 'continueErrorOutput' as const } : {}),
			}),
		),
	];
	const connections: IWorkflowBase['connections'] = {};
	for (let i = 0; i < nodes.length - 1; i++) {
		connections[nodes[i].name] = { main: [[{ node: nodes[i + 1].name, type: 'main', index: 0 }]] };
	}
	const workflowData: IWorkflowBase = {
		id: 'test-workflow',
		name: 'test',
		active: false,
		isArchived: false,
		nodes,
		connections,
		createdAt: new Date(),
		updatedAt: new Date(),
		settings: {},
	} as IWorkflowBase;
	const workflow = new Workflow({
		id: workflowData.id,
		name: workflowData.name,
		nodes,
		connections,
		active: false,
		nodeTypes: testNodeTypes,
		staticData: {},
		settings: {},
	});
	const hooks = new core.ExecutionLifecycleHooks('manual', executionId, workflowData);
	const additionalData = { ...baseAdditionalData(options.credentials, executionId, workflowData.id), hooks } as IWorkflowExecuteAdditionalData;
	const execute = new core.WorkflowExecute(additionalData, 'manual');
	const running = execute.run({ workflow, startNode: workflow.getNode('Source')! });
	options.onStart?.(() => running.cancel());
	const run = await running.finally(() => inputItems.delete(executionId));
	const runData = run.data.resultData.runData;
	return {
		run,
		output: (nodeName, outputIndex = 0) => runData[nodeName]?.[0]?.data?.main?.[outputIndex] ?? [],
		error: run.data.resultData.error as RunResult['error'],
	};
}

/** Lets jest exit: n8n-core's services keep timers and temp folders. */
export async function shutdownN8nCore(): Promise<void> {
	// Not exported by n8n-core's index; its 60 s cleanup interval is the timer to stop.
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const { SSHClientsManager } = require('n8n-core/dist/execution-engine/ssh-clients-manager') as {
		SSHClientsManager: new () => { onShutdown(): void };
	};
	Container.get(SSHClientsManager).onShutdown();
	rmSync(userFolder, { recursive: true, force: true });
}
