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
import { EventSubscriptions } from '../subscription/event-subscriptions';
import { EventUpcasters } from '../upcasting/event-upcasters';
import { DomainEventClasses } from './domain-event-classes';
import type { Reaction } from './reaction';
import { ReactionRunner } from './reaction-runner';

// Where @nestjs/cqrs keeps what its decorators declare (not exported from the package).
const SAGA_METADATA = '__saga__';
const EVENTS_HANDLER_METADATA = '__eventsHandler__';
const EVENT_METADATA = '__event__';

/** Retry requests arrive by NOTIFY (a trigger on parked_reactions); this poll is only the safety net. */
const PARKED_RETRY_POLL_MS = 30_000;
const PARKED_RETRY_CHANNEL = 'parked_reactions_retry';

type EventClass = abstract new (...args: never[]) => object;
type SagaFunction = (events$: Observable<object>) => Observable<ICommand | undefined | null>;

/**
 * Delivers stored events to every `@Saga()` and `@EventsHandler()` of the application through
 * its own checkpointed subscription (`reaction:<Class>.<member>`), instead of Nest's in-memory,
 * fire-and-forget EventBus: an event committed is reacted to even if the process dies a moment
 * later, a reaction's effect commits with its checkpoint, and one failing reaction neither stops
 * the others nor dies like an RxJS stream after its first error.
 *
 * A saga receives one event at a time, as an instance of its class, and its commands run one
 * after another on the CommandBus inside the reaction's transaction. Sagas therefore keep no state
 * between events (state lives in aggregates), which is what makes them safe to replay.
 *
 * CqrsModule still subscribes the same sagas and handlers to its in-memory EventBus, so publishing
 * there would run them a second time, without any guarantee. Its publisher is therefore replaced
 * by one that refuses: events come into being by saving an aggregate (AggregateWriter).
 */
@Injectable()
export class DurableReactions implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(DurableReactions.name);
  private readonly runners: ReactionRunner[] = [];
  private retryTimer?: NodeJS.Timeout;
  private retrying?: Promise<unknown>;
  private stopped = false;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly subscriptions: EventSubscriptions,
    private readonly eventClasses: DomainEventClasses,
    private readonly transactions: TransactionContext,
    private readonly commandBus: CommandBus,
    private readonly eventBus: EventBus,
    private readonly config: ConfigService<Environment, true>,
    private readonly upcasters: EventUpcasters,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly notifications: DatabaseNotifications,
  ) {}

  onModuleInit(): void {
    this.eventBus.publisher = refusingPublisher;
    if (!this.config.get('REACTIONS_ENABLED', { infer: true })) {
      this.logger.warn('REACTIONS_ENABLED=false: this process runs no sagas or event handlers');
      return;
    }
    const reactions: Reaction[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      const instance: unknown = wrapper.instance;
      const type = wrapper.metatype;
      if (!instance || typeof instance !== 'object' || typeof type !== 'function') continue;
      const sagaMembers: string[] = Reflect.getMetadata(SAGA_METADATA, type) ?? [];
      for (const member of sagaMembers) {
        const saga = (instance as Record<string, SagaFunction>)[member].bind(instance);
        reactions.push(this.sagaReaction(`${type.name}.${member}`, saga));
      }
      const handledEvents: EventClass[] | undefined = Reflect.getMetadata(EVENTS_HANDLER_METADATA, type);
      if (handledEvents) reactions.push(this.handlerReaction(type.name, instance as IEventHandler, handledEvents));
    }

    const policy = {
      maxAttempts: this.config.get('REACTION_MAX_ATTEMPTS', { infer: true }),
      retryBaseMs: this.config.get('REACTION_RETRY_BASE_MS', { infer: true }),
    };
    const batchSize = this.config.get('REACTION_BATCH_SIZE', { infer: true });
    for (const reaction of reactions) {
      const runner = new ReactionRunner(reaction, this.eventClasses, this.transactions, policy, this.upcasters);
      this.runners.push(runner);
      this.subscriptions.register(reaction.name, (events, transaction) => runner.handle(events, transaction), { batchSize });
    }
    this.logger.log(`${reactions.length} durable reactions: ${reactions.map((r) => r.name).join(', ')}`);
  }

  /** Retries parked reactions when an operator asks (NOTIFY), and looks now and then in case a notification was lost. */
  onApplicationBootstrap(): void {
    if (this.runners.length === 0) return;
    let again = false;
    const retry = () => {
      if (this.stopped) return;
      // A request that arrives while a retry runs may not have been seen by it: run once more.
      if (this.retrying) {
        again = true;
        return;
      }
      this.retrying = this.retryRequestedParkedReactions()
        .catch((error: unknown) => this.logger.error(`retrying parked reactions failed: ${String(error)}`))
        .finally(() => {
          this.retrying = undefined;
          if (again) {
            again = false;
            retry();
          }
        });
    };
    this.notifications.on(PARKED_RETRY_CHANNEL, retry);
    this.notifications.onReconnect(retry);
    this.retryTimer = setInterval(retry, PARKED_RETRY_POLL_MS);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.retryTimer);
    await this.retrying;
  }

  /** Runs the retries operators requested (`npm run parked-reactions -- retry`); returns how many. */
  async retryRequestedParkedReactions(): Promise<number> {
    const requested: Array<{ reaction: string }> = await this.dataSource.query(
      `SELECT DISTINCT reaction FROM parked_reactions WHERE retry_requested_at IS NOT NULL`,
    );
    let tried = 0;
    for (const runner of this.runners.filter((candidate) => requested.some(({ reaction }) => reaction === candidate.name))) {
      tried += await this.dataSource.transaction((transaction) => runner.retryRequested(transaction));
    }
    return tried;
  }

  private sagaReaction(member: string, saga: SagaFunction): Reaction {
    return {
      name: `reaction:${member}`,
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

  private handlerReaction(name: string, handler: IEventHandler, handledEvents: EventClass[]): Reaction {
    const handledIds = new Set(handledEvents.map(eventIdOf));
    return {
      name: `reaction:${name}`,
      // The same rule as Nest's EventBus: the id its decorator stored on the event's class.
      plan: async (event) => (handledIds.has(eventIdOf(event.constructor)) ? () => Promise.resolve(handler.handle(event)) : undefined),
    };
  }
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
