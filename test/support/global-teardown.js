const { Client } = require('pg');
const { brokerObjectsStartingWith, deleteBrokerObjects, describeBrokerObjects, runBrokerPrefix } = require('./broker-leftovers');

const server = process.env.TEST_DATABASE_SERVER_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432';

module.exports = async function globalTeardown(globalConfig) {
  const run = process.env.EDA_TEST_RUN;
  if (!run) return;
  const client = new Client({ connectionString: `${server}/postgres` });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT datname FROM pg_database WHERE datname LIKE $1', [`eda\\_test\\_${run}\\_%`]);
    for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
  // `npm run test:unit` (--selectProjects unit) touches no broker.
  const projects = globalConfig?.selectProjects;
  if (!projects || projects.includes('e2e')) await deleteRunBrokerLeftovers();
};

/**
 * Each e2e file's environment deletes (and fails on) what it left under its own prefix; what is
 * left under this run's is a file's whose environment never finished (a crashed worker). Named
 * here, then deleted. Only this run's names: another run on the same broker keeps its own.
 */
async function deleteRunBrokerLeftovers() {
  try {
    const leftovers = await brokerObjectsStartingWith(`${runBrokerPrefix()}-`);
    if (leftovers.queues.length + leftovers.exchanges.length === 0) return;
    process.stderr.write(
      `\nThe e2e run left ${leftovers.queues.length} queue(s) and ${leftovers.exchanges.length} exchange(s) on the broker (deleted now; the part after the run id names the file): ${describeBrokerObjects(leftovers)}\n`,
    );
    await deleteBrokerObjects(leftovers);
  } catch (error) {
    process.stderr.write(`\nCould not list or delete this run's broker objects (rabbitmqctl, see RABBITMQCTL): ${error.message}\n`);
  }
}
