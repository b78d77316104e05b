/**
 * Tests run the TypeScript sources through SWC (no type check here: `npm run lint` runs tsc on tests).
 * Six named projects, so one kind can be run alone: `npx jest --selectProjects unit` (or servers,
 * nodes, e2e, deploy, chaos); plain `npx jest` runs them all. `deploy` is what `npm run deploy-check` runs:
 * n8n in queue mode, the Community Nodes install from a registry, S3's signature checks. `chaos` is
 * a short `npm run chaos` with a random seed (printed).
 */
const shared = {
	rootDir: __dirname,
	testMatch: ['**/*.test.ts'],
	transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
	// Node's environment, plus: console output is kept per test and printed only when that test fails
	// (n8n-core logs every node error it sees, which buried the results).
	testEnvironment: '<rootDir>/test/harness/quietConsoleEnvironment.ts',
};

module.exports = {
	projects: [
		{ ...shared, displayName: 'unit', roots: ['<rootDir>/test/unit'] },
		{ ...shared, displayName: 'servers', roots: ['<rootDir>/test/servers'] },
		{ ...shared, displayName: 'nodes', roots: ['<rootDir>/test/nodes'] },
		{ ...shared, displayName: 'e2e', roots: ['<rootDir>/test/e2e'] },
		{ ...shared, displayName: 'deploy', roots: ['<rootDir>/test/deploy'] },
		{ ...shared, displayName: 'chaos', roots: ['<rootDir>/test/chaos'] },
	],
	// Global options (Jest reads them only here, not per project). Jest 30's runner (jest-circus) takes
	// the test timeout from the global config only, so it stays here too; the e2e files that need
	// longer set it themselves (jest.setTimeout, or a timeout per test).
	testTimeout: 60_000,
	// Tests start servers on random loopback ports and n8n processes: two cores, keep it to two workers.
	maxWorkers: 2,
};
