import type { DataSource } from 'typeorm';
import type { IntegrationEnvelope } from '../../contracts';
import { describeError, type EventUpcasters, STORED_EVENT_COLUMNS, type StoredEvent } from '../../event-store';
import type { IntegrationEventMappers } from '../integration-event-mappers';
import { toIntegrationEnvelope } from '../integration-envelope';
import { publishInOrder } from '../relay/publish-in-order';

/** Which stored events to publish again: one stream's (positions stay decimal strings: they are bigints). */
export type EventSelection = { kind: 'stream'; streamId: string } | { kind: 'positions'; from: string; to: string };

/** What republishing needs: the store, a confirming publisher and the app's mappers and upcasters. */
export interface RepublishDependencies {
  dataSource: DataSource;
  publish: (envelope: IntegrationEnvelope) => Promise<void>;
  mappers: IntegrationEventMappers;
  upcasters: EventUpcasters;
  /** Publishes in flight at once (RELAY_MAX_IN_FLIGHT). */
  maxInFlight: number;
}

/**
 * A selected event that was not published because this code cannot turn it into its message:
 * `read`, no chain of upcasters brings its stored schema version to the one its class is written
 * at (UnreadableEventVersionError), or an upcaster threw on its payload; `map`, its module's
 * contract mapper (or the CloudEvent built from it) threw. It stays in the store as it is.
 */
export interface UnpublishableEvent {
  eventId: string;
  /** Its position in the store (a bigint, as a decimal string). */
  position: string;
  eventType: string;
  /** The schema version it is stored at. */
  schemaVersion: number;
  streamId: string;
  /** Its version within its stream: the `sequence` its message would have carried. */
  streamVersion: number;
  failedAt: 'read' | 'map';
  /** What threw, as `ErrorName: message`. */
  reason: string;
}

export interface RepublishOptions {
  /** Events read per query. */
  batchSize: number;
  /** After every page: events done (published, skipped or unpublishable) of `total`, how many of them were unpublishable, and the last event confirmed. */
  onProgress?: (progress: { done: number; total: number; unpublishable: number; lastConfirmed?: StoredEvent }) => void;
  /** A page failed and is tried again after `delayMs`. */
  onRetry?: (failure: Error, attempt: number, delayMs: number) => void;
  /** Each unpublishable event, as soon as its page is read (before anything of that page is sent). */
  onUnpublishable?: (event: UnpublishableEvent) => void;
}

export interface RepublishOutcome {
  /** Events the selection matched (0: nothing was published). */
  total: number;
  /** Published again, each one confirmed by the broker. */
  published: number;
  /** Events no integration-event contract maps: nothing to publish. */
  skipped: number;
  /** Events this code could not read or map, in selection order: not published. Empty when every event was handled. */
  unpublishable: UnpublishableEvent[];
}

/**
 * Republishing stopped for good (the broker unreachable or refusing, MAX_ATTEMPTS times without
 * progress, or the store failing): what was confirmed before stays published.
 */
export class RepublishFailedError extends Error {
  constructor(
    readonly published: number,
    /**
     * The last event confirmed in order, if any: every selected event up to it was published,
     * but those of `unpublishable` (and those no contract maps).
     */
    readonly lastConfirmed: StoredEvent | undefined,
    readonly failure: Error,
    /** The events met before the failure that could not be read or mapped: not published. */
    readonly unpublishable: readonly UnpublishableEvent[] = [],
  ) {
    super(failure.message, { cause: failure });
  }
}

/** Attempts of one page without any progress before giving up (unroutable, broker down...). */
const MAX_ATTEMPTS = 5;

/**
 * Publishes stored events again, in order, through the relay's publishing code (mandatory
 * messages, one broker confirm each, at most `maxInFlight` in flight), so that a consumer which
 * lost messages by any path gets them back; its inbox drops those it has. Events no contract maps
 * are skipped. A page that fails is retried from its first unconfirmed event with a doubling
 * delay (what was confirmed beyond it is not sent again); after MAX_ATTEMPTS without progress, or
 * on a failure of the store, it rejects with RepublishFailedError. Used by `npm run
 * republish-events` and by the admin API.
 *
 * An event this code cannot read or map (UnpublishableEvent) is left out, named in the outcome
 * and to `onUnpublishable`, and the run goes on with the events after it. It does not stop there,
 * because the consumer orders by itself, per stream only: its inbox applies an event of a stream
 * only when the stream's last applied `sequence` is the one just before it (decideBatch,
 * InboxTransactions, under the stream's lock). A later event of the same stream sent past the
 * left-out one therefore cannot be applied out of order: a consumer that lacks the left-out event
 * takes it as too early, holds it in the reorder queue (~20 s), then retries and parks it ("an
 * earlier event of this aggregate never arrived") until the gap is filled and it is redriven; a
 * consumer that has it applies it at once. The events of other streams do not depend on it at
 * all. Stopping at the first such event would withhold every event after it, of every stream,
 * and buy no ordering the consumer does not already keep.
 */
