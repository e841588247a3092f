import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import path from 'node:path';
import amqp from 'amqplib';
import { Client } from 'pg';
import { UserRegisteredV1, wrapInCloudEvent } from '../src/contracts';
import { dropDatabase } from '../src/database/ensure-database';
import { ApiProcess } from './support/api-process';
import { ConsumerProcess, freePort } from './support/consumer-process';
import { exitOf } from './support/exit-status';
import { StartScript } from './support/start-script';
import { TcpProxy } from './support/tcp-proxy';
import { TEST_AUTH_ENV, testAuthorization } from './support/test-auth';
import { eventually } from './support/test-app';
import { deleteAtFileEnd, deleteTopology, messageCount, TEST_RABBITMQ_URL, testTopology, uniqueBrokerPrefix } from './support/test-broker';
import { createMigratedDataSource, createTestDatabase } from './support/test-database';

const ROOT = path.resolve(__dirname, '..');
const POSTGRES = { host: '127.0.0.1', port: 5432 };
const SHOW_STAGES = { LOG_LEVEL: 'log' };
const BURST = 600;

/** Publishes `bodies` to `exchange`, confirmed. */
async function publishAll(exchange: string, routingKey: string, bodies: object[]): Promise<void> {
  const connection = await amqp.connect(TEST_RABBITMQ_URL);
  try {
    const channel = await connection.createConfirmChannel();
    for (const body of bodies) {
      channel.publish(exchange, routingKey, Buffer.from(JSON.stringify(body)), { persistent: true, contentType: 'application/cloudevents+json' });
    }
    await channel.waitForConfirms();
    await channel.close();
  } finally {
    await connection.close();
  }
}

/** Whether a new TCP connection to `port` is refused (no server listens any more). */
function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

async function untilLogged(source: { output: string }, text: string): Promise<void> {
  await eventually(async () => expect(source.output).toContain(text), 20_000);
}

/**
 * Sends `count` user registrations, each on a connection of its own, which the API cannot finish
 * while its database is held; resolves once the server took them in (it answered a request sent
 * after them), with each one's eventual status (undefined if it never got an answer).
 */
async function sendRegistrations(port: number, count: number): Promise<Promise<number | undefined>[]> {
  const sent: Promise<void>[] = [];
  const authorization = await testAuthorization();
  const statuses = Array.from({ length: count }, (_, i) => {
    const body = JSON.stringify({ email: `held-${i}-${Date.now()}-${Math.random()}@example.com`, name: 'Shutdown', creditLimit: 1000 });
    return new Promise<number | undefined>((resolve) => {
      const request = httpRequest(
        { port, host: '127.0.0.1', method: 'POST', path: '/users', agent: false, headers: { 'content-type': 'application/json', ...authorization } },
        (response) => {
          response.resume();
          response.once('end', () => resolve(response.statusCode));
        },
      );
      request.once('error', () => resolve(undefined));
      sent.push(new Promise((flushed) => request.end(body, () => flushed())));
    });
  });
  await Promise.all(sent);
  // Taken in after the registrations, answered without the database.
  expect((await fetch(`http://127.0.0.1:${port}/docs-json`)).status).toBe(200);
  return statuses;
}

