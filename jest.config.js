// Unit tests live next to the code (src, *.spec.ts) and need no server; e2e tests
// (test, *.e2e-spec.ts) run against the real PostgreSQL, each file in its own database.
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];

module.exports = {
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
  // testTimeout is a global option (ignored inside projects): e2e hooks start and stop real apps.
  testTimeout: 60000,
  // One file at a time: the resilience tests stop and start the shared RabbitMQ.
  maxWorkers: 1,
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
      testEnvironment: 'node',
      rootDir: '.',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      transform: { '^.+\\.ts$': tsJest },
    },
  ],
};
