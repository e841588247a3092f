// `node bench/request-path.mjs` (after `npm run build`): the API process's CPU per `POST /orders`,
// and how much of it each piece of the HTTP request path takes.
//
// One API per variant, each in a child process of its own (on its own throwaway `eda_test_`
// database and broker prefix, REACTIONS_ENABLED=false, readers not started, stdout discarded at
// LOG_LEVEL=log so every request line is still written), built by createHttpApp as main.ts and
// the e2e tests build it. This process is the only client: keep-alive connections (undici), a
// few requests in flight. Each round sends a batch of orders to every variant in turn (the order
// reversed every round, so none always goes first on a machine whose load drifts) while the
// variant's process measures its own CPU (process.cpuUsage: every thread, user + system). The
// median over the rounds is reported, with the spread. Wall-clock time is not looked at: the
// machine is shared.
//
// Beside the request, each variant's process measures two floors in the same rounds:
// - `command`: the same PlaceOrderCommand through the CommandBus, with the cause an HTTP request
//   would give it, no HTTP at all: request − command is the HTTP path's cost;
// - `statement`: the very statements one order's command sent (captured from the pg client on one
//   request, fresh ids each time) through the same pg pool: command − statement is the command's
//   own code (bus, handler, aggregate, repository, TypeORM).
//
// Variants: `--variants base,-log,-validation` (default: `base`). A variant other than `base`
// leaves out the pieces it names, joined with `+` (`-log+headers`), by swapping them for no-ops in
// its process before the app is built (see ABLATIONS): for measuring only, never a configuration.
// `@<folder>` after a variant runs it on another build than `dist` (a folder in the repository,
// e.g. `cp -r dist dist-before` before a change, then `--variants base@dist-before,base`).
//
// Read the paired column: the median over rounds of (variant − first variant) in the same round.
// On these two shared cores the CPU per request itself moves 2× with the machine's load (more
// requests per turn of the event loop when the process waits for a core), so a difference under
// about 100 µs needs 10+ rounds and a second run before it means anything.
//
// Options: --rounds 8 --requests 1000 (per variant and round) --warmup 2000 --concurrency 4
// --profile <dir> (each API process writes there a V8 CPU profile of each batch of requests).
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

const { values: options } = parseArgs({
  options: {
    variants: { type: 'string', default: 'base' },
    rounds: { type: 'string', default: '8' },
    requests: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '4' },
    profile: { type: 'string' },
    child: { type: 'string' },
  },
});

/** Modules by name (CommonJS), as the built app resolves them. */
const require = createRequire(import.meta.url);
/**
 * A module of the build this process runs (`dist`, or the folder a variant names after `@`, e.g. a
 * copy of the build before a change): its exports object, the very one the app reads, so
 * ABLATIONS can patch it.
 */
const built = (path) => require(new URL(`../${process.env.BENCH_DIST ?? 'dist'}/${path}`, import.meta.url).pathname);

const SERVER_URL = process.env.TEST_DATABASE_SERVER_URL ?? 'postgres://postgres@127.0.0.1:5432';
const RABBITMQ_URL = process.env.TEST_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const AUTH = { secret: randomBytes(32).toString('base64url'), issuer: 'https://issuer.bench', audience: 'request-path-bench' };

/* ---------------------------------------------------------------- the driver (client) */

