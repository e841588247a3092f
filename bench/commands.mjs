// The whole pipeline under load, saga on: HTTP (Fastify) → CommandBus → one-statement write →
// sequencer → projections, the saga's reactions, and the relay → RabbitMQ (confirms) → consumer
// app → its read models. Needs PostgreSQL and RabbitMQ running (`.ci/run` starts them); starts
// the built API and consumer as child processes on throwaway databases and a throwaway broker
// prefix, drives POST /orders with autocannon, and removes all of it again at the end (also on
// Ctrl-C). It prints one summary:
//
// - load: accepted commands/s, HTTP latency, PostgreSQL transactions per command;
// - orders: placed → decided per order (OrderPlaced → OrderConfirmed/OrderRejected), how many were
//   decided, still undecided at the end, rejected and why (`timeout` is a failure sign), and
//   placed → the consumer's notice of the decision;
// - the consumer: every event from its recording to its effect in the consumer, and the figure
//   earlier READMEs report (OrderPlaced commit → consumer effect);
// - the lag of each reader: every row of `subscription_checkpoints` (projections, reactions, the
//   relay, whatever their names), the sequencer (events not numbered yet) and the consumer, at its
//   worst during the load, when the load stopped, and how long after it each reached the head.
//
// It exits 1 if a request failed, an accepted order or event went missing, an order was left
// undecided or rejected for `timeout`, or a reader did not reach the head within the deadline.
//
//   npm run bench     BENCH_SECONDS=10  BENCH_CONNECTIONS=32  BENCH_SAGA=on|off  BENCH_SAMPLE_MS=250
//                     BENCH_DRAIN_TIMEOUT_S=120  BENCH_CPU_PROFILE=<folder for V8 .cpuprofile files>
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import autocannon from 'autocannon';
import amqp from 'amqplib';
import pg from 'pg';

const server = process.env.TEST_DATABASE_SERVER_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432';
const rabbitmqUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const port = Number(process.env.BENCH_PORT ?? 3900);
const saga = (process.env.BENCH_SAGA ?? 'on') !== 'off';
/** Lag sampling period during the load; after it, 25 ms, so the drain times are that precise. */
const loadSampleMs = Number(process.env.BENCH_SAMPLE_MS ?? 250);
const drainSampleMs = 25;
const drainTimeoutMs = Number(process.env.BENCH_DRAIN_TIMEOUT_S ?? 120) * 1000;
const retryDelaysMs = (process.env.CONSUMER_RETRY_DELAYS_MS ?? '1000,5000,30000').split(',').map(Number);

