import { Injectable, OnModuleInit } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { StoredEvent } from '../../../event-store/stored-event';
import { EventSubscriptions } from '../../../event-store/subscription/event-subscriptions';
import type { UserStatus } from '../domain/user';
import {
  CreditConsumedEvent,
  CreditRejectedEvent,
  CreditReleasedEvent,
  CreditReservedEvent,
  UserDeactivatedEvent,
  UserEmailChangedEvent,
  UserRegisteredEvent,
} from '../domain/user.events';

/** A user's latest changes within one batch: each field keeps its newest value. */
interface ProfileChange {
  userId: string;
  email: string | null;
  status: UserStatus | null;
  creditReserved: number | null;
  version: number;
  at: string;
}

/**
 * Keeps `user_profiles` up to date with two statements per batch: registrations in one INSERT,
 * each user's folded later changes in one UPDATE. A row remembers the stream version it reflects
 * and only moves forward, so applying events twice changes nothing.
 */
@Injectable()
export class UserProfileProjector implements OnModuleInit {
  static readonly subscriptionName = 'projection:user-profiles';
  static readonly table = 'user_profiles';

  constructor(private readonly subscriptions: EventSubscriptions) {}

  onModuleInit(): void {
    this.subscriptions.register(UserProfileProjector.subscriptionName, (events, transaction) =>
      UserProfileProjector.project(events, transaction),
    );
  }

  /** Needs nothing injected, so a rebuild runs it outside the app, into a fresh `table`. */
  static async project(events: StoredEvent[], db: EntityManager, table = UserProfileProjector.table): Promise<void> {
    const registered: Array<{ event: UserRegisteredEvent; version: number }> = [];
    const changes = new Map<string, ProfileChange>();
    const change = (userId: string, version: number, at: string, fields: Partial<ProfileChange>) => {
      const earlier = changes.get(userId) ?? { userId, email: null, status: null, creditReserved: null, version: 0, at };
      changes.set(userId, { ...earlier, ...fields, version, at });
    };

    for (const { eventType, payload, streamVersion: version } of events) {
      switch (eventType) {
        case UserRegisteredEvent.type:
          registered.push({ event: payload as unknown as UserRegisteredEvent, version });
          break;
        case UserEmailChangedEvent.type: {
          const e = payload as unknown as UserEmailChangedEvent;
          change(e.userId, version, e.changedAt, { email: e.email });
          break;
        }
        case UserDeactivatedEvent.type: {
          const e = payload as unknown as UserDeactivatedEvent;
          change(e.userId, version, e.deactivatedAt, { status: 'DEACTIVATED' });
          break;
        }
        case CreditReservedEvent.type: {
          const e = payload as unknown as CreditReservedEvent;
          change(e.userId, version, e.reservedAt, { creditReserved: e.creditReserved });
          break;
        }
        case CreditReleasedEvent.type: {
          const e = payload as unknown as CreditReleasedEvent;
          change(e.userId, version, e.releasedAt, { creditReserved: e.creditReserved });
          break;
        }
        case CreditConsumedEvent.type: {
          const e = payload as unknown as CreditConsumedEvent;
          change(e.userId, version, e.consumedAt, { creditReserved: e.creditReserved });
          break;
        }
        case CreditRejectedEvent.type: {
          const e = payload as unknown as CreditRejectedEvent;
          change(e.userId, version, e.rejectedAt, {});
          break;
        }
      }
    }

    if (registered.length > 0) {
      await db.query(
        `INSERT INTO ${table} (id, email, name, status, credit_limit, credit_reserved, version, registered_at, updated_at)
         SELECT r.id, r.email, r.name, 'ACTIVE', r.credit_limit, 0, r.version, r.registered_at, r.registered_at
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::int[], $6::timestamptz[])
           AS r(id, email, name, credit_limit, version, registered_at)
         ON CONFLICT (id) DO NOTHING`,
        [
          registered.map((r) => r.event.userId),
          registered.map((r) => r.event.email),
          registered.map((r) => r.event.name),
          registered.map((r) => r.event.creditLimit),
          registered.map((r) => r.version),
          registered.map((r) => r.event.registeredAt),
        ],
      );
    }

    const folded = [...changes.values()];
    if (folded.length > 0) {
      await db.query(
        `UPDATE ${table} AS u
         SET email = COALESCE(c.email, u.email), status = COALESCE(c.status, u.status),
             credit_reserved = COALESCE(c.credit_reserved, u.credit_reserved),
             version = c.version, updated_at = c.at
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::timestamptz[], $6::bigint[])
           AS c(id, email, status, version, at, credit_reserved)
         WHERE u.id = c.id AND u.version < c.version`,
        [
          folded.map((c) => c.userId),
          folded.map((c) => c.email),
          folded.map((c) => c.status),
          folded.map((c) => c.version),
          folded.map((c) => c.at),
          folded.map((c) => c.creditReserved),
        ],
      );
    }
  }
}
