import { Injectable, OnModuleInit } from '@nestjs/common';
import {
  CreditConsumedV1,
  CreditRejectedV1,
  CreditReleasedV1,
  CreditReservedV1,
  UserDeactivatedV1,
  UserEmailChangedV1,
  USER_EVENTS_SOURCE,
  UserRegisteredV1,
} from '../../../contracts';
import type { StoredEvent } from '../../../event-store/stored-event';
import { IntegrationEventMappers, MappedIntegrationEvent, type StreamPublication } from '../../../messaging/integration-event-mappers';
import {
  CreditConsumedEvent,
  CreditRejectedEvent,
  CreditReleasedEvent,
  CreditReservedEvent,
  USER_STREAM_TYPE,
  UserDeactivatedEvent,
  UserEmailChangedEvent,
  UserRegisteredEvent,
} from '../domain/user.events';

/** The one place where the Users module's domain events become its published contracts. */
export function toUserIntegrationEvent({ eventType, payload }: StoredEvent): MappedIntegrationEvent | undefined {
  switch (eventType) {
    case UserRegisteredEvent.type: {
      const e = payload as unknown as UserRegisteredEvent;
      const data: UserRegisteredV1 = { userId: e.userId, email: e.email, name: e.name, registeredAt: e.registeredAt };
      return { type: UserRegisteredV1.type, data };
    }
    case UserEmailChangedEvent.type: {
      const e = payload as unknown as UserEmailChangedEvent;
      const data: UserEmailChangedV1 = { userId: e.userId, email: e.email, changedAt: e.changedAt };
      return { type: UserEmailChangedV1.type, data };
    }
    case UserDeactivatedEvent.type: {
      const e = payload as unknown as UserDeactivatedEvent;
      const data: UserDeactivatedV1 = { userId: e.userId, deactivatedAt: e.deactivatedAt };
      return { type: UserDeactivatedV1.type, data };
    }
    // Every event of a stream is published, because consumers apply a stream's events in
    // contiguous sequence; credit events are also what a billing service would want.
    case CreditReservedEvent.type: {
      const { userId, orderId, amount, creditReserved, reservedAt } = payload as unknown as CreditReservedEvent;
      const data: CreditReservedV1 = { userId, orderId, amount, creditReserved, reservedAt };
      return { type: CreditReservedV1.type, data };
    }
    case CreditRejectedEvent.type: {
      const { userId, orderId, amount, reason, rejectedAt } = payload as unknown as CreditRejectedEvent;
      const data: CreditRejectedV1 = { userId, orderId, amount, reason, rejectedAt };
      return { type: CreditRejectedV1.type, data };
    }
    case CreditReleasedEvent.type: {
      const { userId, orderId, amount, creditReserved, releasedAt } = payload as unknown as CreditReleasedEvent;
      const data: CreditReleasedV1 = { userId, orderId, amount, creditReserved, releasedAt };
      return { type: CreditReleasedV1.type, data };
    }
    case CreditConsumedEvent.type: {
      const { userId, orderId, amount, creditReserved, consumedAt } = payload as unknown as CreditConsumedEvent;
      const data: CreditConsumedV1 = { userId, orderId, amount, creditReserved, consumedAt };
      return { type: CreditConsumedV1.type, data };
    }
    default:
      return undefined;
  }
}

/** How the Users module publishes its streams: source USER_EVENTS_SOURCE, each event as toUserIntegrationEvent maps it. */
export const USER_STREAM_PUBLICATION: StreamPublication = { streamType: USER_STREAM_TYPE, source: USER_EVENTS_SOURCE, map: toUserIntegrationEvent };

@Injectable()
export class UserIntegrationEvents implements OnModuleInit {
  constructor(private readonly mappers: IntegrationEventMappers) {}

  onModuleInit(): void {
    this.mappers.register(USER_STREAM_PUBLICATION);
  }
}
