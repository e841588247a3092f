import { Injectable, OnModuleInit } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { StoredEvent } from '../../../event-store/stored-event';
import { EventSubscriptions } from '../../../event-store/subscription/event-subscriptions';
import { UserDeactivatedEvent, UserEmailChangedEvent, UserRegisteredEvent } from '../domain/user.events';

/**
 * Keeps `user_profiles` up to date. Each row remembers the stream version it reflects, and an
 * event at or below it is ignored, so applying an event twice changes nothing.
 */
@Injectable()
export class UserProfileProjector implements OnModuleInit {
  static readonly subscriptionName = 'projection:user-profiles';

  constructor(private readonly subscriptions: EventSubscriptions) {}

  onModuleInit(): void {
    this.subscriptions.register(UserProfileProjector.subscriptionName, (events, transaction) =>
      this.project(events, transaction),
    );
  }

  async project(events: StoredEvent[], transaction: EntityManager): Promise<void> {
    for (const event of events) await this.apply(event, transaction);
  }

  private async apply({ eventType, payload, streamVersion }: StoredEvent, db: EntityManager): Promise<void> {
    switch (eventType) {
      case UserRegisteredEvent.type: {
        const e = payload as unknown as UserRegisteredEvent;
        await db.query(
          `INSERT INTO user_profiles (id, email, name, status, credit_limit, credit_reserved, version, registered_at, updated_at)
           VALUES ($1, $2, $3, 'ACTIVE', $4, 0, $5, $6, $6) ON CONFLICT (id) DO NOTHING`,
          [e.userId, e.email, e.name, e.creditLimit, streamVersion, e.registeredAt],
        );
        return;
      }
      case UserEmailChangedEvent.type: {
        const e = payload as unknown as UserEmailChangedEvent;
        await db.query(
          `UPDATE user_profiles SET email = $2, version = $3, updated_at = $4 WHERE id = $1 AND version < $3`,
          [e.userId, e.email, streamVersion, e.changedAt],
        );
        return;
      }
      case UserDeactivatedEvent.type: {
        const e = payload as unknown as UserDeactivatedEvent;
        await db.query(
          `UPDATE user_profiles SET status = 'DEACTIVATED', version = $2, updated_at = $3 WHERE id = $1 AND version < $2`,
          [e.userId, streamVersion, e.deactivatedAt],
        );
        return;
      }
    }
  }
}
