import type { EntityManager } from 'typeorm';
import type { ProjectionDefinition } from '../../../event-store';
import type { UserStatus } from '../domain/user';
import {
  CreditConsumedEvent,
  CreditRejectedEvent,
  CreditReleasedEvent,
  CreditReservedEvent,
  UserDeactivatedEvent,
  UserEmailChangedEvent,
  UserRegisteredEvent,
  type UserStoredEvent,
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

type UserRegistered = Extract<UserStoredEvent, { eventType: typeof UserRegisteredEvent.type }>;

/**
 * Keeps `user_profiles` up to date with two statements per batch: registrations in one INSERT,
 * each user's folded later changes in one UPDATE. A row remembers the stream version it reflects
 * and only moves forward, so applying events twice changes nothing. Needs nothing injected, so a
 * rebuild runs it outside the app, into a fresh table.
 */
export const userProfilesProjection: ProjectionDefinition<UserStoredEvent> = {
  name: 'user-profiles',
  subscriptionId: 'projection:user-profiles',
  table: 'user_profiles',
  canHandle: [
    UserRegisteredEvent.type,
    UserEmailChangedEvent.type,
    UserDeactivatedEvent.type,
    CreditReservedEvent.type,
    CreditReleasedEvent.type,
    CreditConsumedEvent.type,
    CreditRejectedEvent.type,
  ],
  apply: applyToUserProfiles,
};

async function applyToUserProfiles(events: UserStoredEvent[], db: EntityManager, table: string): Promise<void> {
  const registered: Array<{ event: UserRegistered['payload']; version: number }> = [];
  const changes = new Map<string, ProfileChange>();
  const change = (userId: string, version: number, at: string, fields: Partial<ProfileChange>) => {
    const earlier = changes.get(userId) ?? { userId, email: null, status: null, creditReserved: null, version: 0, at };
    changes.set(userId, { ...earlier, ...fields, version, at });
  };

  for (const { eventType, payload: e, streamVersion: version } of events) {
    switch (eventType) {
      case UserRegisteredEvent.type:
        registered.push({ event: e, version });
        break;
      case UserEmailChangedEvent.type:
        change(e.userId, version, e.changedAt, { email: e.email });
        break;
      case UserDeactivatedEvent.type:
        change(e.userId, version, e.deactivatedAt, { status: 'DEACTIVATED' });
        break;
      case CreditReservedEvent.type:
        change(e.userId, version, e.reservedAt, { creditReserved: e.creditReserved });
        break;
      case CreditReleasedEvent.type:
        change(e.userId, version, e.releasedAt, { creditReserved: e.creditReserved });
        break;
      case CreditConsumedEvent.type:
        change(e.userId, version, e.consumedAt, { creditReserved: e.creditReserved });
        break;
      case CreditRejectedEvent.type:
        change(e.userId, version, e.rejectedAt, {});
        break;
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
