/**
 * The package as n8n sees it: the `n8n` section of package.json, the built files it lists, and a
 * build when `dist/` is missing or older than the sources.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import type { ICredentialType, INodeType, INodeTypeDescription, IVersionedNodeType } from 'n8n-workflow';

import { withDirLock } from './lock';
import { REPO_ROOT } from './n8n';

export const DIST_DIR = join(REPO_ROOT, 'dist');

export interface N8nSection {
	n8nNodesApiVersion: number;
	credentials: string[];
	nodes: string[];
}

export function packageJson(): { name: string; version: string; n8n: N8nSection } {
	return JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
		name: string;
		version: string;
		n8n: N8nSection;
	};
}

/** What the build reads: when any of these is newer than a built file, dist/ is stale. */
const SOURCES = ['nodes', 'credentials', 'icons', 'package.json', 'tsconfig.json', 'gulpfile.js', 'index.js', 'scripts/build.sh'];

function newestMtime(path: string): number {
	if (!existsSync(path)) return 0;
	const stat = statSync(path);
	if (!stat.isDirectory()) return stat.mtimeMs;
	let newest = 0;
	for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
	return newest;
}

/** Why dist/ needs a build, or undefined when every listed file is there and newer than the sources. */
export function distStaleness(): string | undefined {
	const section = packageJson().n8n;
	const listed = [...section.credentials, ...section.nodes];
	if (listed.length === 0) return 'package.json lists no nodes or credentials';
	const missing = listed.filter((file) => !existsSync(join(REPO_ROOT, file)));
	if (missing.length > 0) return `missing ${missing.join(', ')}`;
	const oldestBuilt = Math.min(...listed.map((file) => statSync(join(REPO_ROOT, file)).mtimeMs));
	const newestSource = Math.max(...SOURCES.map((source) => newestMtime(join(REPO_ROOT, source))));
	return newestSource > oldestBuilt ? 'sources are newer than dist/' : undefined;
}

/**
 * Builds the package (scripts/build.sh under Node 24, as `npm run build` does) when dist/ is missing
 * or stale. Locked, so two test files starting together build once. Note that scripts/build.sh empties
 * dist/ first: a failed build leaves it without icons until the next good build.
 */
export async function ensurePackageBuilt(): Promise<{ built: boolean; reason?: string; ms: number }> {
	const started = Date.now();
	if (!distStaleness()) return { built: false, ms: 0 };
	// While the sources are mid-edit (and do not compile), N8N_E2E_SKIP_BUILD=1 tests dist/ as it is.
	if (process.env.N8N_E2E_SKIP_BUILD === '1') {
		const missing = packageJson().n8n.nodes.concat(packageJson().n8n.credentials).filter((f) => !existsSync(join(REPO_ROOT, f)));
		if (missing.length > 0) throw new Error(`N8N_E2E_SKIP_BUILD=1 but dist/ lacks ${missing.join(', ')}: run npm run build`);
		return { built: false, reason: 'N8N_E2E_SKIP_BUILD=1: dist/ used as it is', ms: 0 };
	}
	const lock = join(tmpdir(), `whilter-build-lock-${createHash('sha1').update(REPO_ROOT).digest('hex').slice(0, 12)}`);
	return await withDirLock(
		lock,
		async () => {
			const reason = distStaleness();
			if (!reason) return { built: false, ms: Date.now() - started };
			process.stderr.write(`[n8n-e2e] building the package (${reason})\n`);
			const result = spawnSync('bash', ['scripts/node24.sh', 'bash', 'scripts/build.sh'], {
				cwd: REPO_ROOT,
				encoding: 'utf8',
				stdio: ['ignore', 'pipe', 'pipe'],
			});
			if (result.status !== 0) {
				throw new Error(`npm run build failed (exit ${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
			}
			const after = distStaleness();
			if (after) throw new Error(`After npm run build, dist/ is still not usable: ${after}`);
			return { built: true, reason, ms: Date.now() - started };
		},
		10 * 60_000,
	);
}

export interface BuiltNode {
	file: string;
	/** The type name without prefix (n8n loads it as `CUSTOM.<name>` from N8N_CUSTOM_EXTENSIONS). */
	name: string;
	description: INodeTypeDescription;
}

/**
 * A node type as a new node in a workflow gets it: its default version's number and description (for
 * a versioned node, the base description with that version's on top).
 */
export interface PackageNode extends BuiltNode {
	version: number;
}

export interface BuiltCredential {
	file: string;
	name: string;
	type: ICredentialType;
}

type Constructor<T> = new () => T;

/** An instance of each class the file exports that `accept` takes; `path` is absolute or relative to the repository. */
function exportedInstances<T>(path: string, accept: (value: unknown) => value is T): T[] {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const exported = require(resolve(REPO_ROOT, path)) as Record<string, unknown>;
	const found: T[] = [];
	for (const value of Object.values(exported)) {
		if (typeof value !== 'function') continue;
		try {
			const instance = new (value as Constructor<unknown>)();
			if (accept(instance)) found.push(instance);
		} catch {
			// not a type class
		}
	}
	return found;
}

const isNodeType = (value: unknown): value is INodeType | IVersionedNodeType =>
	typeof value === 'object' && value !== null && 'description' in value;

/** Credential classes have a name and properties; node classes, which have a description, never count. */
const isCredentialType = (value: unknown): value is ICredentialType =>
	typeof value === 'object' && value !== null && 'name' in value && 'properties' in value && !('description' in value);

/** The node types a built file exports (`path`: absolute, or relative to the repository such as `dist/…`). */
export function nodeTypesIn(path: string): Array<INodeType | IVersionedNodeType> {
	return exportedInstances(path, isNodeType);
}

/** The credential types a built file exports (`path` as for nodeTypesIn). */
export function credentialTypesIn(path: string): ICredentialType[] {
	return exportedInstances(path, isCredentialType);
}

/** The type at the version a new node gets: `defaultVersion`, else the newest. */
export function atDefaultVersion(file: string, type: INodeType | IVersionedNodeType): PackageNode {
	if ('nodeVersions' in type) {
		const version = type.description.defaultVersion ?? Math.max(...Object.keys(type.nodeVersions).map(Number));
		const description = { ...type.description, ...type.nodeVersions[version].description } as INodeTypeDescription;
		return { file, name: description.name, description, version };
	}
	const description = type.description;
	const versions = Array.isArray(description.version) ? description.version : [description.version];
	return { file, name: description.name, description, version: description.defaultVersion ?? Math.max(...versions) };
}

/** The node types the built files listed in package.json export (one class per file, by n8n's rules). */
export function builtNodes(): BuiltNode[] {
	return packageJson().n8n.nodes.flatMap((file) =>
		nodeTypesIn(file).map((type) => {
			// For a versioned node, the base description alone (see atDefaultVersion for the merged one).
			const description = type.description as INodeTypeDescription;
			return { file, name: description.name, description };
		}),
	);
}

export function builtCredentials(): BuiltCredential[] {
	return packageJson().n8n.credentials.flatMap((file) => credentialTypesIn(file).map((type) => ({ file, name: type.name, type })));
}
