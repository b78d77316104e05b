// n8n's community-node rules (@n8n/node-cli's config: @n8n/eslint-plugin-community-nodes and
// eslint-plugin-n8n-nodes-base), in the variant without the n8n Cloud restrictions.
import { configWithoutCloudSupport } from '@n8n/node-cli/eslint';

export default [
	...configWithoutCloudSupport,
	{ ignores: ['dist/**', 'test/**', 'e2e/**', 'scripts/**', 'bench/**', 'examples/**', '*.js', '*.mjs'] },
	{
		// The package is for self-hosted installs (DESIGN §2): streaming a million-row CSV into a ZIP on
		// S3 needs papaparse, yazl and the AWS SDK at run time, which Cloud-verified nodes may not have.
		files: ['package.json'],
		rules: { '@n8n/community-nodes/no-runtime-dependencies': 'off' },
	},
];
