import { DynamicModule, Global, Module } from '@nestjs/common';
import type { EventStoreManifest } from './event-store-manifest';
import { EventStoreManifests } from './event-store-manifests';

/**
 * Hands the modules' manifests to the event store and messaging (as EventStoreManifests): the
 * app imports it once with the list every CLI reads too (src/modules/manifests.ts).
 */
@Global()
@Module({})
export class EventStoreManifestsModule {
  static forRoot(manifests: readonly EventStoreManifest[]): DynamicModule {
    const provider = { provide: EventStoreManifests, useValue: new EventStoreManifests(manifests) };
    return { module: EventStoreManifestsModule, providers: [provider], exports: [provider] };
  }
}
