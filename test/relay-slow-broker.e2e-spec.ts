import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { dropDatabase } from '../src/database/ensure-database';
import { ApiProcess } from './support/api-process';
import { eventually } from './support/test-app';
import { deleteTopology, messageCount, startBrokerProxy, TEST_RABBITMQ_URL, testTopology, uniqueBrokerPrefix } from './support/test-broker';
import { createTestDatabase } from './support/test-database';
import { TcpProxy } from './support/tcp-proxy';

const BACKLOG = 3000;
const WINDOW = 200;

/** Resident memory of a process in MB (Linux), or undefined where /proc is not available. */
function rssMb(pid: number | undefined): number | undefined {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return Math.round(kb / 1024);
  } catch {
    return undefined;
  }
}

async function relayLag(db: Client): Promise<number> {
  const { rows } = await db.query(
    `SELECT count(e.*)::int AS n FROM subscription_checkpoints c
     JOIN events e ON e.global_position > c.global_position OR e.global_position IS NULL
     WHERE c.subscription_id = 'relay:integration-events'`,
  );
  return rows[0]?.n ?? Number.NaN;
}

describe('the relay in front of a broker that stops answering', () => {
  const brokerPrefix = uniqueBrokerPrefix();
  const topology = testTopology(brokerPrefix);
  let databaseUrl: string;
  let proxy: TcpProxy;
  let api: ApiProcess | undefined;
  let db: Client;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    proxy = await startBrokerProxy();
  });

  afterAll(async () => {
    proxy.release();
    await api?.kill('SIGTERM');
    await db?.end();
    await proxy.close();
    await deleteTopology(topology).catch(() => undefined);
    await dropDatabase(databaseUrl);
  });

  it('re-sends at most one window per broken channel, never a copy of the backlog per timeout, and drains after', async () => {
    api = await ApiProcess.start({
      DATABASE_URL: databaseUrl,
      BROKER_PREFIX: brokerPrefix,
      RABBITMQ_URL: proxy.rewrite(TEST_RABBITMQ_URL),
      REACTIONS_ENABLED: 'false',
      RELAY_PUBLISH_TIMEOUT_MS: '500',
      RELAY_MAX_IN_FLIGHT: String(WINDOW),
    });
    db = new Client({ connectionString: databaseUrl });
    await db.connect();
    expect((await api.post('/users', { email: 'first@example.com', name: 'First' })).status).toBe(201);
    await eventually(async () => expect(await messageCount(topology.consumerQueue)).toBe(1), 20_000);
    const rssBefore = rssMb(api.pid);

    proxy.hold(); // RabbitMQ receives what the API sends, the API hears nothing back: no confirm comes
    // A backlog in one go: copies of the first user's registration as new users' events.
    await db.query(
      `INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, schema_version, payload, metadata)
       SELECT gen_random_uuid(), e.stream_type, gen_random_uuid(), 1, e.event_type, e.schema_version,
              e.payload || jsonb_build_object('email', 'backlog-' || n || '@example.com'), e.metadata
       FROM (SELECT * FROM events ORDER BY position LIMIT 1) e, generate_series(1, $1::int) n`,
      [BACKLOG],
    );
    let rssPeak = rssBefore ?? 0;
    for (let i = 0; i < 20; i++) {
      // several publish timeouts go by while the broker stalls
      await new Promise((resolve) => setTimeout(resolve, 200));
      rssPeak = Math.max(rssPeak, rssMb(api.pid) ?? 0);
    }
    proxy.release();

    await eventually(async () => expect(await relayLag(db)).toBe(0), 60_000);
    const stored = BACKLOG + 1;
    const queued = await messageCount(topology.consumerQueue);
    // Each channel the relay gave up on (a confirm overdue) may have routed what it had in flight.
    const brokenChannels = api.output.split('no broker confirm within').length - 1;
    const rssAfter = rssMb(api.pid);
    process.stdout.write(
      `slow broker: ${stored} events, ${queued} messages queued (${queued - stored} duplicates), ` +
        `${brokenChannels} broken channel(s), window ${WINDOW}; API RSS ${rssBefore} MB before, ${rssPeak} MB peak, ${rssAfter} MB after\n`,
    );
    expect(queued).toBeGreaterThanOrEqual(stored);
    expect(queued - stored).toBeLessThanOrEqual(WINDOW * Math.max(1, brokenChannels));
  }, 120_000);
});