const suffix = randomBytes(4).toString('hex');
const database = `eda_bench_${suffix}`;
const consumerDatabase = `eda_bench_consumer_${suffix}`;
const brokerPrefix = `bench-${suffix}`;
const api = `http://127.0.0.1:${port}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const progress = (message) => process.stderr.write(`bench: ${message}\n`);

/**
 * Reader lag, sampled with ONE read-only statement on its own connection (plus a count of the
 * consumer's inbox on another): no transaction id, no lock, a handful of index look-ups, about
 * 4 statements a second during the load (40 while it drains) against thousands the API sends, so it hardly disturbs
 * what it measures (its statements are taken out of "transactions per command").
 *
 * Positions are contiguous from 1 (the sequencer numbers without gaps), so a reader's lag in
 * events is head − checkpoint, and its lag in time is the age of the first event it has not
 * taken (checkpoint + 1). Events not numbered yet are the sequencer's own lag; head + unnumbered
 * is every event stored, which is what the consumer must apply. Every checkpoint row is read,
 * whatever its name: projections, reactions, the relay. `recorded_at` is the moment of the append,
 * so an event appended inside a reaction's batch transaction ages while that transaction is still
 * open and no reader can see it yet: the age says how late the event is, not whose fault it is.
 */
const LAG_SQL = `
  SELECT (SELECT coalesce(max(global_position), 0) FROM events)::float8 AS head,
    (SELECT count(*) FROM events WHERE global_position IS NULL)::float8 AS unnumbered,
    (SELECT extract(epoch FROM clock_timestamp() - min(recorded_at)) * 1000 FROM events WHERE global_position IS NULL)::float8 AS "unnumberedAgeMs",
    coalesce((SELECT json_agg(json_build_object('id', c.subscription_id, 'checkpoint', c.global_position,
      'ageMs', (SELECT extract(epoch FROM clock_timestamp() - e.recorded_at) * 1000 FROM events e WHERE e.global_position = c.global_position + 1)))
      FROM subscription_checkpoints c), '[]') AS checkpoints`;
const SEQUENCER = 'sequencer (events not numbered yet)';
const CONSUMER = 'consumer app (inbox vs events stored)';

const admin = new pg.Client({ connectionString: `${server}/postgres` });
await admin.connect().catch((error) => {
  throw new Error(`PostgreSQL at ${server} is not reachable (${error.message}): start it first (.ci/run does)`);
});
await amqp
  .connect(rabbitmqUrl)
  .then((connection) => connection.close())
  .catch((error) => {
    throw new Error(`RabbitMQ at ${rabbitmqUrl} is not reachable (${error.message}): start it first (.ci/run does)`);
  });

const children = [];
let cleaning;
/** Stops the processes and drops what the run created; safe to call twice (finally and Ctrl-C). */
const cleanUp = () =>
  (cleaning ??= (async () => {
    for (const child of children) await stop(child);
    for (const name of [database, consumerDatabase]) {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch((error) => progress(`could not drop ${name}: ${error.message}`));
    }
    await admin.end().catch(() => {});
    await deleteBrokerNames().catch((error) => progress(`could not delete the broker names ${brokerPrefix}.*: ${error.message}`));
  })());
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    progress(`${signal}: cleaning up`);
    void cleanUp().finally(() => process.exit(130));
  });
}

await admin.query(`CREATE DATABASE ${database}`);
await admin.query(`CREATE DATABASE ${consumerDatabase}`);
// BENCH_CPU_PROFILE=<folder>: both apps write a V8 CPU profile there when they stop (open it in Chrome DevTools).
const profileArgs = process.env.BENCH_CPU_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE}`] : [];
const shared = { ...process.env, RABBITMQ_URL: rabbitmqUrl, BROKER_PREFIX: brokerPrefix, LOG_LEVEL: 'warn' };
children.push(
  spawn(process.execPath, [...profileArgs, 'dist/src/main.js'], {
    env: { ...shared, DATABASE_URL: `${server}/${database}`, PORT: String(port), REACTIONS_ENABLED: String(saga) },
    stdio: ['ignore', 'inherit', 'inherit'],
  }),
  spawn(process.execPath, [...profileArgs, 'dist/src/consumer/main.js'], {
    env: { ...shared, CONSUMER_DATABASE_URL: `${server}/${consumerDatabase}`, CONSUMER_PORT: String(port + 1) },
    stdio: ['ignore', 'inherit', 'inherit'],
  }),
);

try {
  await waitForHealth(api);
  await waitForHealth(`http://127.0.0.1:${port + 1}`);
  const customers = [];
  for (let i = 0; i < 50; i++) customers.push(await post('/users', { email: `bench-${i}@example.com`, name: `Bench ${i}` }));
  const bodies = customers.map((customerId) =>
    JSON.stringify({ customerId, currency: 'EUR', lines: [{ sku: 'BENCH-1', quantity: 2, unitPrice: 1250 }, { sku: 'BENCH-2', quantity: 1, unitPrice: 99 }] }),
  );

  const db = await connect(`${server}/${database}`);
  const consumerDb = await connect(`${server}/${consumerDatabase}`);
  const commitsBefore = await transactionsCommitted(db);
  const loadAverage = os.loadavg()[0];

  progress(`load: POST /orders for ${seconds} s`);
  const sampler = startSampling(await connect(`${server}/${database}`), await connect(`${server}/${consumerDatabase}`));
  let next = 0;
  const result = await autocannon({
    url: `${api}/orders`,
    connections,
    duration: seconds,
    requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] }) }],
  });
  const loadStoppedAt = sampler.now();
  sampler.setPeriod(drainSampleMs);
  progress('load stopped: waiting for every reader to reach the head');
  const drainedSample = await sampler.waitFor((sample) => sample.t > loadStoppedAt && isDrained(sample), drainTimeoutMs, (sample) =>
    `not every reader reached the head within ${drainTimeoutMs / 1000} s of the load stopping: ${describeBehind(sample)}`,
  );
  await sampler.stop();
  const commitsAfter = await transactionsCommitted(db);
  progress('drained: reading the figures');

  const accepted = result['2xx'];
  const [{ orders }] = (await db.query(`SELECT count(*)::int AS orders FROM orders`)).rows;
  const decisions = await orderDecisions(db);
  const delivery = await consumerDelivery(db, consumerDb, decisions);
  await db.end();
  await consumerDb.end();

  const failures = [];
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) failures.push('requests failed');
  if (orders < accepted) failures.push(`${accepted - orders} accepted orders are missing from the write model`);
  if (delivery.lost > 0) failures.push(`${delivery.lost} events never reached the consumer`);
  if (saga && decisions.undecided > 0) failures.push(`${decisions.undecided} orders still undecided`);
  if (decisions.timeouts > 0) failures.push(`${decisions.timeouts} orders rejected for timeout`);

  printSummary({
    result,
    accepted,
    orders,
    loadAverage,
    transactionsPerCommand: (commitsAfter - commitsBefore - sampler.statements) / accepted,
    decisions,
    delivery,
    readers: readerLag(sampler.samples, loadStoppedAt, drainedSample.t),
    drainedMs: drainedSample.t - loadStoppedAt,
    failures,
  });
  if (failures.length > 0) process.exitCode = 1;
} finally {
  await cleanUp();
}

