import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { DatabaseNotifications } from '../src/database/database-notifications';
import { EventAppendedSignal, EventSequencer, EventStoreHead, SequencedEvent } from '../src/event-store';
import { CheckpointedSubscription, EventBatchHandler } from '../src/event-store/subscription/checkpointed-subscription';
import { createMigratedDataSource } from './support/test-database';
import { eventually } from './support/test-app';

let dataSource: DataSource;
let url: string;
let drop: () => Promise<void>;
const openClients: Client[] = [];
const running: Array<{ stop(): Promise<void> }> = [];

beforeAll(async () => {
  ({ dataSource, url, drop } = await createMigratedDataSource());
});
afterAll(async () => {
  await Promise.all(openClients.map((client) => client.end().catch(() => undefined)));
  await drop();
});
beforeEach(async () => {
  await dataSource.query('TRUNCATE events, subscription_checkpoints');
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((service) => service.stop()));
});

/**
 * A sequencer as one API process runs it: its own head, and LISTEN on its own connection for the
 * other sequencers' numbers. The test's writers are not API processes (no in-process signal, no
 * NOTIFY), so a fast safety poll finds their appends.
 */
async function startSequencer(options: { safetyPollMs?: number; batchSize?: number } = {}): Promise<EventSequencer> {
  const notifications = new DatabaseNotifications(url);
  await notifications.start();
  running.push(notifications);
  const sequencer = new EventSequencer(dataSource, new EventStoreHead(), new EventAppendedSignal(), notifications, {
    batchSize: options.batchSize ?? 1000,
    safetyPollMs: options.safetyPollMs ?? 25,
  });
  await sequencer.start();
  running.unshift(sequencer);
  return sequencer;
}

/** A sequencer that never runs on its own: the test numbers by calling sequencePending(). */
function idleSequencer(): EventSequencer {
  return new EventSequencer(dataSource, new EventStoreHead(), new EventAppendedSignal(), undefined, { batchSize: 1000, safetyPollMs: 60_000 });
}

async function connect(): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  openClients.push(client);
  return client;
}

/** Appends one event through `db` (which may be inside an open transaction); returns its id. */
async function append(db: { query: Client['query'] }, streamId = randomUUID(), version = 1): Promise<string> {
  const eventId = randomUUID();
  await db.query(
    `INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, payload, metadata)
     VALUES ($1, 'Test', $2, $3, 'Tested', '{}', '{"correlationId":"c","causationId":"c","occurredAt":"2026-01-01T00:00:00Z"}')`,
    [eventId, streamId, version],
  );
  return eventId;
}

function collectingSubscription(name = 'test', options: { batchSize?: number; sequencer?: EventSequencer } = {}) {
  const seen: SequencedEvent[] = [];
  const handler: EventBatchHandler = async (events) => {
    seen.push(...events);
  };
  const subscription = new CheckpointedSubscription(name, dataSource, handler, options.sequencer ?? idleSequencer(), {
    batchSize: options.batchSize ?? 100,
    gatherMs: 0,
  });
  return { subscription, seen, ids: () => seen.map((event) => event.eventId) };
}

