// Unit tests live next to the code (src, *.spec.ts) and need no server; e2e tests
// (test, *.e2e-spec.ts) run against the real PostgreSQL, each file in its own database.
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];

module.exports = {
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
  // testTimeout is a global option (ignored inside projects): e2e hooks start and stop real apps.
  testTimeout: 60000,
  // Two files at a time (each e2e file has its own database and broker prefix); an e2e file marked
  // `@exclusive <why>` runs alone (test/support/shared-services-environment.js).
  maxWorkers: 2,
  // Unit files, then the exclusive e2e files back to back, then the rest (test/support/test-sequencer.js).
  testSequencer: '<rootDir>/test/support/test-sequencer.js',
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      rootDir: '.',
      testMatch: ['<rootDir>/src/**/*.spec.ts'],
      transform: { '^.+\\.ts$': tsJest },
    },
    {
      displayName: 'e2e',
      rootDir: '.',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      testEnvironment: '<rootDir>/test/support/shared-services-environment.js',
      transform: { '^.+\\.ts$': tsJest },
    },
  ],
};