describe('API shutdown', () => {
  let databaseUrl: string;
  let proxy: TcpProxy;
  let api: ApiProcess | undefined;
  const brokerPrefix = uniqueBrokerPrefix();

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    proxy = await TcpProxy.start(POSTGRES);
  });
  afterEach(async () => {
    proxy.release();
    await api?.kill('SIGKILL');
    api = undefined;
  });
  afterAll(async () => {
    await proxy.close();
    await dropDatabase(databaseUrl);
    await deleteTopology(testTopology(brokerPrefix));
  });

  const start = async (env: Record<string, string> = {}) =>
    (api = await ApiProcess.start({ DATABASE_URL: proxy.rewrite(databaseUrl), BROKER_PREFIX: brokerPrefix, ...SHOW_STAGES, ...env }));

  const countUsers = async () => {
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      return (await db.query('SELECT count(*)::int AS n FROM users')).rows[0].n as number;
    } finally {
      await db.end();
    }
  };

  it('on SIGTERM stops intake, finishes the requests in flight with their normal status, logs each stage and exits 0', async () => {
    const api = await start();
    const usersBefore = await countUsers();
    proxy.hold();
    const inFlight = await sendRegistrations(api.port, 3);

    api.signal('SIGTERM');
    await untilLogged(api, 'SIGTERM received: stopping intake');
    expect(await refusesConnections(api.port)).toBe(true);
    proxy.release();

    // A request the server had read is finished with its normal answer. A connection whose bytes
    // it had not read yet when intake stopped looks idle and is closed unanswered (a race no
    // server avoids; load balancers drain first): that request wrote nothing, so the client may
    // send it again. What must never happen is an effect without its answer.
    const statuses = await Promise.all(inFlight);
    expect(statuses.filter((status) => status !== 201 && status !== undefined)).toEqual([]);
    const answered = statuses.filter((status) => status === 201).length;
    expect(answered).toBeGreaterThan(0);
    expect(await api.exited).toEqual({ code: 0, signal: null });
    expect(await countUsers()).toBe(usersBefore + answered);
    // How many of the three the server had parsed when the signal came varies (each is on a
    // connection of its own); that every one of them was answered 201 is what matters.
    expect(api.output).toMatch(/HTTP server closed; [1-3] request\(s\) in flight finished/);
    const stages = [
      'SIGTERM received: stopping intake',
      'HTTP server closed; ',
      'stopped the relay, reactions, projections and broker client',
      'database pool closed',
      'stopped in ',
    ];
    for (const stage of stages) expect(api.output).toContain(stage);
    const positions = stages.map((stage) => api.output.indexOf(stage));
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('on SIGINT exits 0 as well', async () => {
    const api = await start();
    expect(await api.kill('SIGINT')).toEqual({ code: 0, signal: null });
    expect(api.output).toContain('SIGINT received: stopping intake');
    expect(api.output).toContain('database pool closed');
  });

  it('gives up at SHUTDOWN_TIMEOUT_MS, names what did not finish and exits 1', async () => {
    const api = await start({ SHUTDOWN_TIMEOUT_MS: '1000' });
    proxy.hold();
    const stuck = await sendRegistrations(api.port, 1);

    expect(await api.kill('SIGTERM')).toEqual({ code: 1, signal: null });
    expect(api.output).toContain('did not stop within 1000 ms: still finishing 1 HTTP request(s) in flight');
    await Promise.all(stuck);
  });

  it('exits at once (status 1) on a second signal', async () => {
    const api = await start();
    proxy.hold();
    const stuck = await sendRegistrations(api.port, 1);

    api.signal('SIGTERM');
    await untilLogged(api, 'SIGTERM received');
    await new Promise((resolve) => setTimeout(resolve, 1100)); // a repeat within 1 s is the same request
    expect(await api.kill('SIGTERM')).toEqual({ code: 1, signal: null });
    expect(api.output).toContain('second SIGTERM while finishing 1 HTTP request(s) in flight: exiting now');
    await Promise.all(stuck);
  });
});

// The stop closes the database pool under whatever start step is running: that step's failure
// is the stop's doing, not a failed start. CI once saw exit 1 here ("failed to start: Connection
// terminated" from a projection creating its checkpoint row when SIGINT came).
describe('a stop signal while the readers start', () => {
  it('ends the start and exits 0', async () => {
    const database = await createMigratedDataSource();
    const brokerPrefix = uniqueBrokerPrefix();
    // An insert of the same checkpoint row, left uncommitted: the projections' start waits on it.
    const blocker = database.dataSource.createQueryRunner();
    await blocker.connect();
    await blocker.startTransaction();
    await blocker.query(
      `INSERT INTO subscription_checkpoints (subscription_id, segment, segments, global_position, starts_after) VALUES ('projection:order-summaries', 0, 1, 0, 0)`,
    );
    const api = await ApiProcess.spawn({ DATABASE_URL: database.url, BROKER_PREFIX: brokerPrefix, ...SHOW_STAGES });
    try {
      const waitingOnTheRow = async () =>
        (
          await database.dataSource.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO subscription_checkpoints%'`,
          )
        )[0].n as number;
      // The app's start-up alone took over 20 s on a CI machine four times slower than usual.
      await eventually(async () => expect(await waitingOnTheRow()).toBe(1), 60_000);

      expect(await api.kill('SIGINT')).toEqual({ code: 0, signal: null });
      expect(api.output).not.toContain('failed to start');
      expect(api.output).toContain('start cut short by the stop (stopping the relay, reactions, projections and broker client)');
      expect(api.output).toContain('database pool closed');
    } finally {
      await api.kill('SIGKILL');
      await blocker.rollbackTransaction();
      await blocker.release();
      await database.drop();
      await deleteTopology(testTopology(brokerPrefix));
    }
  }, 120_000);
});

