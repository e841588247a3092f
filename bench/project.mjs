// The project's pipeline as the bench drives it: the built API (saga on or off) and the consumer
// app as child processes on throwaway databases and a throwaway broker prefix, 50 new customers per step, and
// what the bench reads from it per step (lag, drain, latencies, lost and duplicated effects).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { histogramOf } from './histogram.mjs';
import { copyOf } from './store.mjs';
import { connect, progress, sleep, stop, waitForHealth, wakeableSleep } from './support.mjs';

const ORDER_PLACED = 'com.example.orders.order-placed.v1';
const ORDER_CONFIRMED = 'com.example.orders.order-confirmed.v1';
const ORDER_CANCELLED = 'com.example.orders.order-cancelled.v1';
/** The event types the consumer's notifications read model writes one notice for. */
const NOTICE_TYPES = [
  'com.example.users.user-registered.v1',
  ORDER_CONFIRMED,
  'com.example.orders.order-rejected.v1',
  'com.example.orders.order-shipped.v1',
  ORDER_CANCELLED,
];

/**
 * Reader lag, sampled with ONE read-only statement on its own connection (plus, for the consumer,
 * the ids of new events, looked up in its inbox: eventsNotInInbox): no transaction id, no lock, a
 * handful of index look-ups, about 8 statements a second during the load (80 while it drains)
 * against thousands the API sends, so
 * it hardly disturbs what it measures (its statements are taken out of "transactions per command").
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
      FROM (SELECT CASE WHEN segments = 1 THEN subscription_id ELSE subscription_id || '/' || segment END AS subscription_id, global_position
            FROM subscription_checkpoints) AS c), '[]') AS checkpoints`;
const SEQUENCER = 'sequencer (events not numbered yet)';
/**
 * Every step places its orders for 50 customers of its own, each with credit for 38,000 orders
 * (10^8 minor units), so every order of every step is confirmed. Before, one set of 50 customers
 * with the default limit (100,000, 38 orders each) ran out during the saturation step, and the
 * fixed-rate steps measured the rejection path only. Customers of their own per step also keep
 * each user's open reservations at the number one step gives them, as a real service's customers
 * would, instead of growing all run long (while they were a JSON column on the users row, read and
 * written whole by every credit step, that growth slowed every step; as rows of their own,
 * credit_reservations, a step reads and writes its order's only).
 */
const CUSTOMERS_PER_STEP = 50;
const CUSTOMER_CREDIT_LIMIT = 100_000_000;
const CONSUMER = 'consumer app (inbox vs events stored)';

