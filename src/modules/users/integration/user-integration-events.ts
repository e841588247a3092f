import {
  CreditConsumedV1,
  CreditRejectedV1,
  CreditReleasedV1,
  CreditReservedV1,
  UserDeactivatedV1,
  UserEmailChangedV1,
  UserRegisteredV1,
} from '../../../contracts';
import { type PublicationTable, publishedAs } from '../../../event-store';
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

/**
 * The Users module's published language: the one place where its domain events become its
 * contracts (every one has one), read by the relay for the broker and by other modules'
 * reactions in process. Every event of a stream is published, because consumers apply a
 * stream's events in contiguous sequence; credit events are also what a billing service would want.
 */
export const USER_PUBLICATION: PublicationTable<UserStoredEvent> = {
  [UserRegisteredEvent.type]: publishedAs(UserRegisteredV1, (e) => ({ userId: e.userId, email: e.email, name: e.name, registeredAt: e.registeredAt })),
  [UserEmailChangedEvent.type]: publishedAs(UserEmailChangedV1, (e) => ({ userId: e.userId, email: e.email, changedAt: e.changedAt })),
  [UserDeactivatedEvent.type]: publishedAs(UserDeactivatedV1, (e) => ({ userId: e.userId, deactivatedAt: e.deactivatedAt })),
  [CreditReservedEvent.type]: publishedAs(CreditReservedV1, ({ userId, orderId, amount, creditReserved, reservedAt }) => ({
    userId,
    orderId,
    amount,
    creditReserved,
    reservedAt,
  })),
  [CreditRejectedEvent.type]: publishedAs(CreditRejectedV1, ({ userId, orderId, amount, reason, rejectedAt }) => ({ userId, orderId, amount, reason, rejectedAt })),
  [CreditReleasedEvent.type]: publishedAs(CreditReleasedV1, ({ userId, orderId, amount, creditReserved, releasedAt }) => ({
    userId,
    orderId,
    amount,
    creditReserved,
    releasedAt,
  })),
  [CreditConsumedEvent.type]: publishedAs(CreditConsumedV1, ({ userId, orderId, amount, creditReserved, consumedAt }) => ({
    userId,
    orderId,
    amount,
    creditReserved,
    consumedAt,
  })),
};
