import type { DataSource } from 'typeorm';
import type { IntegrationEnvelope } from '../../contracts';
import { type EventUpcasters, STORED_EVENT_COLUMNS, type StoredEvent } from '../../event-store';
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

export interface RepublishOptions {
  /** Events read per query. */
  batchSize: number;
  /** After every page: events done (published or skipped) of `total`, and the last event confirmed. */
  onProgress?: (progress: { done: number; total: number; lastConfirmed?: StoredEvent }) => void;
  /** A page failed and is tried again after `delayMs`. */
  onRetry?: (failure: Error, attempt: number, delayMs: number) => void;
}

export interface RepublishOutcome {
  /** Events the selection matched (0: nothing was published). */
  total: number;
  /** Published again, each one confirmed by the broker. */
  published: number;
  /** Events no integration-event contract maps: nothing to publish. */
  skipped: number;
}

/**
 * Republishing stopped for good (the broker unreachable or refusing, MAX_ATTEMPTS times without
 * progress): what was confirmed before stays published.
 */
export class RepublishFailedError extends Error {
  constructor(
    readonly published: number,
    /** The last event confirmed in order, if any: every selected event up to it was published. */
    readonly lastConfirmed: StoredEvent | undefined,
    readonly failure: Error,
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
 * on any other failure once it began, it rejects with RepublishFailedError. Used by `npm run republish-events` and by the admin API.
 */
export async function republishStoredEvents(
  { dataSource, publish, mappers, upcasters, maxInFlight }: RepublishDependencies,
  selection: EventSelection,
  { batchSize, onProgress, onRetry }: RepublishOptions,
): Promise<RepublishOutcome> {
  const total = await countSelected(dataSource, selection);
  let published = 0;
  let skipped = 0;
  let lastConfirmed: StoredEvent | undefined;
  if (total === 0) return { total, published, skipped };
  let after = '0';
  try {
    for (;;) {
      const events = upcasters.upcastAll(await readPage(dataSource, selection, after, batchSize));
      if (events.length === 0) break;
      const messages = events.map((event) => toIntegrationEnvelope(event, mappers));
      skipped += messages.filter((message) => message === undefined).length;
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
        if (attempt >= MAX_ATTEMPTS) throw new RepublishFailedError(published, lastConfirmed, failure);
        const delayMs = 100 * 2 ** attempt;
        onRetry?.(failure, attempt, delayMs);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
      after = selection.kind === 'stream' ? String(events[events.length - 1].streamVersion) : events[events.length - 1].position;
      onProgress?.({ done: published + skipped, total, lastConfirmed });
    }
  } catch (error) {
    // A failure of the store (or a message that cannot be built) stops it like one of the broker.
    throw error instanceof RepublishFailedError ? error : new RepublishFailedError(published, lastConfirmed, error instanceof Error ? error : new Error(String(error)));
  }
  return { total, published, skipped };
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
