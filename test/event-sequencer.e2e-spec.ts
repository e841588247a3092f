import { randomUUID } from 'node:crypto';
import { CommandBus } from '@nestjs/cqrs';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { DatabaseNotifications } from '../src/database/database-notifications';
import { TransactionContext } from '../src/database/transaction-context';
import { EventAppendedSignal, EventSequencer, EventStoreHead, SequencedEvent, withCommandCause } from '../src/event-store';
import { CheckpointedSubscription } from '../src/event-store/subscription/checkpointed-subscription';
import { previousVersionBatch } from './support/previous-version-sequencer';
import { TcpProxy } from './support/tcp-proxy';
import { PlaceOrderCommand } from '../src/modules/orders/commands/place-order/place-order.command';
import { registerUser, twoLines } from './support/fixtures';
import { eventually, startTestApp, TestApp } from './support/test-app';
import { createMigratedDataSource } from './support/test-database';

let dataSource: DataSource;
let url: string;
let drop: () => Promise<void>;

beforeAll(async () => {
  ({ dataSource, url, drop } = await createMigratedDataSource());
});
afterAll(() => drop());

/** Appends as a writer outside the API does: it NOTIFYs `events_appended` with its commit. */
async function append(count: number): Promise<void> {
  await dataSource.query(
    `WITH appended AS (
       INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, payload, metadata)
       SELECT gen_random_uuid(), 'Test', gen_random_uuid(), 1, 'Tested', '{}', '{}' FROM generate_series(1, $1::int)
       RETURNING 1
     )
     SELECT pg_notify('events_appended', '') FROM (SELECT count(*) FROM appended) AS done`,
    [count],
  );
}

/** Another process's sequencer, run by hand: it numbers and NOTIFYs, nothing else. */
function otherProcessSequencer(): EventSequencer {
  return new EventSequencer(dataSource, new EventStoreHead(), new EventAppendedSignal(), undefined, { batchSize: 100, safetyPollMs: 60_000 });
}

describe('event sequencer', () => {
  it('is woken by an outside writer\'s NOTIFY, and after a lost LISTEN connection reads what it missed', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: Number(new URL(url).port || 5432) });
    const notifications = new DatabaseNotifications(proxy.rewrite(url));
    await notifications.start();
    // This process's sequencer polls only every minute: only NOTIFY, or the read after a
    // reconnect, can tell its reader of new numbers within the test.
    const head = new EventStoreHead();
    const sequencer = new EventSequencer(dataSource, head, new EventAppendedSignal(), notifications, { batchSize: 100, safetyPollMs: 60_000 });
    await sequencer.start();
    const seen: SequencedEvent[] = [];
    const subscription = new CheckpointedSubscription(
      `notify-${randomUUID()}`,
      dataSource,
      async (events) => {
        seen.push(...events);
      },
      sequencer,
      { batchSize: 1000, gatherMs: 0 },
    );
    await subscription.start();
    try {
      await append(3);
      await eventually(async () => expect(seen).toHaveLength(3));

      await proxy.refuse(); // the LISTEN connection is cut; what is sent meanwhile is lost
      await append(2);
      await otherProcessSequencer().sequencePending();
      await proxy.accept();
      await eventually(async () => expect(seen).toHaveLength(5));
      expect(seen.map((event) => Number(event.globalPosition))).toEqual([1, 2, 3, 4, 5]);
    } finally {
      await subscription.stop();
      await sequencer.stop();
      await notifications.stop();
      await proxy.close();
    }
  });

  it('after its idle LISTEN connection went silent for good (no FIN, no RST), reads what it missed within the heartbeat and reply bounds, not at the safety poll', async () => {
    const HEARTBEAT_MS = 500;
    const REPLY_TIMEOUT_MS = 1000;
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: Number(new URL(url).port || 5432) });
    const notifications = new DatabaseNotifications(proxy.rewrite(url), { replyTimeoutMs: REPLY_TIMEOUT_MS, heartbeatMs: HEARTBEAT_MS });
    await notifications.start();
    // As above: only NOTIFY, or the read after a reconnect, tells the reader within the test.
    const sequencer = new EventSequencer(dataSource, new EventStoreHead(), new EventAppendedSignal(), notifications, { batchSize: 100, safetyPollMs: 60_000 });
    await sequencer.start();
    const seen: SequencedEvent[] = [];
    const subscription = new CheckpointedSubscription(
      `silent-${randomUUID()}`,
      dataSource,
      async (events) => {
        seen.push(...events);
      },
      sequencer,
      { batchSize: 1000, gatherMs: 0 },
    );
    await subscription.start();
    try {
      const stored = async () => (await dataSource.query(`SELECT count(*)::int AS n FROM events`))[0].n as number;
      await append(1);
      const before = await stored();
      // Notified again until heard: the sequencer's LISTENs go out as it starts, not awaited.
      await eventually(async () => {
        await dataSource.query(`SELECT pg_notify('events_appended', '')`);
        expect(seen).toHaveLength(before);
      });

      // Its packets are dropped from now on (a NAT or firewall that lost the connection's state, a
      // failover), while new connections get through; the proxy's kernel answers its TCP keepalive.
      proxy.blackHoleOpenConnections();
      const cutAt = Date.now();
      await append(2);
      await otherProcessSequencer().sequencePending();
      await eventually(async () => expect(seen).toHaveLength(before + 2), HEARTBEAT_MS + REPLY_TIMEOUT_MS + 5000);
      process.stderr.write(`events appended after the LISTEN connection went silent were read after ${Date.now() - cutAt} ms\n`);
      expect(seen.map((event) => Number(event.globalPosition))).toEqual(Array.from({ length: before + 2 }, (_, index) => index + 1));
    } finally {
      await subscription.stop();
      await sequencer.stop();
      await notifications.stop();
      await proxy.close();
    }
  });
});