async function drive() {
  const { Agent, request } = require('undici');
  const variants = options.variants.split(',');
  const rounds = Number(options.rounds);
  const requests = Number(options.requests);
  const concurrency = Number(options.concurrency);
  const { signAccessToken } = built('src/auth/access-token-signer.js');
  const { SCOPES } = built('src/auth/scopes.js');
  const token = await signAccessToken(AUTH.secret, { subject: 'bench', scopes: SCOPES, issuer: AUTH.issuer, audience: AUTH.audience, expiresInSeconds: 3600 });

  const children = [];
  try {
    for (const variant of variants) children.push(await startVariant(variant));
    const agent = new Agent({ connections: concurrency, pipelining: 1 });
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const send = async (child, count) => {
      let next = 0;
      const body = JSON.stringify({ customerId: child.customerId, currency: 'EUR', lines: [{ sku: 'BENCH-1', quantity: 2, unitPrice: 1250 }, { sku: 'BENCH-2', quantity: 1, unitPrice: 99 }] });
      const worker = async () => {
        while (next++ < count) {
          const response = await request(`${child.origin}/orders`, { method: 'POST', headers, body, dispatcher: agent });
          const text = await response.body.text();
          if (response.statusCode !== 202) throw new Error(`${child.variant}: POST /orders answered ${response.statusCode} ${text}`);
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
    };
    // Each variant registers its customer with the token, and captures one order's statements.
    for (const child of children) child.customerId = (await child.ask({ cmd: 'token', token })).customerId;

    process.stderr.write(`warm-up: ${options.warmup} requests per variant\n`);
    for (const child of children) {
      await send(child, Number(options.warmup));
      await child.ask({ cmd: 'warm', count: Number(options.warmup) / 2, concurrency });
    }

    const samples = new Map(variants.flatMap((variant) => ['request', 'command', 'statement'].map((kind) => [`${variant} ${kind}`, []])));
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? children : [...children].reverse();
      for (const child of order) {
        await child.ask({ cmd: 'begin' });
        await send(child, requests);
        const { cpuUs } = await child.ask({ cmd: 'end' });
        samples.get(`${child.variant} request`).push(cpuUs / requests);
        const floors = await child.ask({ cmd: 'floors', count: requests, concurrency });
        samples.get(`${child.variant} command`).push(floors.commandUs / requests);
        samples.get(`${child.variant} statement`).push(floors.statementUs / requests);
      }
      process.stderr.write(`round ${round + 1}/${rounds}\n`);
    }
    report(samples, variants);
    await agent.close();
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}

function report(samples, variants) {
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const rows = [];
  const firstRequests = samples.get(`${variants[0]} request`);
  for (const variant of variants) {
    const request = samples.get(`${variant} request`);
    const command = samples.get(`${variant} command`);
    const statement = samples.get(`${variant} statement`);
    rows.push({
      variant,
      'request µs': Math.round(median(request)),
      'min–max': `${Math.round(Math.min(...request))}–${Math.round(Math.max(...request))}`,
      // The median of the differences within each round: a round's variants ran close together in time.
      [`Δ vs ${variants[0]} (paired)`]: Math.round(median(request.map((value, round) => value - firstRequests[round]))),
      'command µs': Math.round(median(command)),
      'statement µs': Math.round(median(statement)),
      'HTTP path µs': Math.round(median(request) - median(command)),
    });
  }
  console.table(rows);
  console.log(JSON.stringify(Object.fromEntries([...samples].map(([key, values]) => [key, values.map((value) => Math.round(value))]))));
}

function startVariant(variant) {
  const [pieces, dist = 'dist'] = variant.split('@');
  const child = fork(new URL(import.meta.url), [`--child=${pieces}`], {
    env: { ...process.env, BENCH_AUTH: JSON.stringify(AUTH), BENCH_PROFILE_DIR: options.profile ?? '', BENCH_DIST: dist },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  let pending;
  child.on('message', (message) => {
    const resolve = pending;
    pending = undefined;
    if (message.error) resolve?.reject(new Error(`${variant}: ${message.error}`));
    else resolve?.resolve(message);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const ask = (message) =>
    new Promise((resolve, reject) => {
      pending = { resolve, reject };
      child.send(message);
    });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${variant}: exited ${code} before it listened`)));
    pending = {
      resolve: ({ port }) =>
        resolve({ variant, origin: `http://127.0.0.1:${port}`, ask, stop: () => ask({ cmd: 'stop' }).then(() => exited) }),
      reject,
    };
  });
}

/* ---------------------------------------------------------------- one variant's API process */

/**
 * Pieces a variant may leave out, each swapped for a no-op before the app is built. They patch the
 * built modules' exports and prototypes, which the app reaches at run time.
 */
const ABLATIONS = {
  // The request lines and the request's log context: the Fastify hook (request-logging.ts), or,
  // in a build before it, nestjs-pino's middleware (pino-http through @fastify/middie) on no route.
  async log() {
    const logging = built('src/logging/process-logger.js');
    const { LoggerModule } = require('nestjs-pino');
    const original = logging.loggerParams;
    logging.loggingModule = (name, settings) => LoggerModule.forRoot({ ...original(name, settings), forRoutes: [] });
    try {
      built('src/logging/request-logging.js').logEveryRequest = () => undefined;
    } catch {
      // a build before request-logging.ts
    }
  },
  async validation() {
    const validation = built('src/http/request-validation.js');
    validation.createValidationPipe = () => ({ transform: (value) => value });
  },
  async storable() {
    const { StorableTextPipe } = built('src/http/storable-text.pipe.js');
    StorableTextPipe.prototype.transform = (value) => value;
  },
  async access() {
    const { AccessGuard } = built('src/auth/access.guard.js');
    AccessGuard.prototype.canActivate = async () => true;
  },
  async headers() {
    const headers = built('src/http/security-headers.js');
    headers.configureSecurityHeaders = () => undefined;
  },
  async metrics() {
    const { HttpMetrics } = built('src/metrics/http-metrics.js');
    HttpMetrics.prototype.register = () => undefined;
  },
  async idempotency() {
    const { IdempotencyInterceptor } = built('src/http/idempotency/idempotency.interceptor.js');
    IdempotencyInterceptor.prototype.intercept = (_context, next) => next.handle();
  },
  async admission() {
    const admission = built('src/admission/admission-control.js');
    admission.registerAdmissionControl = () => undefined;
  },
};

async function runVariant(variant) {
  const auth = JSON.parse(process.env.BENCH_AUTH);
  if (variant !== 'base') {
    for (const piece of variant.replace(/^-/, '').split('+')) {
      if (!ABLATIONS[piece]) throw new Error(`no such piece: ${piece} (${Object.keys(ABLATIONS).join(', ')})`);
      await ABLATIONS[piece]();
    }
  }
  require('reflect-metadata');
  const { loadEnvironment } = built('src/config/environment.js');
  const { API_SCHEMA } = built('src/database/api-schema.js');
  const { prepareDatabaseAtStart } = built('src/database/migration-check.js');
  const { dropDatabase } = built('src/database/ensure-database.js');
  const { createHttpApp } = built('src/http-app.js');
  const { IntegrationEventPublisher } = built('src/messaging/integration-event-publisher.js');
  const { CommandBus } = require('@nestjs/cqrs');
  const { DataSource } = require('typeorm');
  const { PlaceOrderCommand } = built('src/modules/orders/commands/place-order/place-order.command.js');
  const { withCommandCause } = built('src/event-store/running-commands.js');
  const amqp = require('amqplib');

  const suffix = randomBytes(4).toString('hex');
  const databaseUrl = `${SERVER_URL}/eda_test_reqcpu_${suffix}`;
  const environment = loadEnvironment({
    DATABASE_URL: databaseUrl,
    RABBITMQ_URL,
    BROKER_PREFIX: `eda_test_reqcpu-${suffix}`,
    REACTIONS_ENABLED: 'false',
    DATABASE_POOL_SIZE: '6',
    AUTH_JWT_SECRET: auth.secret,
    AUTH_ISSUER: auth.issuer,
    AUTH_AUDIENCE: auth.audience,
    HOST: '127.0.0.1',
  });
  await prepareDatabaseAtStart(API_SCHEMA, { url: databaseUrl, migrations: 'run', waitMs: 30_000, replyTimeoutMs: environment.DATABASE_STATEMENT_REPLY_TIMEOUT_MS });
  const app = await createHttpApp(environment);
  let topology;
  const cleanUp = async () => {
    await app.close().catch(() => undefined);
    await dropDatabase(databaseUrl).catch(() => undefined);
    if (topology) await deleteTopology(amqp, topology).catch(() => undefined);
  };
  try {
    await app.listen(0, '127.0.0.1');
    topology = app.get(IntegrationEventPublisher).topology;
    const port = app.getHttpServer().address().port;
    const origin = `http://127.0.0.1:${port}`;
    const commands = app.get(CommandBus);
    const pool = app.get(DataSource).driver.master;
    let headers;
    let customerId;
    let capturedStatements;
    const lines = [{ sku: 'BENCH-1', quantity: 2, unitPrice: 1250 }, { sku: 'BENCH-2', quantity: 1, unitPrice: 99 }];
    const cause = () => ({ correlationId: randomUUID(), causationId: randomUUID(), request: { id: randomUUID(), method: 'POST', path: '/orders', receivedAt: new Date().toISOString() } });
    const placeByCommand = () => withCommandCause(cause(), () => commands.execute(new PlaceOrderCommand(customerId, 'EUR', lines)));
    const inParallel = async (count, concurrency, work) => {
      let next = 0;
      await Promise.all(Array.from({ length: concurrency }, async () => { while (next++ < count) await work(); }));
    };
    const replayStatements = () => runStatements(pool, freshIds(capturedStatements, customerId));
    const measure = async (work) => {
      const before = process.cpuUsage();
      await work();
      const used = process.cpuUsage(before);
      return used.user + used.system;
    };
    let begun;
    let rounds = 0;
    const profiler = process.env.BENCH_PROFILE_DIR ? await requestProfiler(process.env.BENCH_PROFILE_DIR) : undefined;

    process.on('message', async (message) => {
      try {
        switch (message.cmd) {
          case 'token': {
            headers = { authorization: `Bearer ${message.token}`, 'content-type': 'application/json' };
            const registered = await fetch(`${origin}/users`, { method: 'POST', headers, body: JSON.stringify({ email: `bench-${suffix}@example.com`, name: 'Bench', creditLimit: 1e9 }) });
            customerId = (await registered.json()).id;
            // A few tries: the order may go out on a connection the pool opens meanwhile, which the capture misses.
            const placeOne = () => fetch(`${origin}/orders`, { method: 'POST', headers, body: JSON.stringify({ customerId, currency: 'EUR', lines }) });
            for (let tries = 1; !capturedStatements; tries++) capturedStatements = await captureStatements(pool, placeOne).catch((error) => { if (tries >= 5) throw error; });
            if (process.env.BENCH_SHOW_STATEMENTS) process.stderr.write(`${JSON.stringify(capturedStatements, null, 1)}\n`);
            process.send({ customerId });
            break;
          }
          case 'warm':
            await inParallel(message.count, message.concurrency, placeByCommand);
            await inParallel(message.count, message.concurrency, replayStatements);
            process.send({ ok: true });
            break;
          case 'begin':
            if (profiler) await profiler.start();
            begun = process.cpuUsage();
            process.send({ ok: true });
            break;
          case 'end': {
            const used = process.cpuUsage(begun);
            if (profiler) await profiler.stop(`${variant}-${process.env.BENCH_DIST}-round${++rounds}`);
            process.send({ cpuUs: used.user + used.system });
            break;
          }
          case 'floors': {
            const commandUs = await measure(() => inParallel(message.count, message.concurrency, placeByCommand));
            const statementUs = await measure(() => inParallel(message.count, message.concurrency, replayStatements));
            process.send({ commandUs, statementUs });
            break;
          }
          case 'stop':
            await cleanUp();
            process.send({ ok: true });
            process.exit(0);
        }
      } catch (error) {
        process.send({ error: error.stack ?? String(error) });
      }
    });
    process.send({ port });
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

/** A V8 CPU profile of each batch of requests (not of the start or the floors), written to `directory` as `<name>.cpuprofile`. */
async function requestProfiler(directory) {
  const { Session } = await import('node:inspector/promises');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(directory, { recursive: true });
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  return {
    start: () => session.post('Profiler.start'),
    async stop(name) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(`${directory}/${name.replace(/[^\w+-]/g, '_')}.cpuprofile`, JSON.stringify(profile));
    },
  };
}

/**
 * The statements (text and values) sent on the pool's connections while `work` runs: each
 * connection's own `query` (the app wraps it per connection: src/database/pool-options.ts) is
 * wrapped once more for the time being.
 */
async function captureStatements(pool, work) {
  const statements = [];
  const clients = [...pool._clients];
  for (const client of clients) {
    const query = client.query;
    client.query = function (config, values) {
      if (typeof config === 'object' && config !== null && typeof config.text === 'string') statements.push({ text: config.text, values: config.values ?? (Array.isArray(values) ? values : undefined) });
      else if (typeof config === 'string') statements.push({ text: config, values: Array.isArray(values) ? values : undefined });
      return query.apply(this, arguments);
    };
    client.query.original = query;
  }
  try {
    const response = await work();
    if (response.status !== 202) throw new Error(`POST /orders answered ${response.status} ${await response.text()}`);
  } finally {
    for (const client of clients) client.query = client.query.original;
  }
  // The sequencer numbers the appended events in a batch of its own (it answers every command's
  // append, not this one's): not part of the command's statements.
  const commands = statements.filter(({ text }) => !text.includes('events_sequenced'));
  if (commands.length === 0) throw new Error('POST /orders sent no statement');
  return commands;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** The statements with every id but the customer's replaced by a fresh one (the same one wherever it recurs). */
function freshIds(statements, customerId) {
  const fresh = new Map();
  const swap = (text) => text.replace(UUID, (id) => (id === customerId ? id : fresh.get(id) ?? (fresh.set(id, randomUUID()), fresh.get(id))));
  const value = (v) => (typeof v === 'string' ? swap(v) : Array.isArray(v) ? v.map(value) : v);
  return statements.map(({ text, values }) => ({ text, values: values?.map(value) }));
}

async function runStatements(pool, statements) {
  const client = await pool.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    client.release();
  }
}

async function deleteTopology(amqp, topology) {
  const connection = await amqp.connect(RABBITMQ_URL);
  try {
    const channel = await connection.createChannel();
    for (const queue of [topology.consumerQueue, topology.deadLetterQueue, topology.reorderQueue.name, ...topology.retryQueues.map((q) => q.name)]) await channel.deleteQueue(queue);
    await channel.deleteExchange(topology.exchange);
    await channel.close();
  } finally {
    await connection.close();
  }
}

if (options.child) await runVariant(options.child);
else await drive();
