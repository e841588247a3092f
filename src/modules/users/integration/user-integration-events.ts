import {
  CreditConsumedV1,
  CreditRejectedV1,
  CreditReleasedV1,
  CreditReservedV1,
  UserDeactivatedV1,
  UserEmailChangedV1,
  UserRegisteredV1,
} from '../../../contracts';
import type { MappedIntegrationEvent } from '../../../event-store';
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

/** The one place where the Users module's domain events become its published contracts (every one has one). */
export function toUserIntegrationEvent(event: UserStoredEvent): MappedIntegrationEvent {
  switch (event.eventType) {
    case UserRegisteredEvent.type: {
      const e = event.payload;
      const data: UserRegisteredV1 = { userId: e.userId, email: e.email, name: e.name, registeredAt: e.registeredAt };
      return { type: UserRegisteredV1.type, data };
    }
    case UserEmailChangedEvent.type: {
      const e = event.payload;
      const data: UserEmailChangedV1 = { userId: e.userId, email: e.email, changedAt: e.changedAt };
      return { type: UserEmailChangedV1.type, data };
    }
    case UserDeactivatedEvent.type: {
      const e = event.payload;
      const data: UserDeactivatedV1 = { userId: e.userId, deactivatedAt: e.deactivatedAt };
      return { type: UserDeactivatedV1.type, data };
    }
    // Every event of a stream is published, because consumers apply a stream's events in
    // contiguous sequence; credit events are also what a billing service would want.
    case CreditReservedEvent.type: {
      const { userId, orderId, amount, creditReserved, reservedAt } = event.payload;
      const data: CreditReservedV1 = { userId, orderId, amount, creditReserved, reservedAt };
      return { type: CreditReservedV1.type, data };
    }
    case CreditRejectedEvent.type: {
      const { userId, orderId, amount, reason, rejectedAt } = event.payload;
      const data: CreditRejectedV1 = { userId, orderId, amount, reason, rejectedAt };
      return { type: CreditRejectedV1.type, data };
    }
    case CreditReleasedEvent.type: {
      const { userId, orderId, amount, creditReserved, releasedAt } = event.payload;
      const data: CreditReleasedV1 = { userId, orderId, amount, creditReserved, releasedAt };
      return { type: CreditReleasedV1.type, data };
    }
    case CreditConsumedEvent.type: {
      const { userId, orderId, amount, creditReserved, consumedAt } = event.payload;
      const data: CreditConsumedV1 = { userId, orderId, amount, creditReserved, consumedAt };
      return { type: CreditConsumedV1.type, data };
    }
  }
}