export async function republishStoredEvents(
  { dataSource, publish, mappers, upcasters, maxInFlight }: RepublishDependencies,
  selection: EventSelection,
  { batchSize, onProgress, onRetry, onUnpublishable }: RepublishOptions,
): Promise<RepublishOutcome> {
  const total = await countSelected(dataSource, selection);
  let published = 0;
  let skipped = 0;
  const unpublishable: UnpublishableEvent[] = [];
  let lastConfirmed: StoredEvent | undefined;
  if (total === 0) return { total, published, skipped, unpublishable };
  let after = '0';
  try {
    for (;;) {
      const events = await readPage(dataSource, selection, after, batchSize);
      if (events.length === 0) break;
      const page = toMessages(events, upcasters, mappers);
      skipped += page.unmapped;
      for (const event of page.unpublishable) {
        unpublishable.push(event);
        onUnpublishable?.(event);
      }
      const { messages } = page;
      for (let attempt = 1, start = 0; start < events.length; attempt++) {
        const { settledPrefix, confirmed, failure } = await publishInOrder(messages.slice(start), { publish, maxInFlight });
        confirmed.forEach((done, index) => {
          if (done) {
            published += 1;
            messages[start + index] = undefined;
          }
        });
        if (settledPrefix > 0) {
          attempt = 0;
          lastConfirmed = events[start + settledPrefix - 1];
        }
        start += settledPrefix;
        if (!failure) continue;
        if (attempt >= MAX_ATTEMPTS) throw new RepublishFailedError(published, lastConfirmed, failure, unpublishable);
        const delayMs = 100 * 2 ** attempt;
        onRetry?.(failure, attempt, delayMs);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
      after = selection.kind === 'stream' ? String(events[events.length - 1].streamVersion) : events[events.length - 1].position;
      onProgress?.({ done: published + skipped + unpublishable.length, total, unpublishable: unpublishable.length, lastConfirmed });
    }
  } catch (error) {
    // A failure of the store stops it like one of the broker.
    throw error instanceof RepublishFailedError
      ? error
      : new RepublishFailedError(published, lastConfirmed, error instanceof Error ? error : new Error(String(error)), unpublishable);
  }
  return { total, published, skipped, unpublishable };
}

/**
 * A page's messages, one per stored event, in order: undefined for an event no contract maps
 * (`unmapped` counts them) and for one that cannot be read or mapped (named in `unpublishable`).
 * Upcast event by event, so that one such event fails alone rather than its whole page.
 */
function toMessages(
  events: readonly StoredEvent[],
  upcasters: EventUpcasters,
  mappers: IntegrationEventMappers,
): { messages: Array<IntegrationEnvelope | undefined>; unmapped: number; unpublishable: UnpublishableEvent[] } {
  const messages: Array<IntegrationEnvelope | undefined> = [];
  const unpublishable: UnpublishableEvent[] = [];
  let unmapped = 0;
  for (const stored of events) {
    let failedAt: UnpublishableEvent['failedAt'] = 'read';
    try {
      const event = upcasters.upcast(stored);
      failedAt = 'map';
      const message = toIntegrationEnvelope(event, mappers);
      if (message === undefined) unmapped += 1;
      messages.push(message);
    } catch (error) {
      messages.push(undefined);
      const { eventId, position, eventType, schemaVersion, streamId, streamVersion } = stored;
      unpublishable.push({ eventId, position, eventType, schemaVersion, streamId, streamVersion, failedAt, reason: describeError(error) });
    }
  }
  return { messages, unmapped, unpublishable };
}

/** One line naming an unpublishable event, for logs and reports. */
export function describeUnpublishable({ eventType, eventId, position, streamId, streamVersion, schemaVersion, failedAt, reason }: UnpublishableEvent): string {
  const why = failedAt === 'read' ? 'cannot be read' : 'cannot be mapped to its contract';
  return `${eventType} ${eventId} (position ${position}, stream ${streamId} version ${streamVersion}, schema v${schemaVersion}) ${why}: ${reason}`;
}

export function describeSelection(selection: EventSelection): string {
  return selection.kind === 'stream' ? `stream ${selection.streamId}` : `positions ${selection.from} to ${selection.to}`;
}

/** `selection`'s events after `after` (a stream version, or a position), at most `limit`, in order. */
function readPage(db: DataSource, selection: EventSelection, after: string, limit: number): Promise<StoredEvent[]> {
  return selection.kind === 'stream'
    ? db.query(`SELECT ${STORED_EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version > $2::int ORDER BY stream_version LIMIT $3`, [
        selection.streamId,
        after,
        limit,
      ])
    : db.query(
        `SELECT ${STORED_EVENT_COLUMNS} FROM events WHERE position BETWEEN $1::bigint AND $2::bigint AND position > $3::bigint ORDER BY position LIMIT $4`,
        [selection.from, selection.to, after, limit],
      );
}

async function countSelected(db: DataSource, selection: EventSelection): Promise<number> {
  const [{ n }] =
    selection.kind === 'stream'
      ? await db.query(`SELECT count(*)::int AS n FROM events WHERE stream_id = $1`, [selection.streamId])
      : await db.query(`SELECT count(*)::int AS n FROM events WHERE position BETWEEN $1::bigint AND $2::bigint`, [selection.from, selection.to]);
  return n;
}