describe('a stop signal while the app still loads', () => {
  it('ends the start with exit 0 instead of killing the process', async () => {
    const databaseUrl = await createTestDatabase();
    const brokerPrefix = uniqueBrokerPrefix();
    const api = await ApiProcess.spawn({
      DATABASE_URL: databaseUrl,
      BROKER_PREFIX: brokerPrefix,
      LOG_LEVEL: 'log',
      NODE_OPTIONS: `--require ${path.join(__dirname, 'support/announce-early-stop-handler.cjs')}`,
    });
    try {
      // Sent once the early handler listens (main.ts's first import): loading Nest and the app
      // takes about a second after that, so it lands in the load, or just after it. A fixed delay
      // could land before the handler on a loaded machine, and the default action would kill it.
      await untilLogged(api, 'early stop handler installed');
      api.signal('SIGTERM');
      expect(await api.exited).toEqual({ code: 0, signal: null });
      expect(api.output).toMatch(/SIGTERM received/);
    } finally {
      await api.kill('SIGKILL');
      await dropDatabase(databaseUrl);
      await deleteTopology(testTopology(brokerPrefix));
    }
  });
});

describe('consumer shutdown', () => {
  it('exits 0 with its stage lines on SIGINT and on SIGTERM', async () => {
    const brokerPrefix = uniqueBrokerPrefix();
    const consumer = await ConsumerProcess.start(brokerPrefix, SHOW_STAGES);
    try {
      expect(await consumer.kill('SIGINT')).toEqual({ code: 0, signal: null });
      await consumer.restart(); // stops it with SIGTERM first: nothing to do there
      expect(await consumer.kill('SIGTERM')).toEqual({ code: 0, signal: null });
      for (const stage of [
        'SIGINT received: stopping intake',
        'SIGTERM received: stopping intake',
        'HTTP server closed',
        'stopped the RMQ consumer and its broker connection',
        'database pool closed',
      ]) {
        expect(consumer.output).toContain(stage);
      }
    } finally {
      await consumer.stop();
      await deleteTopology(testTopology(brokerPrefix));
    }
  });

  it('exits 0 on a stop signal while its start-up waits on the database (the stop closes the pool under it)', async () => {
    const broker = await TcpProxy.start({ host: '127.0.0.1', port: 5672 });
    await broker.refuse();
    const brokerPrefix = uniqueBrokerPrefix();
    // Listening, migrated, and waiting for the broker: the start-up steps after it are still to come.
    const consumer = await ConsumerProcess.start(brokerPrefix, { ...SHOW_STAGES, RABBITMQ_URL: broker.rewrite(TEST_RABBITMQ_URL) }, { until: 'listening' });
    const db = new Client({ connectionString: consumer.databaseUrl });
    await db.connect();
    try {
      // Its start-up line counts the migrations: that read now waits on this lock.
      await db.query('BEGIN');
      await db.query('LOCK TABLE migrations IN ACCESS EXCLUSIVE MODE');
      await broker.accept();
      await eventually(async () => {
        const { rows } = await db.query(
          // The row's query text can still be the connection's previous statement while it waits.
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        expect(rows[0].n).toBe(1);
      }, 20_000);

      expect(await consumer.kill('SIGINT')).toEqual({ code: 0, signal: null });
      // Whether the read fails before the process exits varies; a failure is the stop's, never the start's.
      expect(consumer.output).not.toContain('failed to start');
      expect(consumer.output).toContain('database pool closed');
    } finally {
      await db.query('ROLLBACK');
      await db.end();
      await consumer.stop();
      await broker.close();
      await deleteTopology(testTopology(brokerPrefix));
    }
  });

  // Closing the channel under deliveries whose transaction committed would send them back
  // (each redelivery counting toward the quorum queue's delivery limit): the consumer drains first.
  it('on SIGTERM mid-burst settles every delivery it took: after a restart each event is applied once', async () => {
    const brokerPrefix = uniqueBrokerPrefix();
    const topology = testTopology(brokerPrefix);
    // A drain long enough for 50 deliveries on a loaded 2-core machine: one still running at the
    // drain's end is handed back although its commit may complete (applied, and back in the queue).
    const consumer = await ConsumerProcess.start(brokerPrefix, {
      ...SHOW_STAGES,
      CONSUMER_PREFETCH: '50',
      CONSUMER_DRAIN_TIMEOUT_MS: '8000',
      SHUTDOWN_TIMEOUT_MS: '15000',
    });
    const db = new Client({ connectionString: consumer.databaseUrl });
    await db.connect();
    const applied = async () => (await db.query('SELECT count(*)::int AS n FROM inbox')).rows[0].n as number;
    try {
      const events = Array.from({ length: BURST }, (_, i) => {
        const userId = randomUUID();
        return wrapInCloudEvent(
          UserRegisteredV1,
          { userId, email: `burst-${i}@example.com`, name: 'Burst', registeredAt: new Date().toISOString() },
          { id: randomUUID(), source: '/tests', subject: userId, time: new Date().toISOString(), correlationId: 't', causationId: 't', sequence: 1 },
        );
      });
      await publishAll(topology.exchange, UserRegisteredV1.type, events);
      await eventually(async () => expect(await applied()).toBeGreaterThan(0));

      expect(await consumer.kill('SIGTERM')).toEqual({ code: 0, signal: null });
      // What it applied it acked, and what it did not apply went back: no event is both.
      expect((await applied()) + (await messageCount(topology.consumerQueue))).toBe(BURST);

      await consumer.restart();
      await eventually(async () => expect(await applied()).toBe(BURST), 30_000);
      expect((await db.query(`SELECT count(*)::int AS n FROM notifications WHERE kind = 'WELCOME'`)).rows[0].n).toBe(BURST);
    } finally {
      await db.end();
      await consumer.stop();
      await deleteTopology(topology);
    }
  });
});

describe('npm start (scripts/start.mjs)', () => {
  let apiDatabase: string;
  let consumerDatabase: string;
  let proxy: TcpProxy;
  let script: StartScript | undefined;
  const brokerPrefix = uniqueBrokerPrefix();

  beforeAll(async () => {
    apiDatabase = await createTestDatabase();
    consumerDatabase = await createTestDatabase();
    proxy = await TcpProxy.start(POSTGRES);
  });
  afterEach(async () => {
    proxy.release();
    script?.signal('SIGKILL'); // its exit handler SIGKILLs the apps
    await script?.exited;
    script = undefined;
  });
  afterAll(async () => {
    await proxy.close();
    await dropDatabase(apiDatabase);
    await dropDatabase(consumerDatabase);
    await deleteTopology(testTopology(brokerPrefix));
  });

  const start = async (env: Record<string, string> = {}) =>
    (script = await StartScript.start({ DATABASE_URL: apiDatabase, CONSUMER_DATABASE_URL: consumerDatabase, BROKER_PREFIX: brokerPrefix, ...SHOW_STAGES, ...env }));

  it('exits 0 on Ctrl-C once both apps stopped gracefully', async () => {
    const script = await start();
    script.signal('SIGINT');
    expect(await script.exited).toEqual({ code: 0, signal: null });
    expect(script.output).toMatch(/\[api\] .*stopped in \d+ ms/);
    expect(script.output).toMatch(/\[consumer\] .*stopped in \d+ ms/);
  });

  it('takes a Ctrl-C delivered twice at once (terminal and npm) as one request: exit 0', async () => {
    const script = await start();
    script.signal('SIGINT');
    script.signal('SIGINT');
    expect(await script.exited).toEqual({ code: 0, signal: null });
    expect(script.output).not.toContain('second SIGINT');
  });

  // The apps run in their own process groups, so a closed terminal's SIGHUP reaches only the
  // script; dying of it would leave both apps running, orphaned, on their ports.
  it('stops both apps gracefully and exits 0 on SIGHUP (the terminal closed)', async () => {
    const script = await start();
    const apps = [script.pidOf('api'), script.pidOf('consumer')];
    const running = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      script.signal('SIGHUP');
      expect(await script.exited).toEqual({ code: 0, signal: null });
      expect(script.output).toMatch(/\[api\] .*stopped in \d+ ms/);
      expect(script.output).toMatch(/\[consumer\] .*stopped in \d+ ms/);
      expect(apps.filter(running)).toEqual([]);
    } finally {
      for (const pid of apps.filter(running)) process.kill(pid, 'SIGKILL');
    }
  });

  it('stops the other app and exits non-zero when one dies on its own', async () => {
    const script = await start();
    process.kill(script.pidOf('consumer'), 'SIGKILL');
    expect((await script.exited).code).not.toBe(0);
    expect(script.output).toContain('consumer exited on its own (SIGKILL)');
    expect(script.output).toMatch(/\[api\] .*stopped in \d+ ms/);
  });

  it('SIGKILLs an app that does not stop within its deadline and exits non-zero', async () => {
    // The test's own secret instead of development mode's generated one, so that it can sign the request it sends.
    const script = await start({ DATABASE_URL: proxy.rewrite(apiDatabase), START_STOP_TIMEOUT_MS: '1000', SHUTDOWN_TIMEOUT_MS: '60000', ...TEST_AUTH_ENV });
    const port = Number(/API on http:\/\/[^:]+:(\d+)/.exec(script.output)?.[1]);
    proxy.hold();
    const stuck = await sendRegistrations(port, 1);

    script.signal('SIGTERM');
    expect((await script.exited).code).not.toBe(0);
    expect(script.output).toContain('api did not stop within 1000 ms: SIGKILL');
    expect(script.output).toMatch(/\[consumer\] .*stopped in \d+ ms/);
    await Promise.all(stuck);
  });
});