function startSampling(db, consumerDb) {
  const startedAt = Date.now();
  const samples = [];
  let periodMs = loadSampleMs;
  let stopped = false;
  let statements = 0;
  const running = (async () => {
    while (!stopped) {
      const began = Date.now();
      const [store, consumer] = await Promise.all([db.query(LAG_SQL), consumerDb.query(`SELECT count(*)::int AS applied FROM inbox`)]);
      statements++;
      const { head, unnumbered, unnumberedAgeMs, checkpoints } = store.rows[0];
      const lags = new Map([[SEQUENCER, { events: unnumbered, ageMs: unnumberedAgeMs }]]);
      for (const { id, checkpoint, ageMs } of checkpoints) lags.set(id, { events: head - Number(checkpoint), ageMs });
      lags.set(CONSUMER, { events: Math.max(0, head + unnumbered - consumer.rows[0].applied), ageMs: null });
      samples.push({ t: began - startedAt, lags });
      await sleep(Math.max(0, periodMs - (Date.now() - began)));
    }
    await db.end();
    await consumerDb.end();
  })();
  running.catch(() => {}); // reported by waitFor; never an unhandled rejection that skips the clean-up
  return {
    samples,
    get statements() {
      return statements;
    },
    now: () => Date.now() - startedAt,
    setPeriod: (ms) => (periodMs = ms),
    async waitFor(condition, timeoutMs, describe) {
      const deadline = Date.now() + timeoutMs;
      for (let seen = 0; ; ) {
        for (; seen < samples.length; seen++) if (condition(samples[seen])) return samples[seen];
        if (Date.now() > deadline) throw new Error(describe(samples.at(-1)));
        await Promise.race([sleep(5), running]);
      }
    },
    async stop() {
      stopped = true;
      await running;
    },
  };
}

function isDrained(sample) {
  return [...sample.lags.values()].every((lag) => lag.events <= 0);
}

function describeBehind(sample) {
  return [...sample.lags].filter(([, lag]) => lag.events > 0).map(([id, lag]) => `${id} ${lag.events} events behind`).join(', ');
}

/**
 * Per reader: its worst lag during the load, its lag when the load stopped, its worst lag after
 * that (the saga goes on appending until every order is decided, so a reader that keeps up stays
 * a few events behind until then), and when it reached the head for good.
 */
function readerLag(samples, loadStoppedAt, drainedAt) {
  const during = samples.filter((sample) => sample.t <= loadStoppedAt);
  const after = samples.filter((sample) => sample.t > loadStoppedAt && sample.t <= drainedAt);
  const ids = [...new Set(samples.flatMap((sample) => [...sample.lags.keys()]))];
  const order = (id) => (id === SEQUENCER ? 0 : id === CONSUMER ? 2 : 1);
  ids.sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  return ids.map((id) => {
    const lagOf = (sample) => sample.lags.get(id) ?? { events: 0, ageMs: null };
    const lastBehind = after.findLastIndex((sample) => lagOf(sample).events > 0);
    return {
      id,
      maxEvents: Math.max(0, ...during.map((sample) => lagOf(sample).events)),
      maxAgeMs: Math.max(0, ...during.map((sample) => lagOf(sample).ageMs ?? 0)),
      atStop: after.length > 0 ? lagOf(after[0]) : { events: 0, ageMs: null },
      maxEventsAfter: Math.max(0, ...after.map((sample) => lagOf(sample).events)),
      maxAgeMsAfter: Math.max(0, ...after.map((sample) => lagOf(sample).ageMs ?? 0)),
      atHeadAfterMs: lastBehind < 0 ? 0 : after[lastBehind + 1].t - loadStoppedAt,
      hasAge: id !== CONSUMER,
    };
  });
}

