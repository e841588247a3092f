const { TestEnvironment } = require('jest-environment-node');
const { Client } = require('pg');
const { fileBrokerPrefix, recordHandedOverPrefixes } = require('./broker-leftovers');

const server = process.env.TEST_DATABASE_SERVER_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432';

/** Arbitrary, fixed: the advisory lock (in the `postgres` database) that every e2e file of every run takes. */
const SHARED_SERVICES_LOCK = 7_340_117_000_421;

/**
 * The e2e files run three at a time, each in its own database and on its own broker prefix; a file
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
 * (EDA_TEST_BROKER_PREFIX, fileBrokerPrefix in broker-leftovers.js), so a queue or exchange left
 * on the broker names the file that declared it. The prefixes a file handed to its end on purpose
 * (deleteAtFileEnd, test-broker.ts) are recorded for the run when it ends; the global teardown
 * lists the run's objects once (rabbitmqctl boots an Erlang VM, about 1 s of CPU a listing: once
 * per file cost the suite minutes), deletes them, and fails the run naming any not handed over.
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

  async teardown() {
    // The global teardown deletes these with the rest of the run's objects, and expects them.
    recordHandedOverPrefixes(this.global.brokerPrefixesDeletedAtFileEnd);
    // Ending the session releases its lock.
    await this.lockClient?.end().catch(() => undefined);
    await super.teardown();
  }
}

module.exports = SharedServicesEnvironment;
