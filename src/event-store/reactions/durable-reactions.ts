import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DiscoveryService } from '@nestjs/core';
import { CommandBus, EventBus, ICommand, IEventHandler, IEventPublisher } from '@nestjs/cqrs';
import { lastValueFrom, Observable, of } from 'rxjs';
import { filter, toArray } from 'rxjs/operators';
import { Environment } from '../../config/environment';
import { DatabaseNotifications } from '../../database/database-notifications';
import { TransactionContext } from '../../database/transaction-context';
import { AfterListening } from '../../shared/after-listening';
import { PollingWorker } from '../../shared/polling-worker';
import type { DomainEventClass } from '../domain-event';
import { EventSequencer } from '../sequencing/event-sequencer';
import { SUBSCRIPTION_RETRY_CHANNEL } from '../subscription/subscription-failures';
import { SubscriptionLeases } from '../segments/subscription-leases';
import { EventUpcasters } from '../upcasting/event-upcasters';
import { EventStoreManifests } from '../manifest/event-store-manifests';
import type { StoredEvent } from '../stored-event';
import { DomainEventClasses } from './domain-event-classes';
import { recordOrigin } from './event-origin';
import { DURABLE_REACTION_METADATA, DurableReactionOptions } from './durable-reaction.decorator';
import type { Reaction, ReactionStep } from './reaction';
import { createReactionCheckpoint } from './reaction-receipts';
import { ReactionSubscription } from './reaction-subscription';

// Where @nestjs/cqrs keeps what its decorators declare (not exported from the package).
const SAGA_METADATA = '__saga__';
const EVENTS_HANDLER_METADATA = '__eventsHandler__';
const EVENT_METADATA = '__event__';

/** Retry requests arrive by NOTIFY (a trigger on parked_reactions); this poll is only the safety net. */
const PARKED_RETRY_POLL_MS = 30_000;
const PARKED_RETRY_CHANNEL = 'parked_reactions_retry';

type SagaFunction = (events$: Observable<object>) => Observable<ICommand | undefined | null>;

/**
 * Delivers stored events to every `@DurableReaction` class of the application (its `@Saga()`
 * members, or its `@EventsHandler` handle method) through one ReactionSubscription per class,
 * under the id the class declares, instead of Nest's in-memory, fire-and-forget EventBus: an
 * event committed is reacted to even if the process dies a moment later, each step's effect
 * commits with its receipt, and one failing reaction neither stops the others nor dies like an
 * RxJS stream after its first error.
 *
 * A saga member receives one event at a time, as an instance of its class, and its commands run
 * one after another on the CommandBus inside the step's transaction. Sagas therefore keep no
 * state between events (state lives in aggregates).
 *
 * CqrsModule still subscribes the same sagas and handlers to its in-memory EventBus, so publishing
 * there would run them a second time, without any guarantee. Its publisher is therefore replaced
 * by one that refuses: events come into being by saving an aggregate (AggregateWriter).
 */
