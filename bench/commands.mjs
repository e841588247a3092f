// Command throughput through the full stack: HTTP (Fastify) → CommandBus → one-statement write
// → projection. Starts the built API as a child process on a throwaway database, drives
// POST /orders with autocannon, and prints requests/s, latency, statements per command and how
// long the projection takes to catch up once the load stops.
//
//   npm run bench                 (BENCH_SECONDS=10 BENCH_CONNECTIONS=32 by default)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import pg from 'pg';

const server = process.env.TEST_DATABASE_SERVER_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432';
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const port = Number(process.env.BENCH_PORT ?? 3900);
const database = `eda_bench_${randomBytes(4).toString('hex')}`;
const api = `http://127.0.0.1:${port}`;

const admin = new pg.Client({ connectionString: `${server}/postgres` });
await admin.connect();
await admin.query(`CREATE DATABASE ${database}`);
const child = spawn(process.execPath, ['dist/src/main.js'], {
  env: { ...process.env, DATABASE_URL: `${server}/${database}`, PORT: String(port), LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'inherit', 'inherit'],
});

try {
  await waitForHealth();
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
  if (result.non2xx > 0 || orders < accepted) process.exitCode = 1;
} finally {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
}

async function waitForHealth() {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${api}/health`)).ok) return;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('the API did not become healthy');
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
