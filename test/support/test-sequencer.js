const { readFileSync } = require('node:fs');
const Sequencer = require('@jest/test-sequencer').default;
const { extract, parse } = require('jest-docblock');

/**
 * The order the files run in (three at a time), so that few minutes pass with a worker waiting for
 * the shared-services lock (shared-services-environment.js):
 *
 * 1. The unit files (they take no lock).
 * 2. The `@exclusive` e2e files, back to back. Scattered among the others, each one waited for
 *    the file running beside it to end before it could start, with its own worker idle, and then
 *    left the other worker idle for its whole run; back to back, only the second.
 * 3. The other e2e files, slowest first (jest's order: by the last run's time, else by size).
 */
class SharedServicesSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort([...tests]);
    const exclusive = [];
    const unit = [];
    const rest = [];
    for (const test of sorted) {
      if (test.context.config.displayName?.name === 'unit') unit.push(test);
      else if (isExclusive(test.path)) exclusive.push(test);
      else rest.push(test);
    }
    return [...unit, ...exclusive, ...rest];
  }
}

/** Whether the file's first docblock carries `@exclusive` (as the environment reads it). */
function isExclusive(path) {
  return parse(extract(readFileSync(path, 'utf8'))).exclusive !== undefined;
}

module.exports = SharedServicesSequencer;
