import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { dropDatabase } from '../src/database/ensure-database';
import { orderSummariesProjection } from '../src/modules/orders/projections/order-summaries.projection';
import { ApiProcess } from './support/api-process';
import { ConsumerProcess } from './support/consumer-process';
import { eventually } from './support/test-app';
import { deleteTopology, TEST_RABBITMQ_URL, testTopology, uniqueBrokerPrefix } from './support/test-broker';
import { rabbitmqctl } from './support/rabbitmqctl';
import { createTestDatabase } from './support/test-database';
import { testToken } from './support/test-auth';

// Run through `npm run build` first: the API and the consumer run as built child processes.

type LogLine = Record<string, unknown> & { msg?: string; level?: string };

/** Every complete line of `stdout`, each of which must be one JSON object. */
function logLines(stdout: string, who: string): LogLine[] {
  const complete = stdout.slice(0, stdout.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      try {
        const parsed: unknown = JSON.parse(line);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
        return parsed as LogLine;
      } catch {
        throw new Error(`${who} wrote a line that is no JSON object: ${line}`);
      }
    });
}

/** A copy of `url` whose password is `secret`: the test server trusts local connections, so any password works. */
async function withPassword(url: string, secret: string): Promise<string> {
  const withSecret = new URL(url);
  withSecret.password = secret;
  const client = new Client({ connectionString: withSecret.toString() });
  await client.connect();
  await client.end();
  return withSecret.toString();
}

