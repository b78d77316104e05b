/**
 * The deployment checks (test/deploy/) each record their figures in `.tmp/deploy/<part>.json`;
 * `npm run deploy-check` and `npm test` end with the one line scripts/deploy-summary.ts builds from
 * them. A part that did not run, or failed before recording, shows as `missing` in that line.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export const DEPLOY_FIGURES_DIR = join(__dirname, '..', '..', '.tmp', 'deploy');

/** The parts of the summary line, in the order the line gives them. */
export type DeployPart = 'queue' | 'registry' | 's3_sigv4';

export type DeployFigures = Record<string, string | number>;

/** Merges `figures` into the part's file (several test files may record figures of one part). */
export function recordDeployFigures(part: DeployPart, figures: DeployFigures): void {
	mkdirSync(DEPLOY_FIGURES_DIR, { recursive: true });
	const file = join(DEPLOY_FIGURES_DIR, `${part}.json`);
	const before = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as DeployFigures) : {};
	writeFileSync(file, `${JSON.stringify({ ...before, ...figures }, null, 2)}\n`);
}

export function readDeployFigures(part: DeployPart): DeployFigures {
	const file = join(DEPLOY_FIGURES_DIR, `${part}.json`);
	return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as DeployFigures) : {};
}
