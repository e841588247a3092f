const os = require('node:os');
const path = require('node:path');

module.exports = function globalSetup() {
  // Names this run's test databases, so the teardown can drop whatever a crashed test left behind.
  process.env.EDA_TEST_RUN = `${Date.now().toString(36)}${process.pid}`;
  // The built apps, CLIs and scripts the e2e files start (well over a hundred processes a run)
  // share one V8 compile cache (Node's module.enableCompileCache): each start compiles the same
  // few thousand modules, and a cached start takes about a fifth less CPU. Inherited by the
  // workers and everything they spawn; an operator's own setting wins.
  process.env.NODE_COMPILE_CACHE ??= path.join(os.tmpdir(), 'eda-test-node-compile-cache');
};