/**
 * Placed → decided from the events' `recorded_at`, not from polling: both are written by the
 * API from one clock at the moment it appends (see AggregateWriter), so the difference is exact
 * per order, costs the run nothing and has no sampling granularity. It leaves out the commit of
 * the deciding statement (a millisecond or so) and the read models' lag behind it, which the
 * reader lag shows.
 */
async function orderDecisions(db) {
  const { rows } = await db.query(`
    SELECT extract(epoch FROM p.recorded_at)::float8 * 1000 AS "placedAtMs",
      extract(epoch FROM d.recorded_at - p.recorded_at)::float8 * 1000 AS "decidedMs",
      d.event_type AS decision, d.event_id::text AS "decisionEventId", d.payload->>'reason' AS reason
    FROM events p
    LEFT JOIN LATERAL (
      SELECT * FROM events d WHERE d.stream_id = p.stream_id AND d.event_type IN ('OrderConfirmed', 'OrderRejected')
      ORDER BY d.stream_version LIMIT 1
    ) d ON true
    WHERE p.event_type = 'OrderPlaced'`);
  const decided = rows.filter((row) => row.decision !== null);
  const reasons = new Map();
  for (const row of decided) if (row.decision === 'OrderRejected') reasons.set(row.reason, (reasons.get(row.reason) ?? 0) + 1);
  return {
    rows,
    placed: rows.length,
    decided: decided.length,
    undecided: rows.length - decided.length,
    confirmed: decided.filter((row) => row.decision === 'OrderConfirmed').length,
    rejected: decided.length - decided.filter((row) => row.decision === 'OrderConfirmed').length,
    reasons: [...reasons].sort((a, b) => b[1] - a[1]),
    timeouts: [...reasons].filter(([reason]) => /timeout/i.test(reason ?? '')).reduce((sum, [, n]) => sum + n, 0),
    placedToDecidedMs: sorted(decided.map((row) => row.decidedMs)),
  };
}

/**
 * The consumer's side, after the drain: `inbox.applied_at` is the consumer's clock_timestamp() as
 * it applies an event (same host as the API, so comparable with `recorded_at`).
 */
async function consumerDelivery(db, consumerDb, decisions) {
  const recorded = new Map(
    (await db.query(`SELECT event_id::text AS id, event_type AS type, extract(epoch FROM recorded_at)::float8 * 1000 AS at FROM events`)).rows.map((row) => [
      row.id,
      row,
    ]),
  );
  const applied = new Map(
    (await consumerDb.query(`SELECT event_id::text AS id, extract(epoch FROM applied_at)::float8 * 1000 AS at FROM inbox`)).rows.map((row) => [row.id, row.at]),
  );
  const delays = [];
  const orderPlaced = [];
  for (const [id, event] of recorded) {
    if (!applied.has(id)) continue;
    delays.push(applied.get(id) - event.at);
    if (event.type === 'OrderPlaced') orderPlaced.push(applied.get(id) - event.at);
  }
  const notice = decisions.rows.filter((row) => applied.has(row.decisionEventId)).map((row) => applied.get(row.decisionEventId) - row.placedAtMs);
  return {
    stored: recorded.size,
    applied: applied.size,
    lost: [...recorded.keys()].filter((id) => !applied.has(id)).length,
    recordedToAppliedMs: sorted(delays),
    orderPlacedToEffectMs: sorted(orderPlaced),
    placedToNoticeMs: sorted(notice),
  };
}

