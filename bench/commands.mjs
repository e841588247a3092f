// The whole pipeline under load: HTTP (Fastify) → CommandBus → one-statement write → projection,
// and relay → RabbitMQ (confirms) → consumer app → its read models. Starts the built API and
// consumer as child processes on throwaway databases and a throwaway broker prefix, drives
// POST /orders with autocannon, and prints commands/s, HTTP latency, statements per command,
// how long the projection, the outbox and the consumer need to catch up once the load stops,
// and the end-to-end latency from a command's commit to its effect in the consumer.
//
//   npm run bench                 (BENCH_SECONDS=10 BENCH_CONNECTIONS=32 by default)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import amqp from 'amqplib';
import pg from 'pg';

const server = process.env.TEST_DATABASE_SERVER_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432';
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const port = Number(process.env.BENCH_PORT ?? 3900);
const suffix = randomBytes(4).toString('hex');
const database = `eda_bench_${suffix}`;
const consumerDatabase = `eda_bench_consumer_${suffix}`;
const brokerPrefix = `bench-${suffix}`;
const rabbitmqUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const api = `http://127.0.0.1:${port}`;

const admin = new pg.Client({ connectionString: `${server}/postgres` });
await admin.connect();
await admin.query(`CREATE DATABASE ${database}`);
await admin.query(`CREATE DATABASE ${consumerDatabase}`);
const shared = { ...process.env, RABBITMQ_URL: rabbitmqUrl, BROKER_PREFIX: brokerPrefix, LOG_LEVEL: 'warn' };
const child = spawn(process.execPath, ['dist/src/main.js'], {
  env: { ...shared, DATABASE_URL: `${server}/${database}`, PORT: String(port) },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const consumerChild = spawn(process.execPath, ['dist/src/consumer/main.js'], {
  env: { ...shared, CONSUMER_DATABASE_URL: `${server}/${consumerDatabase}`, CONSUMER_PORT: String(port + 1) },
  stdio: ['ignore', 'inherit', 'inherit'],
});

try {
  await waitForHealth(api);
  await waitForHealth(`http://127.0.0.1:${port + 1}`);
  const customers = [];
  for (let i = 0; i < 50; i++) customers.push(await post('/users', { email: `bench-${i}@example.com`, name: `Bench ${i}` }));
  const bodies = customers.map((customerId) =>
    JSON.stringify({ customerId, currency: 'EUR', lines: [{ sku: 'BENCH-1', quantity: 2, unitPrice: 1250 }, { sku: 'BENCH-2', quantity: 1, unitPrice: 99 }] }),
  );

  const db = new pg.Client({ connectionString: `${server}/${database}` });
  db.on('error', () => {}); // the final DROP DATABASE … WITH (FORCE) ends it if a step failed
  await db.connect();
  const commitsBefore = await transactionsCommitted(db);
  let next = 0;
  const result = await autocannon({
    url: `${api}/orders`,
    connections,
    duration: seconds,
    requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] }) }],
  });
  const loadStoppedAt = Date.now();
  const accepted = result['2xx'];
  const [{ orders }] = (await db.query(`SELECT count(*)::int AS orders FROM orders`)).rows;
  for (;;) {
    const [{ projected }] = (await db.query(`SELECT count(*)::int AS projected FROM order_summaries`)).rows;
    if (projected >= orders) break;
    if (Date.now() - loadStoppedAt > 60_000) throw new Error(`the projection is stuck at ${projected} of ${orders} orders`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const catchUpMs = Date.now() - loadStoppedAt;

  const [{ stored }] = (await db.query(`SELECT count(*)::int AS stored FROM events`)).rows;
  let relayDrainedMs;
  for (;;) {
    const [{ lag }] = (
      await db.query(
        `SELECT count(e.*)::int AS lag FROM subscription_checkpoints c
         LEFT JOIN events e ON e.global_position > c.global_position OR e.global_position IS NULL
         WHERE c.subscription_id = 'relay:integration-events'`,
      )
    ).rows;
    if (lag === 0) {
      relayDrainedMs ??= Date.now() - loadStoppedAt;
      break;
    }
    if (Date.now() - loadStoppedAt > 120_000) throw new Error(`the outbox is stuck at ${lag} events`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const consumerDb = new pg.Client({ connectionString: `${server}/${consumerDatabase}` });
  consumerDb.on('error', () => {});
  await consumerDb.connect();
  for (;;) {
    const [{ applied }] = (await consumerDb.query(`SELECT count(*)::int AS applied FROM inbox`)).rows;
    if (applied >= stored) break;
    if (Date.now() - loadStoppedAt > 180_000) throw new Error(`the consumer is stuck at ${applied} of ${stored} events`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const consumerCaughtUpMs = Date.now() - loadStoppedAt;
  // Commit time (the events' occurredAt) to the consumer's commit of the effect, per order placed.
  const occurred = new Map(
    (await db.query(`SELECT event_id::text AS id, (metadata->>'occurredAt')::timestamptz AS at FROM events WHERE event_type = 'OrderPlaced'`)).rows.map(
      (row) => [row.id, row.at.getTime()],
    ),
  );
  const endToEnd = (await consumerDb.query(`SELECT event_id::text AS id, applied_at AS at FROM inbox WHERE type LIKE '%order-placed%'`)).rows
    .map((row) => row.at.getTime() - occurred.get(row.id))
    .sort((a, b) => a - b);
  await consumerDb.end();
  const commitsAfter = await transactionsCommitted(db);
  await db.end();

  const line = (label, value) => console.log(`${label.padEnd(44)} ${value}`);
  console.log(`\nPOST /orders, ${connections} connections, ${seconds} s, ${new Date().toISOString()}`);
  line('commands accepted (202)', accepted);
  line('non-2xx responses / errors / timeouts', `${result.non2xx} / ${result.errors} / ${result.timeouts}`);
  line('orders in the write model', orders);
  line('commands/s (mean)', Math.round(result.requests.average));
  line('latency p50 / p99 / max (ms)', `${result.latency.p50} / ${result.latency.p99} / ${result.latency.max}`);
  line('PostgreSQL statements per command (all)', ((commitsAfter - commitsBefore) / accepted).toFixed(2));
  line('projection caught up after load stopped (ms)', catchUpMs);
  line('outbox drained (all confirmed) after (ms)', relayDrainedMs);
  line('consumer applied all events after (ms)', consumerCaughtUpMs);
  line('end-to-end commit → consumer effect p50 / p99 (ms)', `${percentile(endToEnd, 0.5)} / ${percentile(endToEnd, 0.99)}`);
  if (result.non2xx > 0 || orders < accepted) process.exitCode = 1;
} finally {
  for (const process of [child, consumerChild]) {
    if (process.exitCode === null && process.signalCode === null) {
      process.kill('SIGTERM');
      await new Promise((resolve) => process.once('exit', resolve));
    }
  }
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.query(`DROP DATABASE IF EXISTS ${consumerDatabase} WITH (FORCE)`);
  await admin.end();
  await deleteBrokerNames();
}

function percentile(sorted, p) {
  return sorted.length === 0 ? 'n/a' : Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]);
}

async function deleteBrokerNames() {
  const connection = await amqp.connect(rabbitmqUrl);
  const channel = await connection.createChannel();
  const queue = `${brokerPrefix}.consumer`;
  for (const name of [queue, `${queue}.dead-letter`, `${queue}.reorder`, ...[1000, 5000, 30000].map((ms) => `${queue}.retry.${ms}ms`)]) {
    await channel.deleteQueue(name);
  }
  await channel.deleteExchange(`${brokerPrefix}.integration`);
  await connection.close();
}

async function waitForHealth(base) {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${base} did not become healthy`);
}

async function post(path, body) {
  const response = await fetch(`${api}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()).id;
}

/**
 * Every autocommit statement is a transaction, so this counts the statements the API ran. Other
 * backends publish their counters at most every ~10 s when idle, hence the wait.
 */
async function transactionsCommitted(db) {
  await new Promise((resolve) => setTimeout(resolve, 11_000));
  await db.query('SELECT pg_stat_clear_snapshot()');
  const { rows } = await db.query(`SELECT xact_commit::bigint AS n FROM pg_stat_database WHERE datname = current_database()`);
  return Number(rows[0].n);
}
