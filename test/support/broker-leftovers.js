const { createHash } = require('node:crypto');
const { execFile } = require('node:child_process');
const { appendFileSync, readFileSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');
const amqp = require('amqplib');

// As in test-broker.ts and rabbitmqctl.ts (this file runs outside the TypeScript transform: the
// test environment and the global teardown load it).
const TEST_RABBITMQ_URL = process.env.TEST_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const RABBITMQCTL = (process.env.RABBITMQCTL ?? 'rabbitmqctl').trim().split(/\s+/);

/** Every broker prefix of this run starts with this (global-setup.js names the run). */
function runBrokerPrefix() {
  return `test-${process.env.EDA_TEST_RUN ?? 'adhoc'}`.toLowerCase();
}

/**
 * What every broker prefix of the e2e file `testPath` starts with in this run:
 * `test-<run>-<file name, at most 16 characters>_<4 hex of its path>`, so that a queue or exchange
 * names the file that declared it. Short: a prefix must stay at most 50 characters (the lease
 * session's `application_name`, `lease relay:<prefix> host=…`, is cut at 63), and this leaves
 * room for the run (up to 15) and uniqueBrokerPrefix's `-<6 hex>`. The `_` ends the file part
 * (file names have none), so no file's prefix starts another's.
 */
function fileBrokerPrefix(testPath, rootDir) {
  const slug = path
    .basename(testPath)
    .replace(/\.e2e-spec\.ts$/, '')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 16);
  const hash = createHash('sha256').update(path.relative(rootDir, testPath)).digest('hex').slice(0, 4);
  return `${runBrokerPrefix()}-${slug}_${hash}`;
}

async function listNames(kind) {
  const [command, ...prefix] = RABBITMQCTL;
  const { stdout } = await promisify(execFile)(command, [...prefix, `list_${kind}`, 'name', '--quiet', '--no-table-headers'], { timeout: 60_000 });
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

/** The queues and exchanges whose names start with `prefix`, listed with `rabbitmqctl` (no management plugin needed). */
async function brokerObjectsStartingWith(prefix) {
  const [queues, exchanges] = await Promise.all([listNames('queues'), listNames('exchanges')]);
  return { queues: queues.filter((name) => name.startsWith(prefix)), exchanges: exchanges.filter((name) => name.startsWith(prefix)) };
}

/** Deletes the queues and exchanges (one gone already is no error). */
async function deleteBrokerObjects({ queues, exchanges }) {
  if (queues.length + exchanges.length === 0) return;
  const connection = await amqp.connect(TEST_RABBITMQ_URL);
  try {
    const channel = await connection.createChannel();
    for (const queue of queues) await channel.deleteQueue(queue);
    for (const exchange of exchanges) await channel.deleteExchange(exchange);
    await channel.close();
  } finally {
    await connection.close();
  }
}

function describeBrokerObjects({ queues, exchanges }) {
  return [...queues.map((name) => `queue ${name}`), ...exchanges.map((name) => `exchange ${name}`)].join(', ');
}

/** Where this run's e2e files record the prefixes they handed to their end (deleteAtFileEnd). */
function handedOverFile() {
  return path.join(os.tmpdir(), `eda-${runBrokerPrefix()}-handed-over-prefixes`);
}

/**
 * Records prefixes whose queues and exchanges a file left on purpose (one per line). Called by
 * every e2e file at its end, with none too: the file's existence tells the global teardown that an
 * e2e file ran (a run of unit files alone never asks rabbitmqctl anything).
 */
function recordHandedOverPrefixes(prefixes) {
  appendFileSync(handedOverFile(), [...(prefixes ?? [])].map((prefix) => `${prefix}\n`).join(''));
}

/** The prefixes this run's files handed over, and forgets them; undefined when no e2e file ran. */
function takeHandedOverPrefixes() {
  let text;
  try {
    text = readFileSync(handedOverFile(), 'utf8');
  } catch {
    return undefined;
  }
  rmSync(handedOverFile(), { force: true });
  return text.split('\n').filter(Boolean);
}

module.exports = {
  runBrokerPrefix,
  fileBrokerPrefix,
  brokerObjectsStartingWith,
  deleteBrokerObjects,
  describeBrokerObjects,
  recordHandedOverPrefixes,
  takeHandedOverPrefixes,
};
