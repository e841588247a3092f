import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { EventUpcasters, STORED_EVENT_COLUMNS, type StoredEvent } from '../event-store';
import { IntegrationEventMappers } from '../messaging/integration-event-mappers';
import { RELAY_CHECKPOINT } from '../messaging/relay/outbox-relay';
import { publishTimesAt } from '../messaging/relay/relay-batches';
import type { FlowInputs, ReceiptRecord } from './flow-graph';

/** A flow holds at most this many events; the rest are left out (Flow.truncated). */
export const MAX_FLOW_EVENTS = 1000;

/**
 * The first `$2` events of the correlation id `$1`, in append order: one range of
 * events_correlation_id_idx (correlation id, position). The id reaches the planner as a lateral
 * reference, not a constant: knowing an id that thousands of events share (a batch job's), it
 * would expect to meet them early and walk the whole table in position order instead, reading
 * every event before the job's. Unknown, an id is taken for a rare one: the index.
 */
export const EVENTS_OF_CORRELATION = `SELECT flow_events.* FROM (SELECT $1::text AS correlation_id OFFSET 0) AS flow
  CROSS JOIN LATERAL (
    SELECT ${STORED_EVENT_COLUMNS} FROM events WHERE metadata ->> 'correlationId' = flow.correlation_id ORDER BY position LIMIT $2
  ) AS flow_events`;

/**
 * What the API's database recorded about one correlation id: its events (found by
 * `events_correlation_id_idx`), the reactions' receipts of them, when the relay published each
 * (`relay_batches`) and where the relay stands. Four index-driven statements, three of them at once.
 */
@Injectable()
export class FlowRecords {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly upcasters: EventUpcasters,
    private readonly mappers: IntegrationEventMappers,
  ) {}

  /** Undefined when no event carries the correlation id. */
  async read(correlationId: string): Promise<(Omit<FlowInputs, 'consumer'> & { truncated: boolean }) | undefined> {
    const events: StoredEvent[] = await this.dataSource.query(EVENTS_OF_CORRELATION, [correlationId, MAX_FLOW_EVENTS + 1]);
    if (events.length === 0) return undefined;
    const truncated = events.length > MAX_FLOW_EVENTS;
    if (truncated) events.length = MAX_FLOW_EVENTS;

    const eventIds = events.map(({ eventId }) => eventId);
    const positions = events.flatMap(({ globalPosition }) => (globalPosition === null ? [] : [globalPosition]));
    const [receipts, [relay], publishTimes] = await Promise.all([
      // The receipts' key starts with the reaction: one probe per reaction and event.
      this.dataSource.query<ReceiptRecord[]>(
        `SELECT r.subscription_id AS reaction, r.event_id AS "eventId", r.step, r.recorded_at AS "recordedAt"
         FROM reaction_receipts r
         WHERE r.subscription_id IN (SELECT DISTINCT subscription_id FROM subscription_checkpoints WHERE subscription_id LIKE 'reaction:%')
           AND r.event_id = ANY($1::uuid[])`,
        [eventIds],
      ),
      this.dataSource.query<Array<{ position: string }>>(
        `SELECT global_position::text AS position FROM subscription_checkpoints WHERE subscription_id = $1 ORDER BY segment LIMIT 1`,
        [RELAY_CHECKPOINT],
      ),
      publishTimesAt(this.dataSource, positions),
    ]);

    return {
      correlationId,
      events,
      receipts,
      routingKeys: this.routingKeysOf(events),
      relayCheckpoint: BigInt(relay?.position ?? '0'),
      publishTimes,
      truncated,
    };
  }

  /** The routing key each event is published under, as the relay maps it; an event it cannot map is left out, as the relay leaves it unpublished. */
  private routingKeysOf(events: readonly StoredEvent[]): Map<string, string> {
    const keys = new Map<string, string>();
    for (const event of events) {
      try {
        const mapped = this.mappers.map(this.upcasters.upcast(event));
        if (mapped) keys.set(event.eventId, mapped.type);
      } catch {
        // The relay stops at such an event (a recorded failure); the flow shows it unpublished.
      }
    }
    return keys;
  }
}
