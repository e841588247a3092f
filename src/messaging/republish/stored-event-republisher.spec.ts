import type { DataSource } from 'typeorm';
import type { IntegrationEnvelope } from '../../contracts';
import { EventUpcasters, type StoredEvent } from '../../event-store';
import type { IntegrationEventMappers } from '../integration-event-mappers';
import { RepublishFailedError, republishStoredEvents, type UnpublishableEvent } from './stored-event-republisher';

/** Stored events at positions 1..n, one stream each, `Thing` v2 unless `overrides` say otherwise. */
function storedEvents(n: number, overrides: Record<number, Partial<StoredEvent>> = {}): StoredEvent[] {
  return Array.from({ length: n }, (_, index) => {
    const position = index + 1;
    return {
      position: String(position),
      globalPosition: String(position),
      eventId: `00000000-0000-4000-8000-${String(position).padStart(12, '0')}`,
      streamType: 'Thing',
      streamId: `10000000-0000-4000-8000-${String(position).padStart(12, '0')}`,
      streamVersion: 1,
      eventType: 'ThingHappened',
      schemaVersion: 2,
      payload: { value: position },
      metadata: { correlationId: 'c', causationId: 'c', occurredAt: '2026-12-01T00:00:00.000Z' },
      recordedAt: new Date(0),
      ...overrides[position],
    };
  });
}

/** The store's two queries as republishStoredEvents asks them of a position range; `failAfter`: a page read after that position fails. */
function storeOf(events: StoredEvent[], failAfter?: string): DataSource {
  return {
    async query(sql: string, params: unknown[]) {
      if (sql.includes('count(*)')) return [{ n: events.length }];
      const [, , after, limit] = params as [string, string, string, number];
      if (failAfter !== undefined && BigInt(after) >= BigInt(failAfter)) throw new Error('connection terminated');
      return events.filter((event) => BigInt(event.position) > BigInt(after)).slice(0, limit);
    },
  } as unknown as DataSource;
}

/** Maps every ThingHappened to a contract, and throws on a payload without `value`. */
const mappers = {
  map(event: StoredEvent) {
    if (event.payload.value === undefined) throw new TypeError('value is missing');
    return { type: 'thing.happened.v1', data: { value: event.payload.value }, source: '/eda/things' };
  },
} as unknown as IntegrationEventMappers;

function upcasters(): EventUpcasters {
  const registry = new EventUpcasters();
  registry.registerCurrentVersions({ type: 'ThingHappened', schemaVersion: 2 });
  return registry;
}

describe('republishStoredEvents', () => {
  const selection = { kind: 'positions', from: '1', to: '9' } as const;

  it('publishes every readable event in order across pages, and names each one it cannot read or map', async () => {
    // Page size 2: the unreadable event ends page 2, the unmappable one starts page 3.
    const events = storedEvents(6, { 4: { schemaVersion: 1 }, 5: { payload: {} } });
    const sent: string[] = [];
    const told: UnpublishableEvent[] = [];
    const progress: Array<{ done: number; unpublishable: number }> = [];

    const outcome = await republishStoredEvents(
      { dataSource: storeOf(events), publish: async (message: IntegrationEnvelope) => void sent.push(message.id), mappers, upcasters: upcasters(), maxInFlight: 2 },
      selection,
      { batchSize: 2, onUnpublishable: (event) => told.push(event), onProgress: ({ done, unpublishable }) => progress.push({ done, unpublishable }) },
    );

    expect(sent).toEqual([events[0], events[1], events[2], events[5]].map((event) => event.eventId));
    expect(outcome).toEqual({
      total: 6,
      published: 4,
      skipped: 0,
      unpublishable: [
        {
          eventId: events[3].eventId,
          position: '4',
          eventType: 'ThingHappened',
          schemaVersion: 1,
          streamId: events[3].streamId,
          streamVersion: 1,
          failedAt: 'read',
          reason: expect.stringMatching(/^UnreadableEventVersionError: ThingHappened .* is stored at schema version 1, and this code reads ThingHappened only at v2/),
        },
        expect.objectContaining({ eventId: events[4].eventId, position: '5', schemaVersion: 2, failedAt: 'map', reason: 'TypeError: value is missing' }),
      ],
    });
    expect(told).toEqual(outcome.unpublishable);
    expect(progress).toEqual([
      { done: 2, unpublishable: 0 },
      { done: 4, unpublishable: 1 },
      { done: 6, unpublishable: 2 },
    ]);
  });

  it('keeps the events it could not read when the store fails later, with the last one confirmed', async () => {
    const events = storedEvents(4, { 2: { schemaVersion: 7 } });

    const failure = await republishStoredEvents(
      { dataSource: storeOf(events, '2'), publish: async () => undefined, mappers, upcasters: upcasters(), maxInFlight: 2 },
      selection,
      { batchSize: 2 },
    ).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(RepublishFailedError);
    const { published, lastConfirmed, unpublishable, message } = failure as RepublishFailedError;
    expect({ published, lastConfirmed: lastConfirmed?.position, message }).toEqual({ published: 1, lastConfirmed: '2', message: 'connection terminated' });
    expect(unpublishable).toEqual([expect.objectContaining({ position: '2', schemaVersion: 7, failedAt: 'read', reason: expect.stringContaining('written by a newer version of the code') })]);
  });
});
