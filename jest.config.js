/** Tests run the TypeScript sources through SWC (no type check here: `npm run lint` runs tsc on tests). */
module.exports = {
	testEnvironment: 'node',
	roots: ['<rootDir>/test'],
	testMatch: ['**/*.test.ts'],
	transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
	testTimeout: 60_000,
	// Tests start servers on random loopback ports and n8n processes: two cores, keep it to two workers.
	maxWorkers: 2,
};