describe('logs of the API and the consumer', () => {
  const brokerPrefix = uniqueBrokerPrefix();
  const secrets = {
    database: `db-pw-${randomBytes(6).toString('hex')}`,
    broker: `mq-pw-${randomBytes(6).toString('hex')}`,
    // A real token (it must pass the access guard), of a subject found nowhere else.
    bearer: '',
    cookie: `cookie-${randomBytes(6).toString('hex')}`,
  };
  const brokerUser = `logs-e2e-${randomBytes(4).toString('hex')}`;
  const correlationId = `logs-e2e-${randomBytes(6).toString('hex')}`;
  let apiDatabase = '';
  let consumerDatabase = '';
  let api: ApiProcess | undefined;
  let consumer: ConsumerProcess | undefined;
  let orderId = '';

  beforeAll(async () => {
    secrets.bearer = await testToken({ subject: `logs-e2e-${randomBytes(6).toString('hex')}` });
    // A broker user of its own, so that its password is a string found nowhere else.
    await rabbitmqctl(['add_user', brokerUser, secrets.broker]);
    await rabbitmqctl(['set_permissions', '-p', '/', brokerUser, '.*', '.*', '.*']);
    const brokerUrl = new URL(TEST_RABBITMQ_URL);
    brokerUrl.username = brokerUser;
    brokerUrl.password = secrets.broker;
    apiDatabase = await withPassword(await createTestDatabase(), secrets.database);
    consumerDatabase = await withPassword(await createTestDatabase(), secrets.database);
    const logEverything = { LOG_LEVEL: 'debug', RABBITMQ_URL: brokerUrl.toString(), BROKER_PREFIX: brokerPrefix };
    api = await ApiProcess.start({ ...logEverything, DATABASE_URL: apiDatabase });
    consumer = await ConsumerProcess.start(brokerPrefix, { ...logEverything, CONSUMER_DATABASE_URL: consumerDatabase });

    const user = await api.post('/users', { email: `logs-${randomBytes(4).toString('hex')}@example.com`, name: 'Logs' });
    expect(user.status).toBe(201);
    const placed = await fetch(`${api.url}/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-correlation-id': correlationId,
        authorization: `Bearer ${secrets.bearer}`,
        cookie: `session=${secrets.cookie}`,
      },
      body: JSON.stringify({ customerId: user.body.id, currency: 'EUR', lines: [{ sku: 'LOG-1', quantity: 2, unitPrice: 450 }] }),
    });
    expect(placed.status).toBe(202);
    expect(placed.headers.get('x-correlation-id')).toBe(correlationId);
    orderId = ((await placed.json()) as { id: string }).id;
    expect((await fetch(`${api.url}/orders/${orderId}`, { headers: { authorization: `Bearer ${secrets.bearer}` } })).status).toBe(200);
  }, 90_000);

  afterAll(async () => {
    await api?.kill('SIGTERM');
    await consumer?.stop();
    for (const url of [apiDatabase, consumerDatabase]) if (url) await dropDatabase(url);
    await deleteTopology(testTopology(brokerPrefix)).catch(() => undefined);
    await rabbitmqctl(['delete_user', brokerUser]).catch(() => undefined);
  });

  it('a line per HTTP request names the method, the route pattern, the status and the duration', async () => {
    await eventually(async () => {
      const lines = logLines(api!.stdout, 'the API');
      const placing = lines.find((line) => line.correlationId === correlationId && line.route !== undefined);
      expect(placing).toMatchObject({ level: 'info', method: 'POST', route: '/orders', status: 202 });
      expect(placing!.durationMs).toEqual(expect.any(Number));
      // The route, not the URL: the order's id is in no request line.
      const reading = lines.find((line) => line.method === 'GET' && line.route === '/orders/:id');
      expect(reading).toMatchObject({ status: 200 });
      expect(lines.filter((line) => line.route !== undefined && JSON.stringify(line).includes(orderId))).toEqual([]);
    });
  });

  it("the saga's and the consumer's lines carry the correlation id of the request that placed the order", async () => {
    await eventually(async () => {
      const sagas = logLines(api!.stdout, 'the API').filter(
        (line) => line.correlationId === correlationId && String(line.context).startsWith('Reaction:reaction:'),
      );
      // The Users module's credit reaction takes OrderPlaced (caused by the request), then the
      // Orders saga CreditReserved (caused by the reservation).
      expect(sagas).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            context: expect.stringMatching(/^Reaction:reaction:order-credit/),
            eventType: 'OrderPlaced',
            streamId: orderId,
            causationId: correlationId,
            eventId: expect.any(String),
          }),
          expect.objectContaining({
            context: expect.stringMatching(/^Reaction:reaction:order-fulfilment/),
            eventType: 'CreditReserved',
            causationId: expect.any(String),
            eventId: expect.any(String),
          }),
        ]),
      );
      const relayed = logLines(api!.stdout, 'the API').filter((line) => line.correlationId === correlationId && line.context === 'OutboxRelay');
      expect(relayed).toEqual(expect.arrayContaining([expect.objectContaining({ eventType: 'OrderPlaced', streamId: orderId })]));
      const consumed = logLines(consumer!.stdout, 'the consumer').filter((line) => line.correlationId === correlationId);
      expect(consumed).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ eventType: 'com.example.orders.order-placed.v1', streamId: orderId, causationId: correlationId, context: 'DeliveryHandler' }),
          expect.objectContaining({ eventType: 'com.example.orders.order-confirmed.v1', streamId: orderId }),
        ]),
      );
    }, 20_000);
  });

  it('start-up names the database and the broker without their passwords, the migrations and the subscriptions', () => {
    const started = (lines: LogLine[]) => lines.map((line) => line.msg ?? '');
    const apiLines = started(logLines(api!.stdout, 'the API'));
    const databaseName = new URL(apiDatabase).pathname.slice(1);
    expect(apiLines).toContainEqual(
      expect.stringMatching(new RegExp(`^database postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:5432/${databaseName}: migrations ran, [1-9]\\d* applied in all, latest \\w+`)),
    );
    expect(apiLines).toContainEqual(`broker amqp://${brokerUser}:***@127.0.0.1:5672: publishing to exchange ${brokerPrefix}.integration`);
    expect(apiLines).toContainEqual(`projections started: ${orderSummariesProjection.subscriptionId}`);
    expect(apiLines).toContainEqual('reactions started: reaction:order-credit, reaction:order-fulfilment');
    expect(apiLines).toContainEqual(expect.stringMatching(/^outbox relay started: publishes to /));

    const consumerLines = started(logLines(consumer!.stdout, 'the consumer'));
    expect(consumerLines).toContainEqual(
      expect.stringMatching(new RegExp(`^database postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:5432/${new URL(consumerDatabase).pathname.slice(1)}: migrations ran`)),
    );
    expect(consumerLines).toContainEqual(`broker amqp://${brokerUser}:***@127.0.0.1:5672: queue ${brokerPrefix}.consumer bound to exchange ${brokerPrefix}.integration`);
  });

  it('no password, token or cookie is ever written, and every line is one JSON object', async () => {
    // Stopped, so that the shutdown's lines are in the output too.
    expect(await api!.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(await consumer!.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    for (const [who, output] of [
      ['the API', api!.output],
      ['the consumer', consumer!.output],
    ] as const) {
      for (const secret of Object.values(secrets)) expect({ who, leaked: output.includes(secret) }).toEqual({ who, leaked: false });
      expect(logLines(output, who).length).toBeGreaterThan(20);
      expect(output.endsWith('\n')).toBe(true);
    }
  });
});

describe('LOG_FORMAT=pretty', () => {
  it('writes lines of text for a person instead of JSON', async () => {
    const databaseUrl = await createTestDatabase();
    const brokerPrefix = uniqueBrokerPrefix();
    const api = await ApiProcess.start({ DATABASE_URL: databaseUrl, BROKER_PREFIX: brokerPrefix, LOG_FORMAT: 'pretty', LOG_LEVEL: 'log' });
    try {
      await eventually(async () => expect(api.stdout).toMatch(/INFO.*API on http:\/\/127\.0\.0\.1:\d+/), 10_000);
      const lines = api.stdout.split('\n').filter(Boolean);
      expect(lines.filter((line) => line.startsWith('{'))).toEqual([]);
      expect(await api.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    } finally {
      api.signal('SIGKILL');
      await dropDatabase(databaseUrl);
      await deleteTopology(testTopology(brokerPrefix)).catch(() => undefined);
    }
  });
});

describe('a connection URL whose password was not percent-encoded', () => {
  it('leaves no part of the password in the start-up line, though the parser took part of it for a port and the rest for a fragment', async () => {
    const databaseUrl = await createTestDatabase();
    const brokerPrefix = uniqueBrokerPrefix();
    const secret = `s3cret${randomBytes(6).toString('hex')}`;
    // `guest:1234#…@host` parses as host `guest`, port 1234, fragment `…@host`: the broker is out
    // of reach (the API starts degraded), and what follows the # was the password's tail.
    const api = await ApiProcess.start({ DATABASE_URL: databaseUrl, BROKER_PREFIX: brokerPrefix, LOG_LEVEL: 'log', RABBITMQ_URL: `amqp://guest:1234#${secret}@127.0.0.1:5672` });
    try {
      await eventually(async () => expect(api.stdout).toContain('"msg":"broker '), 10_000);
      expect(await api.kill('SIGTERM')).toEqual({ code: 0, signal: null });
      expect(logLines(api.stdout, 'the API').length).toBeGreaterThan(5);
      expect(api.output).not.toContain(secret);
    } finally {
      api.signal('SIGKILL');
      await dropDatabase(databaseUrl);
    }
  });
});
