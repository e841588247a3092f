import { Client } from 'pg';
import { dropDatabase } from '../src/database/ensure-database';
import { relayLeaseKey } from '../src/messaging/relay/outbox-relay';
import { ApiProcess } from './support/api-process';
import { eventually } from './support/test-app';
import { deleteTopology, messageCount, startBrokerProxy, TEST_RABBITMQ_URL, testTopology, uniqueBrokerPrefix } from './support/test-broker';
import { createTestDatabase } from './support/test-database';
import { TcpProxy } from './support/tcp-proxy';

/**
 * The relay's leader frozen mid-batch (SIGSTOP; a paused VM or a blocked event loop alike) loses
 * its lease session to `idle_session_timeout`, and another process relays from the checkpoint.
 * Woken, it hears of the loss at once (its lease session's FATAL) but must not go on sending the
 * rest of the batch it read before the freeze: each of those messages is a copy of one the new
 * leader sends. At most the window in flight at the wake may still go out.
 */
const LEASE_TIMEOUT_MS = 2000;
const BACKLOG = 400;
const WINDOW = 1;
/** The window, and a message whose publish had begun as the process woke. */
const AT_MOST_AFTER_DEPOSAL = WINDOW + 1;

describe('a relay leader frozen mid-batch, then woken after another took the lease', () => {
  const brokerPrefix = uniqueBrokerPrefix();
  const topology = testTopology(brokerPrefix);
  let databaseUrl: string;
  let proxy: TcpProxy;
  let api: ApiProcess | undefined;
  let db: Client;
  let otherLeader: Client;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    proxy = await startBrokerProxy();
  });

  afterAll(async () => {
    api?.signal('SIGCONT');
    await api?.kill('SIGKILL');
    await Promise.all([db?.end().catch(() => undefined), otherLeader?.end().catch(() => undefined)]);
    await proxy.close();
    await deleteTopology(topology).catch(() => undefined);
    await dropDatabase(databaseUrl).catch(() => undefined);
  });

  it(`sends at most ${AT_MOST_AFTER_DEPOSAL} message(s) once woken without its lease`, async () => {
    api = await ApiProcess.start({
      DATABASE_URL: databaseUrl,
      BROKER_PREFIX: brokerPrefix,
      RABBITMQ_URL: proxy.rewrite(TEST_RABBITMQ_URL),
      REACTIONS_ENABLED: 'false',
      RELAY_MAX_IN_FLIGHT: String(WINDOW),
      LEASE_SESSION_TIMEOUT_MS: String(LEASE_TIMEOUT_MS),
    });
    db = new Client({ connectionString: databaseUrl });
    otherLeader = new Client({ connectionString: databaseUrl });
    await Promise.all([db.connect(), otherLeader.connect()]);
    expect((await api.post('/users', { email: 'first@example.com', name: 'First' })).status).toBe(201);
    await eventually(async () => expect(await messageCount(topology.consumerQueue)).toBe(1), 20_000);

    // Each confirm now takes a few tens of ms: the backlog is one batch that takes seconds to send.
    proxy.latency(15);
    await db.query(
      `INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, schema_version, payload, metadata)
       SELECT gen_random_uuid(), e.stream_type, gen_random_uuid(), 1, e.event_type, e.schema_version,
              e.payload || jsonb_build_object('email', 'backlog-' || n || '@example.com'), e.metadata
       FROM (SELECT * FROM events ORDER BY position LIMIT 1) e, generate_series(1, $1::int) n`,
      [BACKLOG],
    );
    await eventually(async () => expect(await messageCount(topology.consumerQueue)).toBeGreaterThan(20), 20_000);

    api.signal('SIGSTOP');
    // The server ends the silent lease session; another process takes the lease.
    await eventually(async () => {
      // Named `lease <key> host=… pid=…`.
      const { rows } = await db.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND starts_with(application_name, $1)`, [
        `lease ${relayLeaseKey(brokerPrefix)} `,
      ]);
      expect(rows).toHaveLength(0);
    }, LEASE_TIMEOUT_MS + 5000);
    const { rows } = await otherLeader.query(`SELECT pg_try_advisory_lock(hashtext($1)) AS locked`, [relayLeaseKey(brokerPrefix)]);
    expect(rows[0].locked).toBe(true);
    const beforeWake = await messageCount(topology.consumerQueue);
    expect(beforeWake).toBeLessThan(BACKLOG);

    api.signal('SIGCONT');
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const sentAfterWake = (await messageCount(topology.consumerQueue)) - beforeWake;
    console.log(`the deposed relay sent ${sentAfterWake} message(s) after it woke (${beforeWake} before the freeze)`);
    expect(sentAfterWake).toBeLessThanOrEqual(AT_MOST_AFTER_DEPOSAL);
  }, 60_000);
});
