import { Injectable } from '@nestjs/common';
import type { StoredEvent } from '../event-store/stored-event';

/** A domain event turned into an integration event: its contract's type and its data. */
export interface MappedIntegrationEvent {
  type: string;
  data: object;
}

export type IntegrationEventMapper = (event: StoredEvent) => MappedIntegrationEvent | undefined;

/**
 * Each module registers how its stored events become its published contracts; the relay asks
 * here. A module thereby owns its public events without the relay knowing any module.
 */
@Injectable()
export class IntegrationEventMappers {
  private readonly byStreamType = new Map<string, IntegrationEventMapper>();

  register(streamType: string, mapper: IntegrationEventMapper): void {
    this.byStreamType.set(streamType, mapper);
  }

  map(event: StoredEvent): MappedIntegrationEvent | undefined {
    return this.byStreamType.get(event.streamType)?.(event);
  }
}
