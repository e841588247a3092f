import { Injectable } from '@nestjs/common';
import type { StoredEvent } from '../event-store/stored-event';

/** A domain event turned into an integration event: its contract's type and its data. */
export interface MappedIntegrationEvent {
  type: string;
  data: object;
}

export type IntegrationEventMapper = (event: StoredEvent) => MappedIntegrationEvent | undefined;

/** How a module publishes the streams of one type. */
export interface StreamPublication {
  streamType: string;
  /** The CloudEvents `source` of every event of such a stream (`/eda/orders`): with `subject`, what `sequence` is scoped by. */
  source: string;
  map: IntegrationEventMapper;
}

/**
 * Each module registers how its stored events become its published contracts; the relay asks
 * here. A module thereby owns its public events without the relay knowing any module.
 */
@Injectable()
export class IntegrationEventMappers {
  private readonly byStreamType = new Map<string, StreamPublication>();

  register(publication: StreamPublication): void {
    this.byStreamType.set(publication.streamType, publication);
  }

  /** The event's contract type, data and source; undefined when its module publishes no contract for it. */
  map(event: StoredEvent): (MappedIntegrationEvent & { source: string }) | undefined {
    const publication = this.byStreamType.get(event.streamType);
    const mapped = publication?.map(event);
    return mapped && { ...mapped, source: publication!.source };
  }
}
