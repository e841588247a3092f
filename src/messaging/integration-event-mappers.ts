import { Injectable } from '@nestjs/common';
import { EventStoreManifests, type MappedIntegrationEvent, type StoredEvent } from '../event-store';

/**
 * How stored events become published contracts: each module's manifest says it for its own
 * streams (EventStoreManifest.publication); the relay, republishing and the flows page ask here.
 * A module thereby owns its public events without the relay knowing any module.
 */
@Injectable()
export class IntegrationEventMappers {
  constructor(private readonly manifests: EventStoreManifests) {}

  /** The event's contract type, data and source; undefined when its module publishes no contract for it. */
  map(event: StoredEvent): (MappedIntegrationEvent & { source: string }) | undefined {
    return this.manifests.toIntegrationEvent(event);
  }
}