@Injectable()
export class DurableReactions implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(DurableReactions.name);
  private reactions: Reaction[] = [];
  private readonly subscriptions: ReactionSubscription[] = [];
  /**
   * Runs the retries operators request, woken by NOTIFY (a trigger on parked_reactions) or a
   * reconnect; a request that comes while it runs makes it run once more. Its poll is only the
   * safety net for a lost notification.
   */
  private readonly parkedRetries = new PollingWorker(() => this.retryRequestedParkedReactions().then(() => undefined), {
    intervalMs: PARKED_RETRY_POLL_MS,
    onFailure: (error) => this.logger.error(`retrying parked reactions failed: ${String(error)}`),
  });
  private stopped = false;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly eventClasses: DomainEventClasses,
    private readonly transactions: TransactionContext,
    private readonly commandBus: CommandBus,
    private readonly eventBus: EventBus,
    private readonly config: ConfigService<Environment, true>,
    private readonly upcasters: EventUpcasters,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly notifications: DatabaseNotifications,
    private readonly sequencer: EventSequencer,
    private readonly afterListening: AfterListening,
    private readonly leases: SubscriptionLeases,
    private readonly manifests: EventStoreManifests,
  ) {}

  onModuleInit(): void {
    this.eventBus.publisher = refusingPublisher;
    this.reactions = this.discoverReactions();
    const reactions = this.reactions;
    if (!this.config.get('REACTIONS_ENABLED', { infer: true })) {
      this.logger.warn('REACTIONS_ENABLED=false: this process runs no sagas or event handlers');
      return;
    }
    const options = {
      batchSize: this.config.get('REACTION_BATCH_SIZE', { infer: true }),
      concurrency: this.config.get('REACTION_CONCURRENCY', { infer: true }),
      chunkSize: this.config.get('REACTION_CHUNK_SIZE', { infer: true }),
      gatherMs: this.config.get('PROJECTION_GATHER_MS', { infer: true }),
      maxAttempts: this.config.get('REACTION_MAX_ATTEMPTS', { infer: true }),
      retryBaseMs: this.config.get('REACTION_RETRY_BASE_MS', { infer: true }),
    };
    for (const reaction of reactions) {
      this.subscriptions.push(
        new ReactionSubscription(
          reaction,
          this.dataSource,
          this.sequencer,
          this.transactions,
          this.upcasters,
          options,
          this.leases.lease(reaction.subscriptionId, this.config.get('SUBSCRIPTION_SEGMENTS', { infer: true })),
        ),
      );
    }
    if (this.subscriptions.length === 0) return;
    this.afterListening.register('reactions', async () => {
      for (const subscription of this.subscriptions) await subscription.start();
      this.listenForRetryRequests();
      // An operator resumed a paused reaction (or asked it to retry): it looks at once.
      this.notifications.on(SUBSCRIPTION_RETRY_CHANNEL, (subscriptionId) =>
        this.subscriptions.find((candidate) => candidate.subscriptionId === subscriptionId)?.wake(),
      );
      this.logger.log(`reactions started: ${this.subscriptions.map((subscription) => subscription.subscriptionId).join(', ')}`);
    });
    this.logger.log(
      `${reactions.length} durable reactions: ${reactions.map((r) => `${r.subscriptionId} (${r.className}: ${r.steps.map((s) => s.name).join(', ')})`).join('; ')}`,
    );
  }

  /**
   * Every reaction of the code exists from the first start of a process that has it, whether or
   * not this process runs reactions: its checkpoint is created at the head now, so what happens
   * from here on waits for it (a process with REACTIONS_ENABLED=true) instead of being skipped.
   */
  async onApplicationBootstrap(): Promise<void> {
    const segments = this.config.get('SUBSCRIPTION_SEGMENTS', { infer: true });
    for (const reaction of this.reactions) await createReactionCheckpoint(this.dataSource, reaction.subscriptionId, reaction.replaysHistory, segments);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.parkedRetries.stop();
    await Promise.all(this.subscriptions.map((subscription) => subscription.stop()));
  }

  /** The checkpoint ids of every reaction in the code, whether or not this process runs them. */
  get subscriptionIds(): string[] {
    return this.reactions.map((reaction) => reaction.subscriptionId);
  }

  /** The reaction subscribed as `subscriptionId` (`reaction:<id>`). */
  get(subscriptionId: string): ReactionSubscription {
    const subscription = this.subscriptions.find((candidate) => candidate.subscriptionId === subscriptionId);
    if (!subscription) throw new Error(`no reaction subscribed as ${subscriptionId}`);
    return subscription;
  }

  /**
   * Whether the reaction subscribed as `subscriptionId` has come to the stored event `eventId`
   * (ReactionSubscription.hasReached): false while it is paused or lags behind it. True when this
   * process does not run that reaction: it cannot tell, and holds nothing back.
   */
  hasReached(subscriptionId: string, eventId: string): Promise<boolean> {
    const subscription = this.subscriptions.find((candidate) => candidate.subscriptionId === subscriptionId);
    return subscription ? subscription.hasReached(eventId) : Promise.resolve(true);
  }

  /** Runs the retries operators requested (`npm run parked-reactions -- retry`); returns how many. */
  async retryRequestedParkedReactions(): Promise<number> {
    const requested: Array<{ reaction: string }> = await this.dataSource.query(
      `SELECT DISTINCT reaction FROM parked_reactions WHERE retry_requested_at IS NOT NULL`,
    );
    let tried = 0;
    for (const subscription of this.subscriptions.filter((candidate) => requested.some(({ reaction }) => reaction === candidate.subscriptionId))) {
      tried += await subscription.retryRequested();
    }
    return tried;
  }

  /** Every provider with `@Saga()` members or an `@EventsHandler`, as a Reaction; refuses one without `@DurableReaction`. */
  private discoverReactions(): Reaction[] {
    const reactions: Reaction[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      const instance: unknown = wrapper.instance;
      const type = wrapper.metatype;
      if (!instance || typeof instance !== 'object' || typeof type !== 'function') continue;
      const sagaMembers: string[] = Reflect.getMetadata(SAGA_METADATA, type) ?? [];
      const handledEvents: DomainEventClass[] | undefined = Reflect.getMetadata(EVENTS_HANDLER_METADATA, type);
      if (sagaMembers.length === 0 && !handledEvents) continue;

      const options: DurableReactionOptions | undefined = Reflect.getMetadata(DURABLE_REACTION_METADATA, type);
      if (!options) {
        throw new Error(
          `${type.name} has @Saga() members or an @EventsHandler but no @DurableReaction({ id }): give it a stable id ` +
            `(its checkpoint and receipts are stored under it), and for sagas the events it reads`,
        );
      }
      const events = options.events ?? (sagaMembers.length === 0 ? handledEvents : undefined);
      if (!events || events.length === 0) throw new Error(`@DurableReaction of ${type.name} must name the events its sagas read`);
      const { eventTypes, decode } = this.readerOf(type.name, events);

      const steps: ReactionStep[] = sagaMembers.map((member) =>
        this.sagaStep(member, (instance as Record<string, SagaFunction>)[member].bind(instance)),
      );
      if (handledEvents) steps.push(handlerStep(instance as IEventHandler, handledEvents));
      const subscriptionId = `reaction:${options.id}`;
      if (reactions.some((known) => known.subscriptionId === subscriptionId)) throw new Error(`two reactions claim the id ${options.id}`);
      reactions.push({
        subscriptionId,
        className: type.name,
        eventTypes,
        decode,
        replaysHistory: options.replaysHistory ?? false,
        steps,
        partitionBy: options.partitionBy,
      });
    }
    return reactions;
  }

  /**
   * The stored types a reaction reads and how each becomes the message its steps get. A class it
   * names is either one of a module's domain event classes (read as it is stored: for a reaction
   * of the module that owns it) or a published contract (src/contracts: what another module's
   * events become, read in process exactly as an outside consumer reads it from the broker).
   */
  private readerOf(className: string, classes: readonly DomainEventClass[]): Pick<Reaction, 'eventTypes' | 'decode'> {
    const decoders = new Map<string, (stored: StoredEvent) => object | undefined>();
    const read = (storedType: string, decode: (stored: StoredEvent) => object | undefined) => {
      if (decoders.has(storedType)) throw new Error(`@DurableReaction of ${className} reads the stored type ${storedType} twice (as an event class and as a contract?)`);
      decoders.set(storedType, decode);
    };
    for (const eventClass of classes) {
      if (this.manifests.eventClasses.includes(eventClass)) {
        read(eventClass.type, (stored) => this.eventClasses.instantiate(stored));
        continue;
      }
      const storedTypes = this.manifests.storedTypesPublishedAs(eventClass);
      if (storedTypes.length === 0) {
        throw new Error(`@DurableReaction of ${className} reads ${eventClass.name}, which is neither an event class of a module's manifest nor a contract a module publishes`);
      }
      for (const storedType of storedTypes) {
        read(storedType, (stored) => {
          const contract = this.manifests.toContract(stored, eventClass);
          if (contract) recordOrigin(contract, stored);
          return contract;
        });
      }
    }
    return { eventTypes: [...decoders.keys()], decode: (stored) => decoders.get(stored.eventType)?.(stored) };
  }

  /** Retries parked reactions when an operator asks (NOTIFY), and looks now and then in case a notification was lost. */
  private listenForRetryRequests(): void {
    if (this.stopped) return;
    const retry = () => this.parkedRetries.wake();
    this.notifications.on(PARKED_RETRY_CHANNEL, retry);
    this.notifications.onReconnect(retry);
    this.parkedRetries.start(PARKED_RETRY_POLL_MS);
  }

  private sagaStep(member: string, saga: SagaFunction): ReactionStep {
    return {
      name: member,
      plan: async (event) => {
        const commands = await lastValueFrom(
          saga(of(event)).pipe(
            filter((command): command is ICommand => !!command),
            toArray(),
          ),
        );
        if (commands.length === 0) return undefined;
        return async () => {
          for (const command of commands) await this.commandBus.execute(command);
        };
      },
    };
  }
}

/** The same rule as Nest's EventBus: the id its decorator stored on the event's class. */
function handlerStep(handler: IEventHandler, handledEvents: DomainEventClass[]): ReactionStep {
  const handledIds = new Set(handledEvents.map(eventIdOf));
  return {
    name: 'handle',
    plan: async (event) => (handledIds.has(eventIdOf(event.constructor)) ? () => Promise.resolve(handler.handle(event)) : undefined),
  };
}

const refusingPublisher: IEventPublisher = {
  publish(event: object): never {
    throw new Error(
      `${event.constructor.name} was published on the in-memory EventBus; events are recorded by saving an aggregate ` +
        'and reach sagas and handlers from the event store (DurableReactions)',
    );
  },
};

function eventIdOf(eventClass: object): string | undefined {
  return (Reflect.getMetadata(EVENT_METADATA, eventClass) as { id?: string } | undefined)?.id;
}