describe('the sequencing fence', () => {
  /** Clients of the test's own, ended after each test. */
  const clients: Client[] = [];
  async function connect(): Promise<Client> {
    const client = new Client({ connectionString: url });
    await client.connect();
    clients.push(client);
    return client;
  }
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.end().catch(() => undefined)));
  });

  async function numbersInPositionOrder(): Promise<Array<number | null>> {
    return (await dataSource.query(`SELECT global_position::int AS n FROM events ORDER BY position`)).map(({ n }: { n: number | null }) => n);
  }

  it('a sequencer waiting on the fence numbers after what the holder numbered, an append that committed late with an earlier position too', async () => {
    await sequencePendingNow();
    const numberedBefore = (await numbersInPositionOrder()).length;
    // A slow append: it takes its position now and commits only after the holder has numbered.
    const slow = await connect();
    await slow.query('BEGIN');
    await slow.query(
      `INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, payload, metadata)
       VALUES (gen_random_uuid(), 'Test', gen_random_uuid(), 1, 'Slow', '{}', '{}')`,
    );
    await append(1);
    const holder = await connect();
    await holder.query('BEGIN');
    expect((await holder.query(`SELECT numbered FROM sequence_events(100)`)).rows).toEqual([{ numbered: 1 }]);
    await slow.query('COMMIT');

    // The waiting sequencer's call starts now, while the holder's numbers are not committed.
    const waiting = otherProcessSequencer().sequencePending();
    await eventually(async () => {
      const [{ waiters }] = await dataSource.query(`SELECT count(*)::int AS waiters FROM pg_locks
         WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
      expect(waiters).toBe(1);
    });
    await holder.query('COMMIT');

    // It saw the holder's number (no duplicate) and the slow append, numbered after it.
    await expect(waiting).resolves.toBe(1);
    const numbers = (await numbersInPositionOrder()).slice(numberedBefore);
    expect(numbers).toEqual([numberedBefore + 2, numberedBefore + 1]);
  });

  it('under concurrent appends, two sequencers and one of the previous version never show a reader a gap, and number every event once', async () => {
    await sequencePendingNow();
    const until = Date.now() + 2_000;
    const appenders = Array.from({ length: 4 }, async () => {
      while (Date.now() < until) await append(1 + Math.floor(Math.random() * 5));
    });
    const sequencers = [otherProcessSequencer(), otherProcessSequencer()].map(async (sequencer) => {
      while (Date.now() < until) await sequencer.sequencePending();
    });
    const previous = (async () => {
      const client = await connect();
      while (Date.now() < until) await previousVersionBatch(client, 7);
    })();
    // What a reader sees in one snapshot: every number up to the highest, none missing.
    const gaps: Array<{ head: number; count: number }> = [];
    const reader = (async () => {
      while (Date.now() < until) {
        const [seen] = await dataSource.query(`SELECT coalesce(max(global_position), 0)::int AS head, count(global_position)::int AS count FROM events`);
        if (seen.head !== seen.count) gaps.push(seen);
      }
    })();
    await Promise.all([...appenders, ...sequencers, previous, reader]);
    await sequencePendingNow();

    expect(gaps).toEqual([]);
    const [summary] = await dataSource.query(
      `SELECT count(*)::int AS events, count(DISTINCT global_position)::int AS numbers, max(global_position)::int AS head FROM events`,
    );
    expect(summary.numbers).toBe(summary.events);
    expect(summary.head).toBe(summary.events);
  });
});

/** Numbers whatever waits, as the API's sequencer would. */
async function sequencePendingNow(): Promise<void> {
  await otherProcessSequencer().sequencePending();
}

describe('event sequencer in the API', () => {
  let app: TestApp;
  beforeAll(async () => {
    // A safety poll that never comes within the test: only the commit can wake the sequencer.
    app = await startTestApp({ env: { REACTIONS_ENABLED: 'false', EVENT_STORE_SAFETY_POLL_MS: '600000' } });
  }, 30_000);
  afterAll(() => app?.close());

  it('numbers an append made inside a caller\'s transaction as soon as that transaction commits', async () => {
    const customerId = await registerUser(app);
    const { id } = await app.db.transaction((transaction) =>
      app.app
        .get(TransactionContext)
        .run(transaction, () =>
          withCommandCause({ correlationId: 'c', causationId: 'c' }, () => app.app.get(CommandBus).execute(new PlaceOrderCommand(customerId, 'EUR', twoLines))),
        ),
    );
    // Projected, so numbered: GET /orders/{id} reads the order's own row and would not tell.
    await eventually(async () => {
      const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM order_summaries WHERE id = $1`, [id]);
      expect(n).toBe(1);
    });
  });
});
