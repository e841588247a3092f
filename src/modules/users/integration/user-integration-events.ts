import { Injectable, OnModuleInit } from '@nestjs/common';
import { UserDeactivatedV1, UserEmailChangedV1, UserRegisteredV1 } from '../../../contracts';
import type { StoredEvent } from '../../../event-store/stored-event';
import { IntegrationEventMappers, MappedIntegrationEvent } from '../../../messaging/integration-event-mappers';
import { USER_STREAM_TYPE, UserDeactivatedEvent, UserEmailChangedEvent, UserRegisteredEvent } from '../domain/user.events';

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
    default:
      return undefined;
  }
}

@Injectable()
export class UserIntegrationEvents implements OnModuleInit {
  constructor(private readonly mappers: IntegrationEventMappers) {}

  onModuleInit(): void {
    this.mappers.register(USER_STREAM_TYPE, toUserIntegrationEvent);
  }
}
