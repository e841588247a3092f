import { EventMetadata } from './event-metadata';

/** An event as the `events` table holds it. Positions are bigints, kept as decimal strings. */
export interface StoredEvent<TPayload = Record<string, unknown>> {
  position: string;
  transactionId: string;
  eventId: string;
  streamType: string;
  streamId: string;
  streamVersion: number;
  eventType: string;
  schemaVersion: number;
  payload: TPayload;
  metadata: EventMetadata;
  recordedAt: Date;
}

/**
 * The columns of a StoredEvent. `position` stays a bigint in SQL (node-postgres hands int8 over
 * as a decimal string anyway): an alias `position::text AS position` made every `ORDER BY
 * position` over these columns sort as text, 1, 10, 11, …, 2.
 */
export const STORED_EVENT_COLUMNS = `position, transaction_id::text AS "transactionId",
  event_id AS "eventId", stream_type AS "streamType", stream_id AS "streamId",
  stream_version AS "streamVersion", event_type AS "eventType", schema_version AS "schemaVersion",
  payload, metadata, recorded_at AS "recordedAt"`;