function printSummary({ result, accepted, orders, loadAverage, transactionsPerCommand, decisions, delivery, readers, drainedMs, failures }) {
  const n = (value) => (value === null || value === undefined ? '–' : Math.round(value).toLocaleString('en-US'));
  const line = (label, value) => console.log(`  ${label.padEnd(52)} ${value}`);
  const spread = (values) => [0.5, 0.95, 0.99, 1].map((p) => n(percentile(values, p))).join(' / ');
  console.log(
    `\nPOST /orders, ${connections} connections, ${seconds} s, saga ${saga ? 'on' : 'off'}, ${new Date().toISOString()}` +
      ` (${os.cpus().length} cores, load average ${loadAverage.toFixed(2)} before the run)`,
  );
  console.log('load');
  line('commands accepted (2xx)', n(accepted));
  line('non-2xx / errors / timeouts', `${result.non2xx} / ${result.errors} / ${result.timeouts}`);
  line('orders in the write model', n(orders));
  line('accepted commands/s (mean)', n(result.requests.average));
  line('HTTP latency p50 / p99 / max (ms)', `${result.latency.p50} / ${result.latency.p99} / ${result.latency.max}`);
  line('PostgreSQL transactions per command (xact_commit)', transactionsPerCommand.toFixed(2));
  if (saga) {
    console.log('orders (recorded_at of OrderPlaced → of OrderConfirmed / OrderRejected)');
    line('placed / decided / undecided at the end', `${n(decisions.placed)} / ${n(decisions.decided)} / ${n(decisions.undecided)}`);
    line('confirmed / rejected', `${n(decisions.confirmed)} / ${n(decisions.rejected)}`);
    line('rejected because', decisions.reasons.map(([reason, count]) => `${reason} ${n(count)}`).join(', ') || '–');
    line('placed → decided p50 / p95 / p99 / max (ms)', spread(decisions.placedToDecidedMs));
    line('placed → consumer notice of the decision, same (ms)', spread(delivery.placedToNoticeMs));
  } else {
    console.log(`orders: ${n(decisions.placed)} placed; saga off, so nothing decides them`);
  }
  console.log('consumer app (inbox.applied_at)');
  line('events applied / stored', `${n(delivery.applied)} / ${n(delivery.stored)}`);
  line('event recorded → applied p50 / p95 / p99 / max (ms)', spread(delivery.recordedToAppliedMs));
  line('commit → consumer effect, OrderPlaced p50 / p99 (ms)', `${n(percentile(delivery.orderPlacedToEffectMs, 0.5))} / ${n(percentile(delivery.orderPlacedToEffectMs, 0.99))}`);
  console.log(`reader lag: one SQL sample every ${loadSampleMs} ms during the load, ${drainSampleMs} ms after; age = now − recorded_at of the oldest event not taken`);
  const width = Math.max(50, ...readers.map((r) => r.id.length));
  const row = (cells) => console.log(`  ${cells[0].padEnd(width)} ${cells.slice(1).map((cell) => String(cell).padStart(9)).join(' ')}`);
  const age = (r, ms) => (r.hasAge ? n(ms ?? 0) : '–');
  row(['', 'load max', 'load max', 'at stop', 'at stop', 'after max', 'after max', 'at head']);
  row(['reader', 'events', 'age ms', 'events', 'age ms', 'events', 'age ms', 'after ms']);
  for (const r of readers) {
    row([r.id, n(r.maxEvents), age(r, r.maxAgeMs), n(r.atStop.events), age(r, r.atStop.ageMs), n(r.maxEventsAfter), age(r, r.maxAgeMsAfter), n(r.atHeadAfterMs)]);
  }
  console.log(`  ${'every reader at the head for good after the load (ms)'.padEnd(width)} ${n(drainedMs)}`);
  for (const failure of failures) console.log(`FAILED: ${failure}`);
}

function sorted(values) {
  return values.sort((a, b) => a - b);
}

/** Nearest rank; p = 1 is the maximum. */
function percentile(sortedValues, p) {
  return sortedValues.length === 0 ? null : sortedValues[Math.max(0, Math.ceil(p * sortedValues.length) - 1)];
}

async function connect(connectionString) {
  const client = new pg.Client({ connectionString });
  client.on('error', () => {}); // the final DROP DATABASE … WITH (FORCE) ends it if a step failed
  await client.connect();
  return client;
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  if ((await Promise.race([exited, sleep(20_000).then(() => 'late')])) === 'late') {
    child.kill('SIGKILL');
    await exited;
  }
}

/** The names come from the built code, so a queue added to the topology is removed too. */
async function deleteBrokerNames() {
  const { brokerTopology } = await import('../dist/src/messaging/broker-topology.js');
  const topology = brokerTopology(brokerPrefix, retryDelaysMs);
  const connection = await amqp.connect(rabbitmqUrl);
  const channel = await connection.createChannel();
  for (const name of [topology.consumerQueue, topology.deadLetterQueue, topology.reorderQueue.name, ...topology.retryQueues.map((queue) => queue.name)]) {
    await channel.deleteQueue(name);
  }
  await channel.deleteExchange(topology.exchange);
  await connection.close();
}

async function waitForHealth(base) {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`${base} did not become healthy`);
}

async function post(path, body) {
  const response = await fetch(`${api}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()).id;
}

/**
 * Transactions committed in the API's database (earlier READMEs call them statements: every
 * autocommit statement is one, but a reaction's batch transaction holds many). Other backends
 * publish their counters at most every ~10 s when idle, hence the wait.
 */
async function transactionsCommitted(db) {
  await sleep(11_000);
  await db.query('SELECT pg_stat_clear_snapshot()');
  const { rows } = await db.query(`SELECT xact_commit::bigint AS n FROM pg_stat_database WHERE datname = current_database()`);
  return Number(rows[0].n);
}
