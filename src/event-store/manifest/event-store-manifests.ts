import type { DomainEventClass } from '../domain-event';
import { DomainEventClasses } from '../reactions/domain-event-classes';
import type { StoredEvent } from '../stored-event';
import { EventUpcasters } from '../upcasting/event-upcasters';
import type { IntegrationEventContract } from '../../contracts';
import type { EventStoreManifest, MappedIntegrationEvent, PublishedAs } from './event-store-manifest';
import type { ProjectionDefinition } from './projection-definition';

/**
 * Every module's EventStoreManifest, checked once: no stream type, event type, projection name,
 * subscription id or table claimed twice. The app's registries and every CLI are built from one
 * instance of this (src/modules/manifests.ts), so none can know fewer events than another.
 * Also the DI token under which the app holds that instance (EventStoreManifestsModule).
 */
export class EventStoreManifests {
  private readonly byStreamType = new Map<string, EventStoreManifest>();
  private readonly eventTypesByStreamType = new Map<string, ReadonlySet<string>>();

  constructor(readonly all: readonly EventStoreManifest[]) {
    const claimed = new Map<string, string>();
    const claim = (what: string, streamType: string) => {
      const earlier = claimed.get(what);
      if (earlier !== undefined) throw new Error(`the manifests of ${earlier} and ${streamType} both declare ${what}`);
      claimed.set(what, streamType);
    };
    for (const manifest of all) {
      claim(`stream type ${manifest.streamType}`, manifest.streamType);
      for (const { type } of manifest.eventClasses) claim(`event type ${type}`, manifest.streamType);
      for (const { name, subscriptionId, table } of manifest.projections) {
        claim(`projection ${name}`, manifest.streamType);
        claim(`subscription ${subscriptionId}`, manifest.streamType);
        claim(`table ${table}`, manifest.streamType);
      }
      this.byStreamType.set(manifest.streamType, manifest);
      this.eventTypesByStreamType.set(manifest.streamType, new Set(manifest.eventClasses.map(({ type }) => type)));
    }
  }

  /** Every projection of every module, in manifest order (the order they start in). */
  get projections(): readonly ProjectionDefinition[] {
    return this.all.flatMap((manifest) => manifest.projections);
  }

  projection(name: string): ProjectionDefinition | undefined {
    return this.projections.find((projection) => projection.name === name);
  }

  get eventClasses(): readonly DomainEventClass[] {
    return this.all.flatMap((manifest) => manifest.eventClasses);
  }

  /** A registry of every module's event classes. */
  domainEventClasses(): DomainEventClasses {
    const classes = new DomainEventClasses();
    classes.register(...this.eventClasses);
    return classes;
  }

  /**
   * A registry of every module's upcasters and of the version each of their event classes is
   * written at: what the subscriptions, the relay and every replay read through. A stored event
   * no upcaster brings to its class's version is refused there (UnreadableEventVersionError).
   */
  eventUpcasters(): EventUpcasters {
    const upcasters = new EventUpcasters();
    for (const manifest of this.all) upcasters.register(...manifest.upcasters);
    upcasters.registerCurrentVersions(...this.eventClasses);
    return upcasters;
  }

  /**
   * The published contract of an (upcast) stored event and the source of its stream; undefined
   * when its module publishes none for it. The one place an untyped stored event reaches a
   * module's typed mapper: only after its stream type and event type are found in that module's manifest.
   */
  toIntegrationEvent(event: StoredEvent): (MappedIntegrationEvent & { source: string }) | undefined {
    const found = this.publicationOf(event);
    if (!found) return undefined;
    return { type: found.published.contract.type, data: found.published.toData(event.payload as never), source: found.source };
  }

  /**
   * The stored event as an instance of its published contract (`instanceof OrderPlacedV1` holds,
   * so `ofType` routes it), for a reaction of another module; undefined when it is not published
   * as that contract. Built from the same table as what the relay sends, so a module's reactions
   * read exactly what an outside consumer does.
   */
  toContract(event: StoredEvent, contract: IntegrationEventContract): object | undefined {
    const found = this.publicationOf(event);
    if (found?.published.contract !== contract) return undefined;
    return Object.assign(Object.create(contract.prototype as object) as object, found.published.toData(event.payload as never));
  }

  /** The stored event types published as `contract` (empty when none is). */
  storedTypesPublishedAs(contract: IntegrationEventContract): string[] {
    return this.all.flatMap((manifest) =>
      Object.entries<PublishedAs | undefined>(manifest.publication?.events ?? {})
        .filter(([, published]) => published?.contract === contract)
        .map(([storedType]) => storedType),
    );
  }

  private publicationOf(event: StoredEvent): { published: PublishedAs; source: string } | undefined {
    const publication = this.byStreamType.get(event.streamType)?.publication;
    if (!publication || !this.eventTypesByStreamType.get(event.streamType)?.has(event.eventType)) return undefined;
    const published = (publication.events as Record<string, PublishedAs | undefined>)[event.eventType];
    return published && { published, source: publication.source };
  }
}
