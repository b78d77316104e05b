/**
 * Prints the deployment summary line from the figures the deployment checks recorded
 * (test/deploy/figures.ts). `--fresh` removes old figures first (run before the checks).
 * Exit code 1 when a figure is missing or not the expected value.
 */
import { rmSync } from 'node:fs';

import { DEPLOY_FIGURES_DIR, readDeployFigures } from '../test/deploy/figures';
import type { DeployPart } from '../test/deploy/figures';

/** Each figure and what it must be (a number is accepted as it is). */
const LINE: Array<[DeployPart, string, Array<[string, string | 'number']>]> = [
	[
		'queue',
		'deploy',
		[
			['queue_examples', '3/3'],
			['on_worker', '3/3'],
			['webhook_processor', 'ok'],
			['resume_across_processes', 'ok'],
			['file_1M_worker_peak_mb', 'number'],
			['duplicate_tasks', '0'],
		],
	],
	[
		'registry',
		'registry',
		[
			['install', 'ok'],
			['update', 'ok'],
			['uninstall', 'ok'],
			['installed_mb', 'number'],
		],
	],
	[
		's3_sigv4',
		's3_sigv4',
		[
			['wrong_secret', 'refused'],
			['wrong_region', 'refused'],
			['skewed_clock', 'refused'],
			['conditional_write', '412'],
		],
	],
];

function main(args: string[]): void {
	if (args.includes('--fresh')) {
		rmSync(DEPLOY_FIGURES_DIR, { recursive: true, force: true });
		return;
	}
	let complete = true;
	const parts = LINE.map(([part, label, figures]) => {
		const recorded = readDeployFigures(part);
		const shown = figures.map(([name, expected]) => {
			const value = recorded[name];
			const good = value !== undefined && (expected === 'number' ? typeof value === 'number' : String(value) === expected);
			if (!good) complete = false;
			return `${name}=${value === undefined ? 'missing' : String(value)}`;
		});
		return `${label}: ${shown.join(' ')}`;
	});
	process.stdout.write(`${parts.join('; ')}\n`);
	process.exit(complete ? 0 : 1);
}

main(process.argv.slice(2));
