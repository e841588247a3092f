import { Injectable } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { EntityManager } from 'typeorm';
import type { ReceivedEvent } from '../inbox/received-event';

/**
 * A read model of the consumer app: the inbox applies every one to each batch of events it
 * decided to apply, in the batch's transaction (`db`), once per event. `apply` receives the
 * events in sequence order and must skip those of types it does not keep.
 */
export interface ReadModel {
  apply(events: readonly ReceivedEvent[], db: EntityManager): Promise<void>;
}

/** Marks a provider as a ReadModel the inbox applies: `@InboxReadModel() @Injectable() class …`. */
export const InboxReadModel = DiscoveryService.createDecorator<void>();

/**
 * Every provider marked `@InboxReadModel()`, in the order the module lists them (the order the
 * inbox applies them in). Found on the first `apply`, not in onModuleInit: an app started with
 * startAllMicroservices() alone (no init) runs no lifecycle hook, and deliveries come all the same.
 */
@Injectable()
export class ReadModels {
  private models?: readonly ReadModel[];

  constructor(private readonly discovery: DiscoveryService) {}

  /**
   * Applies every read model to `events` in `db`, one after another; the first that throws stops
   * the rest. Rejects when no provider is marked @InboxReadModel(): the inbox would otherwise
   * record the events as applied with nothing applied, and drop them as repeats ever after.
   */
  async apply(events: readonly ReceivedEvent[], db: EntityManager): Promise<void> {
    this.models ??= this.discovery.getProviders({ metadataKey: InboxReadModel.KEY }).map((wrapper) => wrapper.instance as ReadModel);
    if (this.models.length === 0) throw new Error('no read model is registered (@InboxReadModel()): the inbox applies nothing');
    for (const model of this.models) await model.apply(events, db);
  }
}
