import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { EventAppendedSignal, EventSequencer, EventStoreHead, pauseSubscription, resumeSubscription } from '../src/event-store';
import { advanceCheckpoint, ensureCheckpoint, readCheckpointAndEventsAfter } from '../src/event-store/subscription/committed-events';
import { createMigratedDataSource } from './support/test-database';

let dataSource: DataSource;
let drop: () => Promise<void>;

beforeAll(async () => {
  ({ dataSource, drop } = await createMigratedDataSource());
});
afterAll(async () => {
  await drop();
});

async function appendNumbered(count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, () => randomUUID());
  for (const eventId of ids) {
    await dataSource.query(
      `INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, payload, metadata)
       VALUES ($1, 'Test', $2, 1, 'Tested', '{}', '{"correlationId":"c","causationId":"c","occurredAt":"2026-01-01T00:00:00Z"}')`,
      [eventId, randomUUID()],
    );
  }
  const sequencer = new EventSequencer(dataSource, new EventStoreHead(), new EventAppendedSignal(), undefined, { batchSize: 1000, safetyPollMs: 60_000 });
  await sequencer.sequencePending();
  return ids;
}

describe('readCheckpointAndEventsAfter (one round trip for a reader such as the relay)', () => {
  it('gives the checkpoint and the numbered events after it, in order, at most `limit`; nothing while paused; nothing past the head', async () => {
    await ensureCheckpoint(dataSource, 'reader-a');
    const ids = await appendNumbered(5);

    const first = await readCheckpointAndEventsAfter(dataSource, 'reader-a', 3);
    expect(first.checkpoint).toEqual({ globalPosition: '0' });
    expect(first.paused).toBe(false);
    expect(first.events.map((event) => event.eventId)).toEqual(ids.slice(0, 3));
    expect(first.events[0]).toEqual(expect.objectContaining({ eventType: 'Tested', streamType: 'Test', streamVersion: 1, payload: {} }));

    await advanceCheckpoint(dataSource, 'reader-a', { globalPosition: first.events[2].globalPosition });
    const rest = await readCheckpointAndEventsAfter(dataSource, 'reader-a', 10);
    expect(rest.checkpoint).toEqual({ globalPosition: first.events[2].globalPosition });
    expect(rest.events.map((event) => event.eventId)).toEqual(ids.slice(3));

    await pauseSubscription(dataSource, 'reader-a', { by: 'test', reason: 'checking the read' });
    expect(await readCheckpointAndEventsAfter(dataSource, 'reader-a', 10)).toEqual({ checkpoint: rest.checkpoint, paused: true, events: [] });
    await resumeSubscription(dataSource, 'reader-a');

    await advanceCheckpoint(dataSource, 'reader-a', { globalPosition: rest.events[1].globalPosition });
    expect(await readCheckpointAndEventsAfter(dataSource, 'reader-a', 10)).toEqual({
      checkpoint: { globalPosition: rest.events[1].globalPosition },
      paused: false,
      events: [],
    });
  });

  it('refuses a reader whose checkpoint does not exist, naming it', async () => {
    await expect(readCheckpointAndEventsAfter(dataSource, 'no-such-reader', 10)).rejects.toThrow('the checkpoint of no-such-reader does not exist');
  });
});