export async function startProject({ admin, server, rabbitmqUrl, port, saga, suffix, owned, loadSampleMs, drainSampleMs, retryDelaysMs, store = null }) {
  /** Events of a pre-filled store (BENCH_STORE_EVENTS): processed before the run, never sent to this run's consumer. */
  const filledHead = store?.head ?? 0;
  const database = `eda_bench_${suffix}`;
  const consumerDatabase = `eda_bench_consumer_${suffix}`;
  const brokerPrefix = `bench-${suffix}`;
  const origin = `http://127.0.0.1:${port}`;
  owned.databases.push(database, consumerDatabase);
  owned.tasks.push(() => deleteBrokerNames(rabbitmqUrl, brokerPrefix, retryDelaysMs));
  await admin.query(`CREATE DATABASE ${database}${copyOf(store)}`);
  await admin.query(`CREATE DATABASE ${consumerDatabase}`);

  // BENCH_CPU_PROFILE=<folder>: both apps write a V8 CPU profile there when they stop (open it in Chrome DevTools).
  const profileArgs = process.env.BENCH_CPU_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE}`] : [];
  // BENCH_COUNT_IO=on: both apps count their statements and socket writes (bench/io-counter.cjs).
  const ioCounts = process.env.BENCH_COUNT_IO === 'on' ? ioCountFiles(suffix) : null;
  const ioArgs = ioCounts ? ['--require', fileURLToPath(new URL('./io-counter.cjs', import.meta.url))] : [];
  // Both apps verify tokens with a secret of this run; the bench's one client sends a token of every scope.
  const authSecret = randomBytes(32).toString('base64url');
  const { signAccessToken } = await import('../dist/src/auth/access-token-signer.js');
  const { SCOPES } = await import('../dist/src/auth/scopes.js');
  const headers = { authorization: `Bearer ${await signAccessToken(authSecret, { subject: 'bench', scopes: SCOPES, expiresInSeconds: 24 * 3600 })}` };
  const shared = {
    ...process.env,
    RABBITMQ_URL: rabbitmqUrl,
    BROKER_PREFIX: brokerPrefix,
    LOG_LEVEL: 'warn',
    AUTH_MODE: 'jwt',
    AUTH_JWT_SECRET: authSecret,
    AUTH_JWKS_URL: undefined,
    AUTH_ISSUER: undefined,
    AUTH_AUDIENCE: undefined,
    // One client sends thousands of commands a second: a rate limit set in the shell would measure the limiter.
    RATE_LIMIT_PER_MINUTE: '0',
  };
  // BENCH_API_PROCESSES=2: two API processes on the same database, every projection and reaction split into
  // BENCH_SUBSCRIPTION_SEGMENTS segments (default 8) between them, behind a round-robin TCP balancer on `port`.
  const apiProcesses = Number(process.env.BENCH_API_PROCESSES ?? 1);
  const segments = process.env.BENCH_SUBSCRIPTION_SEGMENTS ?? (apiProcesses > 1 ? '8' : '1');
  const apiPorts = apiProcesses > 1 ? Array.from({ length: apiProcesses }, (_, i) => port + 2 + i) : [port];
  const apis = apiPorts.map((apiPort, index) =>
    spawn(process.execPath, [...profileArgs, ...ioArgs, 'dist/src/main.js'], {
      env: {
        ...shared,
        DATABASE_URL: `${server}/${database}`,
        PORT: String(apiPort),
        REACTIONS_ENABLED: String(saga),
        SUBSCRIPTION_SEGMENTS: segments,
        BENCH_IO_COUNT_FILE: ioCounts && `${ioCounts.API}.${index}`,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    }),
  );
  const [api] = apis;
  const balancer = apiProcesses > 1 ? spawn(process.execPath, ['bench/balancer.mjs', String(port), ...apiPorts.map(String)], { stdio: ['ignore', 'ignore', 'inherit'] }) : null;
  const consumer = spawn(process.execPath, [...profileArgs, ...ioArgs, 'dist/src/consumer/main.js'], {
    env: { ...shared, CONSUMER_DATABASE_URL: `${server}/${consumerDatabase}`, CONSUMER_PORT: String(port + 1), BENCH_IO_COUNT_FILE: ioCounts?.consumer },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  owned.children.push(...apis, consumer, ...(balancer ? [balancer] : []));
  for (const apiPort of apiPorts) await waitForHealth(`http://127.0.0.1:${apiPort}/health`);
  await waitForHealth(`${origin}/health`);
  await waitForHealth(`http://127.0.0.1:${port + 1}/health`);

  let customerSets = 0;
  /** The order bodies of one step: for CUSTOMERS_PER_STEP customers registered for it. */
  const orderBodiesOfNewCustomers = async () => {
    const set = customerSets++;
    const customers = [];
    for (let i = 0; i < CUSTOMERS_PER_STEP; i++) {
      customers.push(await register(origin, headers, { email: `bench-${set}-${i}@example.com`, name: `Bench ${set}-${i}`, creditLimit: CUSTOMER_CREDIT_LIMIT }));
    }
    return customers.map((customerId) =>
      JSON.stringify({ customerId, currency: 'EUR', lines: [{ sku: 'BENCH-1', quantity: 2, unitPrice: 1250 }, { sku: 'BENCH-2', quantity: 1, unitPrice: 99 }] }),
    );
  };

  const db = await connect(`${server}/${database}`);
  const consumerDb = await connect(`${server}/${consumerDatabase}`);
  /** The bench's own transactions in the API's database, taken out of "transactions per command". */
  let ownTransactions = 0;
  const query = (sql, values) => {
    ownTransactions++;
    return db.query(sql, values);
  };
  progress('waiting 11 s for PostgreSQL to publish the counters of the API backends');
  await sleep(11_000);
  const commitsBefore = await transactionsCommitted(admin, database);
  let duplicatedBefore = 0;
  let accepted = 0;

  return {
    label: `project, saga ${saga ? 'on' : 'off'}${apiProcesses > 1 ? `, ${apiProcesses} API processes (${segments} segments)` : ''}`,
    saga,
    origin,
    path: '/orders',
    /** Called before each step. */
    bodiesForStep: orderBodiesOfNewCustomers,
    headers,
    databases: [database, consumerDatabase],
    processes: () =>
      apiProcesses > 1
        ? { ...Object.fromEntries(apis.map((child, i) => [`API ${i + 1}`, child.pid])), balancer: balancer.pid, consumer: consumer.pid }
        : { API: api.pid, consumer: consumer.pid },

    async watch() {
      // With REACTIONS_ENABLED=false the reactions' checkpoints exist all the same (created at the head, to wait for a
      // process that runs them) and stand still: they are no reader of this run.
      const isReader = (id) => saga || !id.startsWith('reaction:');
      const sampler = startSampling(await connect(`${server}/${database}`), await connect(`${server}/${consumerDatabase}`), loadSampleMs, isReader, filledHead);
      let stoppedAt = null;
      return {
        lag() {
          const sample = sampler.samples.at(-1);
          if (!sample) return '–';
          const [worstId, worst] = [...sample.lags].filter(([id]) => id !== CONSUMER).sort((a, b) => b[1].events - a[1].events)[0];
          return `consumer ${sample.lags.get(CONSUMER).events} events behind, worst reader ${worstId} ${worst.events}`;
        },
        loadStopped() {
          stoppedAt = sampler.now();
          sampler.setPeriod(drainSampleMs);
        },
        async drained(timeoutMs) {
          try {
            const drainedSample = await sampler.waitFor((sample) => sample.t > stoppedAt && isDrained(sample), timeoutMs, (sample) =>
              `not every reader reached the head within ${timeoutMs / 1000} s of the load stopping: ${describeBehind(sample)}`,
            );
            return { drainedMs: drainedSample.t - stoppedAt, readers: readerLag(sampler.samples, stoppedAt, drainedSample.t) };
          } finally {
            await sampler.stop();
            ownTransactions += sampler.statements;
          }
        },
      };
    },

    /** The figures of one step's accepted orders, once every reader reached the head. */
    async measure(load) {
      accepted += load.accepted;
      const ids = load.ids;
      const { rows: events } = await query(
        `SELECT event_id::text AS "eventId", stream_id::text AS "orderId", event_type AS type, extract(epoch FROM recorded_at)::float8 * 1000 AS at
         FROM events WHERE stream_id = ANY($1::uuid[])`,
        [ids],
      );
      const { rows: inbox } = await consumerDb.query(
        `SELECT event_id::text AS "eventId", extract(epoch FROM applied_at)::float8 * 1000 AS at FROM inbox WHERE event_id = ANY($1::uuid[])`,
        [events.map((event) => event.eventId)],
      );
      const applied = new Map(inbox.map((row) => [row.eventId, row.at]));
      const placed = events.filter((event) => event.type === 'OrderPlaced');
      const decisions = saga ? await orderDecisions(query, ids) : null;
      const duplicatedSoFar = await duplicatedEffects(query, consumerDb, filledHead);
      const duplicated = duplicatedSoFar - duplicatedBefore;
      duplicatedBefore = duplicatedSoFar;
      return {
        missingFromWriteModel: ids.length - placed.length,
        lost: ids.length - placed.filter((event) => applied.has(event.eventId)).length,
        duplicated,
        e2e: histogramOf(placed.filter((event) => applied.has(event.eventId)).map((event) => applied.get(event.eventId) - event.at)),
        recordedToApplied: histogramOf(events.filter((event) => applied.has(event.eventId)).map((event) => applied.get(event.eventId) - event.at)),
        decisions: decisions && {
          ...decisions,
          placedToNotice: histogramOf(decisions.rows.filter((row) => applied.has(row.decisionEventId)).map((row) => applied.get(row.decisionEventId) - row.placedAtMs)),
        },
      };
    },

    /** After the last step: events that never reached the consumer, then the apps stopped and the transactions counted. */
    async finish() {
      const { rows: stored } = await query(`SELECT event_id::text AS id FROM events WHERE global_position > $1 OR global_position IS NULL`, [filledHead]);
      const { rows: inbox } = await consumerDb.query(`SELECT event_id::text AS id FROM inbox`);
      const applied = new Set(inbox.map((row) => row.id));
      const eventsLost = stored.filter((row) => !applied.has(row.id)).length;
      await db.end();
      await consumerDb.end();
      for (const child of apis) await stop(child);
      if (balancer) await stop(balancer);
      await stop(consumer);
      // a backend publishes its counters as it exits: wait until the API's are gone
      for (let i = 0; i < 100; i++) {
        const { rows } = await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1`, [database]);
        if (rows[0].n === 0) break;
        await sleep(50);
      }
      const commitsAfter = await transactionsCommitted(admin, database);
      return {
        eventsStored: stored.length,
        eventsLost,
        transactionsPerCommand: (commitsAfter - commitsBefore - ownTransactions) / accepted,
        ...(ioCounts && { ioPerOrder: readIoCounts(ioCounts, accepted) }),
      };
    },
  };
}

function startSampling(db, consumerDb, loadSampleMs, isReader, filledHead = 0) {
  const startedAt = Date.now();
  const consumerBehind = eventsNotInInbox(db, consumerDb, filledHead);
  const samples = [];
  let periodMs = loadSampleMs;
  let stopped = false;
  let statements = 0;
  const pause = wakeableSleep();
  const running = (async () => {
    while (!stopped) {
      const began = Date.now();
      const store = await db.query(LAG_SQL);
      statements += 2; // LAG_SQL and the new events of eventsNotInInbox
      const { head, unnumbered, unnumberedAgeMs, checkpoints } = store.rows[0];
      const lags = new Map([[SEQUENCER, { events: unnumbered, ageMs: unnumberedAgeMs }]]);
      for (const { id, checkpoint, ageMs } of checkpoints) if (isReader(id)) lags.set(id, { events: head - Number(checkpoint), ageMs });
      lags.set(CONSUMER, { events: await consumerBehind.check(), ageMs: null });
      samples.push({ t: began - startedAt, lags });
      await pause.sleep(Math.max(0, periodMs - (Date.now() - began)));
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
    setPeriod(ms) {
      periodMs = ms;
      pause.wake();
    },
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
      await running.catch(() => {});
    },
  };
}

/**
 * How many stored events the consumer's inbox does not hold yet, at a cost that follows the lag,
 * not the store: a `count(*)` of the inbox read every row of it, 3 ms a sample after 30,000
 * events and 40 samples a second while a step drains, CPU taken from the system under test. It
 * keeps the ids of the events not seen applied, adds each sample's new events (numbered beyond
 * the last it saw, and the unnumbered ones), and asks the inbox only about those.
 */
function eventsNotInInbox(db, consumerDb, filledHead) {
  const pending = new Set();
  // Events of a pre-filled store were never sent to this run's consumer.
  let seenUpTo = String(filledHead);
  return {
    async check() {
      const { rows: added } = await db.query(
        `SELECT event_id::text AS id, global_position::text AS at FROM events WHERE global_position > $1
         UNION ALL SELECT event_id::text, NULL FROM events WHERE global_position IS NULL`,
        [seenUpTo],
      );
      for (const { id, at } of added) {
        pending.add(id);
        if (at !== null && BigInt(at) > BigInt(seenUpTo)) seenUpTo = at;
      }
      if (pending.size === 0) return 0;
      const { rows: applied } = await consumerDb.query(`SELECT event_id::text AS id FROM inbox WHERE event_id = ANY($1::uuid[])`, [[...pending]]);
      for (const { id } of applied) pending.delete(id);
      return pending.size;
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
      atHeadAfterMs: lastBehind < 0 ? 0 : after[lastBehind + 1].t - loadStoppedAt,
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
async function orderDecisions(query, ids) {
  const { rows } = await query(
    `SELECT extract(epoch FROM p.recorded_at)::float8 * 1000 AS "placedAtMs",
      extract(epoch FROM d.recorded_at - p.recorded_at)::float8 * 1000 AS "decidedMs",
      d.event_type AS decision, d.event_id::text AS "decisionEventId", d.payload->>'reason' AS reason
    FROM events p
    LEFT JOIN LATERAL (
      SELECT * FROM events d WHERE d.stream_id = p.stream_id AND d.event_type IN ('OrderConfirmed', 'OrderRejected')
      ORDER BY d.stream_version LIMIT 1
    ) d ON true
    WHERE p.event_type = 'OrderPlaced' AND p.stream_id = ANY($1::uuid[])`,
    [ids],
  );
  const decided = rows.filter((row) => row.decision !== null);
  const reasons = {};
  for (const row of decided) if (row.decision === 'OrderRejected') reasons[row.reason] = (reasons[row.reason] ?? 0) + 1;
  return {
    rows,
    placed: rows.length,
    decided: decided.length,
    undecided: rows.length - decided.length,
    confirmed: decided.filter((row) => row.decision === 'OrderConfirmed').length,
    rejected: decided.filter((row) => row.decision === 'OrderRejected').length,
    reasons,
    timeouts: Object.entries(reasons).filter(([reason]) => /timeout/i.test(reason)).reduce((sum, [, n]) => sum + n, 0),
    placedToDecided: histogramOf(decided.map((row) => row.decidedMs)),
  };
}

/**
 * Effects applied more than once, over the whole run so far. The inbox keeps one row per event
 * id (its primary key), so a duplicate cannot show there; it would show in the read models the
 * inbox guards: `customer_stats` counts by increments (a second application adds one more), and
 * `notifications` holds one notice per event. Expected per customer: the order events its inbox
 * holds, each order's customer taken from the write side's OrderPlaced.
 */
async function duplicatedEffects(query, consumerDb, filledHead = 0) {
  const { rows: orders } = await query(
    `SELECT stream_id::text AS "orderId", payload->>'customerId' AS "customerId" FROM events WHERE event_type = 'OrderPlaced' AND (global_position > $1 OR global_position IS NULL)`,
    [filledHead],
  );
  const customerOf = new Map(orders.map((row) => [row.orderId, row.customerId]));
  const { rows: inbox } = await consumerDb.query(`SELECT stream_id::text AS "orderId", type FROM inbox WHERE type = ANY($1)`, [
    [ORDER_PLACED, ORDER_CONFIRMED, ORDER_CANCELLED],
  ]);
  const expected = new Map();
  for (const { orderId, type } of inbox) {
    const customer = customerOf.get(orderId);
    const counts = expected.get(customer) ?? { placed: 0, confirmed: 0, cancelled: 0 };
    counts[type === ORDER_PLACED ? 'placed' : type === ORDER_CONFIRMED ? 'confirmed' : 'cancelled']++;
    expected.set(customer, counts);
  }
  const { rows: stats } = await consumerDb.query(
    `SELECT customer_id::text AS "customerId", orders_placed AS placed, orders_confirmed AS confirmed, orders_cancelled AS cancelled FROM customer_stats`,
  );
  let duplicated = 0;
  for (const row of stats) {
    const counts = expected.get(row.customerId) ?? { placed: 0, confirmed: 0, cancelled: 0 };
    for (const key of ['placed', 'confirmed', 'cancelled']) duplicated += Math.max(0, row[key] - counts[key]);
  }
  const { rows: notices } = await consumerDb.query(
    `SELECT (SELECT count(*) - count(DISTINCT event_id) FROM notifications)::int AS repeated,
       (SELECT count(*) FROM notifications)::int - (SELECT count(*) FROM inbox WHERE type = ANY($1))::int AS "beyondInbox"`,
    [NOTICE_TYPES],
  );
  return duplicated + notices[0].repeated + Math.max(0, notices[0].beyondInbox);
}

/**
 * Registers a customer between steps. Right after a step that drove the saga into shedding, admission
 * control may still answer 503 for up to one lag sample after the readers reached the head: like any
 * client, the bench waits out `Retry-After` (for 30 s at most) instead of failing the run.
 */
async function register(origin, headers, body) {
  const giveUpAt = Date.now() + 30_000;
  for (;;) {
    const response = await fetch(`${origin}/users`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (response.ok) return (await response.json()).id;
    const text = await response.text();
    if (response.status !== 503 || Date.now() > giveUpAt) throw new Error(`/users: ${response.status} ${text}`);
    await new Promise((resolve) => setTimeout(resolve, Math.max(250, Number(response.headers.get('retry-after') ?? 1) * 1000)));
  }
}

/** Other backends publish their counters at most every ~10 s when idle; hence the waits around it. */
async function transactionsCommitted(admin, database) {
  await admin.query('SELECT pg_stat_clear_snapshot()');
  const { rows } = await admin.query(`SELECT xact_commit::bigint AS n FROM pg_stat_database WHERE datname = $1`, [database]);
  return Number(rows[0].n);
}

/** The names come from the built code, so a queue added to the topology is removed too. */
async function deleteBrokerNames(rabbitmqUrl, brokerPrefix, retryDelaysMs) {
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

function ioCountFiles(suffix) {
  const folder = mkdtempSync(path.join(os.tmpdir(), `bench-io-${suffix}-`));
  return { folder, API: path.join(folder, 'api.json'), consumer: path.join(folder, 'consumer.json') };
}

/** Per accepted order over the whole run (every step and drain): socket writes by peer, statements in all and the most frequent ones. */
function readIoCounts(files, accepted) {
  const perOrder = (n) => n / accepted;
  const result = {};
  for (const name of ['API', 'consumer']) {
    // Every API process wrote a file of its own (API.json.0, .1, …): their sums.
    const paths = name === 'API' ? readdirSync(files.folder).filter((file) => file.startsWith('api.json.')).map((file) => path.join(files.folder, file)) : [files[name]];
    const counts = { socketWrites: {}, statements: new Map() };
    for (const file of paths) {
      let one;
      try {
        one = JSON.parse(readFileSync(file, 'utf8'));
      } catch (error) {
        progress(`no I/O counts in ${file} (${error.message})`);
        continue;
      }
      for (const [peer, n] of Object.entries(one.socketWrites)) counts.socketWrites[peer] = (counts.socketWrites[peer] ?? 0) + n;
      for (const [text, n] of one.statements) counts.statements.set(text, (counts.statements.get(text) ?? 0) + n);
    }
    if (paths.length === 0 || counts.statements.size === 0) continue;
    counts.statements = [...counts.statements].sort((a, b) => b[1] - a[1]);
    result[name] = {
      socketWrites: Object.fromEntries(Object.entries(counts.socketWrites).map(([peer, n]) => [peer, perOrder(n)])),
      statements: perOrder(counts.statements.reduce((sum, [, n]) => sum + n, 0)),
      topStatements: counts.statements.slice(0, Number(process.env.BENCH_COUNT_IO_TOP ?? 8)).map(([text, n]) => ({ text, perOrder: perOrder(n) })),
    };
  }
  rmSync(files.folder, { recursive: true, force: true });
  return result;
}