describe('the apps run through npm, as the README starts them', () => {
  let databaseUrl: string;
  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
  });
  afterAll(async () => {
    await dropDatabase(databaseUrl);
  });

  /** `npm run start:api` in a process group of its own, as a terminal runs a foreground job. */
  async function startThroughNpm(): Promise<{ npm: ChildProcess; port: number; exited: ReturnType<typeof exitOf>; output: () => string }> {
    const port = await freePort();
    const brokerPrefix = uniqueBrokerPrefix();
    // The app may outlive a failing test (the fault tested here): its topology goes at the file's end.
    deleteAtFileEnd(brokerPrefix);
    const npm = spawn('npm', ['run', '--silent', 'start:api'], {
      cwd: ROOT,
      detached: true,
      env: { ...process.env, NODE_OPTIONS: '', PORT: String(port), DATABASE_URL: databaseUrl, RABBITMQ_URL: TEST_RABBITMQ_URL, BROKER_PREFIX: brokerPrefix, ...SHOW_STAGES, ...TEST_AUTH_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    npm.stdout?.on('data', (chunk) => (output += chunk));
    npm.stderr?.on('data', (chunk) => (output += chunk));
    const exited = exitOf(npm);
    await eventually(async () => {
      expect(npm.exitCode).toBeNull();
      await fetch(`http://127.0.0.1:${port}/health`);
    }, 30_000);
    return { npm, port, exited, output: () => output };
  }

  /** Whatever a failing assertion leaves: the app may outlive npm (that is the fault tested here). */
  const killGroup = (npm: ChildProcess) => {
    try {
      process.kill(-npm.pid!, 'SIGKILL');
    } catch {
      // the group is gone already
    }
  };

  it('exits 0 on a Ctrl-C sent to the whole process group (npm forwards it a second time)', async () => {
    const { npm, port, exited, output } = await startThroughNpm();
    try {
      process.kill(-npm.pid!, 'SIGINT');
      expect(await exited).toEqual({ code: 0, signal: null });
      expect(output()).toMatch(/stopped in \d+ ms/);
      expect(output()).not.toContain('second SIGINT');
      expect(await refusesConnections(port)).toBe(true);
    } finally {
      killGroup(npm);
    }
  });

  it('stops the app and exits 0 on a SIGTERM sent to npm alone, leaving nothing behind', async () => {
    const { npm, port, exited, output } = await startThroughNpm();
    try {
      npm.kill('SIGTERM');
      expect(await exited).toEqual({ code: 0, signal: null });
      expect(output()).toMatch(/stopped in \d+ ms/);
      expect(await refusesConnections(port)).toBe(true);
    } finally {
      killGroup(npm);
    }
  });
});

