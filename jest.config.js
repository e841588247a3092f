// Unit tests live next to the code (src, *.spec.ts) and need no server; e2e tests
// (test, *.e2e-spec.ts) run against the real PostgreSQL, each file in its own database.
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];

module.exports = {
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
  // testTimeout is a global option (ignored inside projects): e2e hooks start and stop real apps.
  testTimeout: 60000,
  // How long a worker may take to exit once its files are done before jest kills it and warns "A
  // worker process has failed to exit gracefully" (default 500 ms). An e2e worker has held whole
  // apps (a heap of 250 MB and more): its event loop is empty within milliseconds of the end, but
  // the process then spends 200-600 ms freeing that memory, more on a busy machine, which tripped
  // the warning with no handle left open (--detectOpenHandles finds none). A handle that is left
  // open keeps the worker alive for good, so it still shows, after 5 s.
  workerGracefulExitTimeout: 5000,
  // Three files at a time on the two cores CI has (each e2e file has its own database and broker
  // prefix): many e2e files spend seconds waiting on timeouts (leases, frozen and vanished peers),
  // and with two workers a core sat idle meanwhile; three took a fresh-clone `.ci/run` from
  // 575-644 s to 438 s (2026-12-02). An e2e file marked `@exclusive <why>` runs alone
  // (test/support/shared-services-environment.js): the files whose timing needs the cores.
  maxWorkers: 3,
  // Unit files, then the exclusive e2e files back to back, then the rest (test/support/test-sequencer.js).
  testSequencer: '<rootDir>/test/support/test-sequencer.js',
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      rootDir: '.',
      // The bench's pure parts (bench/*.spec.mjs, native ES modules) run with them.
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/bench/**/*.spec.mjs'],
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
