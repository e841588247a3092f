const { Client } = require('pg');
const { brokerObjectsStartingWith, deleteBrokerObjects, describeBrokerObjects, runBrokerPrefix, takeHandedOverPrefixes } = require('./broker-leftovers');

const server = process.env.TEST_DATABASE_SERVER_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432';

module.exports = async function globalTeardown() {
  const run = process.env.EDA_TEST_RUN;
  if (!run) return;
  // Both, even when the first fails; then the first failure is the run's.
  const outcomes = await Promise.allSettled([dropRunDatabases(run), deleteRunBrokerLeftovers()]);
  const failed = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;
};

/** Drops the databases this run's files left (a crashed file's, or one kept to the end on purpose). */
async function dropRunDatabases(run) {
  const client = new Client({ connectionString: `${server}/postgres` });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT datname FROM pg_database WHERE datname LIKE $1', [`eda\\_test\\_${run}\\_%`]);
    for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/**
 * Deletes what this run left on the broker (only its names: another run on the same broker keeps
 * its own), listed once. What the files handed to their end (deleteAtFileEnd) is expected; any
 * other object is a leak, and fails the run naming it (the part after the run id names the file).
 */
async function deleteRunBrokerLeftovers() {
  const handedOver = takeHandedOverPrefixes();
  // No e2e file ran (unit files alone): nothing to ask the broker.
  if (handedOver === undefined) return;
  let leftovers;
  try {
    leftovers = await brokerObjectsStartingWith(`${runBrokerPrefix()}-`);
    await deleteBrokerObjects(leftovers);
  } catch (error) {
    throw new Error(`Could not list or delete this run's broker objects (rabbitmqctl, see RABBITMQCTL): ${error.message}`);
  }
  const leaked = (names) => names.filter((name) => !handedOver.some((prefix) => name === prefix || name.startsWith(`${prefix}.`)));
  const leaks = { queues: leaked(leftovers.queues), exchanges: leaked(leftovers.exchanges) };
  if (leaks.queues.length + leaks.exchanges.length === 0) return;
  throw new Error(
    `The e2e run left ${leaks.queues.length} queue(s) and ${leaks.exchanges.length} exchange(s) on the broker (deleted now): ` +
      `${describeBrokerObjects(leaks)}. (A file that failed or whose worker crashed may have left them for that reason.) A test deletes what it declares (TestApp.close and the test/support closes delete their ` +
      'topology); one kept on purpose past its user (a restart on the same prefix) is handed to the end of its file with deleteAtFileEnd (test-broker.ts).',
  );
}
