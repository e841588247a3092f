const { TestEnvironment } = require('jest-environment-node');
const { Client } = require('pg');
const { brokerObjectsStartingWith, deleteBrokerObjects, describeBrokerObjects, fileBrokerPrefix } = require('./broker-leftovers');

const server = process.env.TEST_DATABASE_SERVER_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432';

/** Arbitrary, fixed: the advisory lock (in the `postgres` database) that every e2e file of every run takes. */
const SHARED_SERVICES_LOCK = 7_340_117_000_421;

/**
 * The e2e files run two at a time, each in its own database and on its own broker prefix; a file
 * whose first docblock says `@exclusive <why>` runs alone. It holds the lock exclusively, the
 * others hold it shared: a file that stops the broker, sets its memory alarm, or measures CPU,
 * latency or load, so that another file neither breaks nor skews it.
 *
 * The lock is a session-level PostgreSQL advisory lock on a connection of the environment's own,
 * held from before the file's first hook to after its last. PostgreSQL queues lock requests in
 * order, so a waiting exclusive request is served before the shared ones that came after it.
 * Nothing else coordinates: another run on the same servers (a second checkout's tests) takes
 * the same lock.
 *
 * Every broker prefix the file makes (uniqueBrokerPrefix) starts with the file's own
 * (EDA_TEST_BROKER_PREFIX, fileBrokerPrefix in broker-leftovers.js). Once its last hook ran, the
 * queues and exchanges still named by it are deleted, whether its tests passed or not. The file
 * fails for leaving them, unless they were handed to its end (deleteAtFileEnd, test-broker.ts) or
 * a test or hook of it failed already. Only this file's names are touched, never those of the
 * file running beside it.
 */
class SharedServicesEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.testPath = context.testPath;
    const reason = context.docblockPragmas.exclusive;
    this.exclusive = reason !== undefined;
    this.brokerPrefix = fileBrokerPrefix(context.testPath, config.projectConfig.rootDir);
    this.global.process.env.EDA_TEST_BROKER_PREFIX = this.brokerPrefix;
    // Filled by deleteAtFileEnd (test-broker.ts).
    this.global.brokerPrefixesDeletedAtFileEnd = new Set();
    this.failed = false;
    if (this.exclusive && !String(reason).trim()) {
      throw new Error(`${context.testPath}: @exclusive needs its reason (what in this file would break or skew another file running beside it)`);
    }
  }

  async setup() {
    await super.setup();
    this.lockClient = new Client({ connectionString: `${server}/postgres`, application_name: 'jest shared-services lock' });
    // A lost connection ends the lock with it: say so rather than crash the worker.
    this.lockClient.on('error', (error) => {
      process.stderr.write(`${this.testPath}: the shared-services lock's connection failed (the file runs on unguarded): ${error.message}\n`);
    });
    await this.lockClient.connect();
    // A lock wait can be long (a whole exclusive file): no statement timeout on this connection.
    await this.lockClient.query('SET statement_timeout = 0');
    await this.lockClient.query(this.exclusive ? 'SELECT pg_advisory_lock($1)' : 'SELECT pg_advisory_lock_shared($1)', [SHARED_SERVICES_LOCK]);
  }

  async handleTestEvent(event, state) {
    if (event.name === 'test_fn_failure' || event.name === 'hook_failure') this.failed = true;
    // After the last afterAll hook, still inside the run: an error added now fails the file.
    if (event.name === 'run_finish') {
      const error = await this.deleteBrokerLeftovers();
      if (error) state.unhandledErrors.push(error);
    }
  }

  /**
   * Deletes the queues and exchanges left under the file's prefix. Returns the error to fail the
   * file with for those no deleteAtFileEnd handed over (a leak), unless a test or hook failed
   * already (then a test's objects may be left for that reason: said on stderr).
   */
  async deleteBrokerLeftovers() {
    let leftovers;
    try {
      leftovers = await brokerObjectsStartingWith(`${this.brokerPrefix}-`);
      await deleteBrokerObjects(leftovers);
    } catch (error) {
      return new Error(`listing or deleting the broker objects of ${this.brokerPrefix}-… failed (rabbitmqctl, see RABBITMQCTL): ${error.message}`);
    }
    const handedOver = [...this.global.brokerPrefixesDeletedAtFileEnd];
    const leaked = (names) => names.filter((name) => !handedOver.some((prefix) => name === prefix || name.startsWith(`${prefix}.`)));
    const leaks = { queues: leaked(leftovers.queues), exchanges: leaked(leftovers.exchanges) };
    if (leaks.queues.length + leaks.exchanges.length === 0) return undefined;
    const message = `left ${leaks.queues.length} queue(s) and ${leaks.exchanges.length} exchange(s) on the broker (deleted now): ${describeBrokerObjects(leaks)}`;
    if (this.failed) {
      process.stderr.write(`${this.testPath}: a test failed and ${message}\n`);
      return undefined;
    }
    return new Error(
      `${message}. A test deletes what it declares (TestApp.close and the test/support closes delete their topology); ` +
        'one kept on purpose past its user (a restart on the same prefix) is handed to the end of the file with deleteAtFileEnd (test-broker.ts).',
    );
  }

  async teardown() {
    // Ending the session releases its lock.
    await this.lockClient?.end().catch(() => undefined);
    await super.teardown();
  }
}

module.exports = SharedServicesEnvironment;
