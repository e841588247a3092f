import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CustomerStatsProjection } from '../read-models/customer-stats/customer-stats.projection';
import { NotificationsProjection } from '../read-models/notifications/notifications.projection';
import type { ReceivedEvent } from './received-event';

/** applied: its effects committed; duplicate: applied before, nothing done; too-early: an earlier event of its aggregate is still missing. */
export type InboxOutcome = 'applied' | 'duplicate' | 'too-early';

/**
 * Applies an event exactly once and in its aggregate's order. In one transaction: lock the
 * aggregate's position row (so two consumer processes serialize per aggregate), refuse what was
 * applied already or what comes too early, record the event id in the inbox, apply the read
 * models, advance the position. The caller acks only after this committed.
 */
@Injectable()
export class Inbox {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly notifications: NotificationsProjection,
    private readonly customerStats: CustomerStatsProjection,
  ) {}

  receive(event: ReceivedEvent): Promise<InboxOutcome> {
    return this.dataSource.transaction(async (db) => {
      const [{ last_sequence: applied }] = await db.query(
        `INSERT INTO stream_positions (stream_id, last_sequence) VALUES ($1, 0)
         ON CONFLICT (stream_id) DO UPDATE SET stream_id = EXCLUDED.stream_id
         RETURNING last_sequence`,
        [event.streamId],
      );
      if (event.sequence <= applied) return 'duplicate';
      if (event.sequence > applied + 1) return 'too-early';

      const recorded: unknown[] = await db.query(
        `INSERT INTO inbox (event_id, type, stream_id, sequence) VALUES ($1, $2, $3, $4)
         ON CONFLICT (event_id) DO NOTHING RETURNING 1`,
        [event.eventId, event.type, event.streamId, event.sequence],
      );
      if (recorded.length === 0) return 'duplicate';

      await this.notifications.apply(event, db);
      await this.customerStats.apply(event, db);
      await db.query(`UPDATE stream_positions SET last_sequence = $2 WHERE stream_id = $1`, [event.streamId, event.sequence]);
      return 'applied';
    });
  }
}
