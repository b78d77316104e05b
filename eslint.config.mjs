// n8n's community-node rules (@n8n/node-cli's config: @n8n/eslint-plugin-community-nodes and
// eslint-plugin-n8n-nodes-base), in the variant without the n8n Cloud restrictions, plus the
// package's layering rule (docs/architecture.md).
import { n8nCommunityNodesPlugin } from '@n8n/eslint-plugin-community-nodes';
import { configWithoutCloudSupport } from '@n8n/node-cli/eslint';

/** Whilter's feature folders: each depends on the API layer and nodes/shared, never on another feature. */
const WHILTER_FEATURES = ['batch', 'status', 'trigger', 'realtime'];

const layering = [
	...WHILTER_FEATURES.map((feature) => ({
		files: [`nodes/Whilter/${feature}/**/*.ts`],
		rules: {
			'no-restricted-imports': [
				'error',
				{
					patterns: [
						{
							group: WHILTER_FEATURES.filter((other) => other !== feature).flatMap((other) => [`../${other}`, `../${other}/*`]),
							message: 'Whilter feature folders do not import each other: move what both need into nodes/Whilter/api/ or nodes/shared/.',
						},
					],
				},
			],
		},
	})),
	{
		files: ['nodes/Whilter/api/**/*.ts'],
		rules: {
			'no-restricted-imports': [
				'error',
				{
					patterns: [
						{
							group: WHILTER_FEATURES.flatMap((feature) => [`../${feature}`, `../${feature}/*`]),
							message: 'The Whilter API layer serves the feature folders and depends on none of them.',
						},
					],
				},
			],
		},
	},
	{
		files: ['nodes/shared/**/*.ts'],
		rules: {
			'no-restricted-imports': [
				'error',
				{ patterns: [{ group: ['../Whilter/*', '../Insider/*', '../TimePay/*'], message: 'nodes/shared/ knows no vendor.' }] },
			],
		},
	},
];

/** Tests, the real-n8n drivers, benchmarks and scripts: TypeScript's rules, not the rules for n8n nodes. */
const TOOLING = ['test/**/*.ts', 'e2e/**/*.ts', 'bench/**/*.ts', 'chaos/**/*.ts', 'scripts/**/*.ts'];
const offForTooling = Object.fromEntries(Object.keys(n8nCommunityNodesPlugin.rules).map((rule) => [`@n8n/community-nodes/${rule}`, 'off']));

export default [
	...configWithoutCloudSupport,
	{ ignores: ['dist/**', 'e2e/n8n-*/**', 'examples/**', 'bench/out/**', '.tools/**', '.tmp/**', '*.js', '*.mjs'] },
	{
		files: TOOLING,
		rules: {
			...offForTooling,
			// Scripts and benchmarks print their figures; tests print nothing unless they fail.
			'no-console': 'off',
		},
	},
	{
		// The package is for self-hosted installs: streaming a million-row CSV into a ZIP on S3 needs
		// papaparse, yazl and the AWS SDK at run time, which n8n Cloud-verified nodes may not have.
		files: ['package.json'],
		rules: { '@n8n/community-nodes/no-runtime-dependencies': 'off' },
	},
	...layering,
];