describe('checkpointed subscription over the events table', () => {
  it('delivers events in order and resumes from its stored checkpoint after a restart', async () => {
    const db = await connect();
    const first: string[] = [];
    for (let i = 0; i < 10; i++) first.push(await append(db));

    const before = collectingSubscription('resume', { batchSize: 3 });
    await before.subscription.ensureCheckpoint();
    await before.subscription.catchUp();
    expect(before.ids()).toEqual(first);

    // A new instance (as after a process restart) starts from the checkpoint, not from zero.
    const later: string[] = [];
    for (let i = 0; i < 5; i++) later.push(await append(db));
    const after = collectingSubscription('resume');
    await after.subscription.ensureCheckpoint();
    await after.subscription.catchUp();
    expect(after.ids()).toEqual(later);
    expect(await after.subscription.catchUp()).toBe(0);
  });

  it('delivers an event committed late after those committed before it, and holds back nothing else meanwhile', async () => {
    const slowWriter = await connect();
    const fastWriter = await connect();
    const { subscription, ids } = collectingSubscription('late-commit');
    await subscription.ensureCheckpoint();

    await slowWriter.query('BEGIN');
    const early = await append(slowWriter); // takes the lower position, commits last
    const late = await append(fastWriter); // takes the higher position, commits first

    // The open append delays only itself: the committed one is delivered now...
    await subscription.catchUp();
    expect(ids()).toEqual([late]);

    // ...and the late one once it commits, after it (commit order), not skipped for its lower position.
    await slowWriter.query('COMMIT');
    await subscription.catchUp();
    expect(ids()).toEqual([late, early]);
    expect(await subscription.catchUp()).toBe(0);
  });

  it('sees every committed event exactly once while many writers commit out of position order and two sequencers race', async () => {
    const writers = await Promise.all(Array.from({ length: 16 }, () => connect()));
    const committed = new Set<string>();
    const rolledBack = new Set<string>();
    // Two processes' sequencers, woken by the same NOTIFYs, numbering in small batches: only the
    // fence keeps their batches from interleaving. Each learns of the other's numbers by NOTIFY.
    await startSequencer({ batchSize: 7 });
    const { subscription, seen } = collectingSubscription('concurrent', { batchSize: 50, sequencer: await startSequencer({ batchSize: 7 }) });
    await subscription.start(); // runs concurrently with the writers

    // A straggler takes the lowest position and commits after everything else was delivered.
    const straggler = await connect();
    await straggler.query('BEGIN');
    const stragglerId = await append(straggler);

    await Promise.all(
      writers.map(async (writer, w) => {
        // Each writer extends one stream of its own across its transactions (the next version
        // only after the previous one committed, as the aggregate's version check makes writers
        // do), so per-stream order is checked across transactions and sequencer batches.
        const streamId = randomUUID();
        let nextVersion = 1;
        for (let t = 0; t < 30; t++) {
          await writer.query('BEGIN');
          const ids = [];
          const count = 1 + ((w + t) % 3);
          for (let v = 0; v < count; v++) ids.push(await append(writer, streamId, nextVersion + v));
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
          if ((w * 31 + t) % 7 === 0) {
            await writer.query('ROLLBACK');
            ids.forEach((id) => rolledBack.add(id));
          } else {
            await writer.query('COMMIT');
            ids.forEach((id) => committed.add(id));
            nextVersion += count;
          }
        }
      }),
    );
    await eventually(async () => expect(seen.length).toBeGreaterThanOrEqual(committed.size));
    await straggler.query('COMMIT');
    committed.add(stragglerId);

    await eventually(async () => expect(seen.length).toBeGreaterThanOrEqual(committed.size));
    await new Promise((resolve) => setTimeout(resolve, 100)); // a duplicate would show up by now
    await subscription.stop();

    const delivered = seen.map((event) => event.eventId);
    expect(new Set(delivered).size).toBe(delivered.length); // no event twice
    expect(new Set(delivered)).toEqual(committed); // every committed one, nothing else
    expect(delivered.some((id) => rolledBack.has(id))).toBe(false);
    // Within a stream, versions arrive in order.
    const lastVersion = new Map<string, number>();
    for (const event of seen) {
      expect(event.streamVersion).toBe((lastVersion.get(event.streamId) ?? 0) + 1);
      lastVersion.set(event.streamId, event.streamVersion);
    }
    // Positions were indeed committed out of order (the straggler at least), or this test proves nothing.
    const outOfOrder = seen.some((event, i) => i > 0 && BigInt(event.position) < BigInt(seen[i - 1].position));
    expect(outOfOrder).toBe(true);
    expect(seen[seen.length - 1].eventId).toBe(stragglerId);
    // Commit-order numbers are handed out without gaps or repeats, and delivered in their order.
    expect(seen.map((event) => Number(event.globalPosition))).toEqual(seen.map((_, index) => index + 1));
  });

  it('redelivers a batch whose handler failed, because the checkpoint moves only on commit', async () => {
    const db = await connect();
    const id = await append(db);
    let calls = 0;
    const received: string[] = [];
    const sequencer = idleSequencer();
    await sequencer.sequencePending();
    const subscription = new CheckpointedSubscription(
      'failing',
      dataSource,
      async (events) => {
        calls += 1;
        if (calls === 1) throw new Error('projection down');
        received.push(...events.map((event) => event.eventId));
      },
      sequencer,
      { batchSize: 10, gatherMs: 0 },
    );
    await subscription.ensureCheckpoint();
    await expect(subscription.processNextBatch()).rejects.toThrow('projection down');
    await subscription.catchUp();
    expect(received).toEqual([id]);
  });

  it('after a failed batch applies its events one at a time, stops exactly before the broken one with a recorded failure, and returns to full batches past it', async () => {
    const db = await connect();
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await append(db));
    const broken = ids[3];
    let fixed = false;
    const batches: string[][] = [];
    const subscription = new CheckpointedSubscription(
      'isolating',
      dataSource,
      async (events) => {
        if (!fixed && events.some((event) => event.eventId === broken)) throw new Error('cannot apply this one');
        batches.push(events.map((event) => event.eventId));
      },
      await startSequencer(),
      { batchSize: 100, gatherMs: 0 },
    );
    await subscription.start();
    running.unshift(subscription);

    const failure = async () =>
      (
        await dataSource.query(
          `SELECT global_position::int AS checkpoint, failing_event_id AS "eventId", failing_global_position::int AS position,
                  failing_event_type AS type, failed_attempts AS attempts, last_error AS error, failing_since IS NOT NULL AS since
           FROM subscription_checkpoints WHERE subscription_id = 'isolating'`,
        )
      )[0];
    await eventually(async () => expect((await failure()).attempts).toBeGreaterThanOrEqual(2));
    expect(batches).toEqual([[ids[0]], [ids[1]], [ids[2]]]);
    expect(await failure()).toEqual({ checkpoint: 3, eventId: broken, position: 4, type: 'Tested', attempts: expect.any(Number), error: 'Error: cannot apply this one', since: true });

    // Fixed: the broken one and the rest of the failed batch one at a time, then full batches again.
    fixed = true;
    subscription.retryNow();
    await eventually(async () => expect(batches.flat()).toEqual(ids));
    expect(batches.every((batch) => batch.length === 1)).toBe(true);
    // The handler sees the last event before its checkpoint commits.
    await eventually(async () =>
      expect(await failure()).toEqual({ checkpoint: 10, eventId: null, position: null, type: null, attempts: 0, error: null, since: false }),
    );
    const more: string[] = [];
    for (let i = 0; i < 5; i++) more.push(await append(db));
    await eventually(async () => expect(batches.flat()).toEqual([...ids, ...more]));
    expect(batches.slice(10).some((batch) => batch.length > 1)).toBe(true);
  });

  it('lets only one of two instances of a subscription apply any given event', async () => {
    const db = await connect();
    // Two processes: each its own sequencer and head.
    const a = collectingSubscription('shared', { batchSize: 5, sequencer: await startSequencer() });
    const b = collectingSubscription('shared', { batchSize: 5, sequencer: await startSequencer() });
    await Promise.all([a.subscription.start(), b.subscription.start()]);
    const appended: string[] = [];
    for (let i = 0; i < 200; i++) appended.push(await append(db));
    await eventually(async () => expect(a.seen.length + b.seen.length).toBe(200));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await Promise.all([a.subscription.stop(), b.subscription.stop()]);
    const all = [...a.ids(), ...b.ids()];
    expect(all).toHaveLength(200);
    expect(new Set(all)).toEqual(new Set(appended));
  });
});
