import type { DomainEventClass } from './domain-event';
import { EventMetadata } from './event-metadata';

/** An event as the `events` table holds it. Positions are bigints, kept as decimal strings. */
export interface StoredEvent<TPayload = Record<string, unknown>, TType extends string = string> {
  /** Taken at insert: unique, increasing in append order, NOT in commit order. */
  position: string;
  /**
   * Commit order, handed out by the EventSequencer after the append committed: what readers and
   * checkpoints go by. Null for an event read by its stream before it was numbered.
   */
  globalPosition: string | null;
  eventId: string;
  streamType: string;
  streamId: string;
  streamVersion: number;
  eventType: TType;
  schemaVersion: number;
  payload: TPayload;
  metadata: EventMetadata;
  recordedAt: Date;
}

/**
 * A stored event of one of the classes `C` (a union of event classes), after upcasting: a union
 * discriminated by `eventType`, so `switch (event.eventType)` narrows `payload` to that class's
 * fields. Derived from the classes, never restated: `StoredEventOf<(typeof ORDER_EVENT_CLASSES)[number]>`.
 */
export type StoredEventOf<C extends DomainEventClass> =
  C extends DomainEventClass<infer TType, infer TEvent> ? StoredEvent<{ readonly [K in keyof TEvent]: TEvent[K] }, TType> : never;

/** An event read in commit order: it has its global position. */
export type SequencedEvent<TPayload = Record<string, unknown>> = StoredEvent<TPayload> & { globalPosition: string };

/**
 * The columns of a StoredEvent. Positions stay bigints in SQL (node-postgres hands int8 over as a
 * decimal string anyway): an alias `position::text AS position` made every `ORDER BY position`
 * over these columns sort as text, 1, 10, 11, …, 2.
 */
export const STORED_EVENT_COLUMNS = `position, global_position AS "globalPosition",
  event_id AS "eventId", stream_type AS "streamType", stream_id AS "streamId",
  stream_version AS "streamVersion", event_type AS "eventType", schema_version AS "schemaVersion",
  payload, metadata, recorded_at AS "recordedAt"`;
