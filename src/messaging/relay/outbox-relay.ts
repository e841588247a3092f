import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { IntegrationEnvelope } from '../../contracts';
import { Environment } from '../../config/environment';
import { DatabaseNotifications } from '../../database/database-notifications';
import { LeaderElection } from '../../database/leader-election';
import { AfterListening } from '../../shared/after-listening';
import { CheckpointTracker, countEventsAfter, describeError, ensureCheckpoint, EventStoreHead, EventUpcasters, Latch, PAUSED_RECHECK_MS, readCheckpointAndEventsAfter, recordFailure, type SequencedEvent, SUBSCRIPTION_RETRY_CHANNEL } from '../../event-store';
import { type LogContext, logContextOf, withLogContext } from '../../logging/log-context';
import { IntegrationEventMappers } from '../integration-event-mappers';
import { IntegrationEventPublisher } from '../integration-event-publisher';
import { toIntegrationEnvelope } from '../integration-envelope';
import { UnroutableMessageError } from '../publishing/publish-errors';
import { publishInOrder } from './publish-in-order';
import { inPublishSpan } from './publish-span';
import { Clock } from '../../shared/clock';
import { doublingBackoff, PollingWorker } from '../../shared/polling-worker';
import { advanceRelayCheckpoint } from './relay-batches';
import { RelayMetrics } from './relay.metrics';

export const RELAY_CHECKPOINT = 'relay:integration-events';

/** The relay's lease (LeaderElection): one relaying process per broker prefix. */
export const relayLeaseKey = (brokerPrefix: string): string => `relay:${brokerPrefix}`;
const SHUTDOWN_GRACE_MS = 3000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * The transactional outbox relay: the events table is the outbox. One process at a time relays
 * (a PostgreSQL advisory lock held on a dedicated connection; when that process dies, its
 * session and lock go with it and another takes over). Each batch is read without holding a
 * transaction and published in order through a bounded window of messages in flight
 * (RELAY_MAX_IN_FLIGHT): each message is settled by its own broker confirm, and the checkpoint
 * advances to the longest confirmed prefix of the batch. A failed message (unroutable, nacked,
 * or lost with a broken channel) stops the batch: nothing new is sent, what is in flight settles,
 * the checkpoint moves to the prefix, and the rest is read again after a back-off. Messages
 * confirmed beyond the prefix are remembered and not sent again; a message still in flight is
 * never sent twice. Duplicates stay possible (a broken channel may have routed what it could not
 * confirm: at most one window per broken channel), losses do not; the consumer's inbox drops
 * the duplicates. Memory stays bounded by the window even when RabbitMQ blocks publishers. The
 * statement that advances the checkpoint also records the batch, with when each message was sent
 * (`relay_batches`, one row per batch: what GET /flows/{correlationId} shows as each publish).
 *
 * An event that cannot be mapped to its message stops the relay exactly there, like a failed
 * publish: what comes before it is published, and the relay's checkpoint row records the event
 * and the error (see subscription-failures.ts) until the checkpoint passes it. After any failure
 * the relay backs off (doubling, at most 10 s) unless an operator asks for a retry.
 *
 * Paused by an operator (subscription-pauses.ts), it reads nothing when it looks for its next
 * batch (the batch in flight, if any, is finished first): the outbox holds the events, commands
 * go on. It looks again every PAUSED_RECHECK_MS, or at once when resumed.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly leadership: LeaderElection;
  private readonly maxInFlight: number;
  /** Relays batch after batch; after a failure it backs off (doubling, at most 10 s) unless woken by a retry request. */
  private readonly worker: PollingWorker;
  private stopping = false;
  private inFlightNow = 0;
  private inFlightPeak = 0;
  /** Events beyond the checkpoint the broker already confirmed (after a gap), with when they were sent: not sent again. */
  private readonly confirmedAhead = new Map<string, Date>();
  /** Whether the store holds events beyond the checkpoint, known without a query. */
  private readonly tracker: CheckpointTracker;
  /** Ends the wait of a paused relay: a resume (or a retry), or the relay stops; remembered until the wait. */
  private readonly resumed = new Latch();
  /** The last read found the relay paused by an operator. */
  private pausedByOperator = false;
  /** The event the last batch stopped at, whose fields the failure's log line carries. */
  private stoppedAt?: LogContext;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly publisher: IntegrationEventPublisher,
    private readonly mappers: IntegrationEventMappers,
    private readonly head: EventStoreHead,
    private readonly config: ConfigService<Environment, true>,
    private readonly upcasters: EventUpcasters,
    private readonly afterListening: AfterListening,
    private readonly notifications: DatabaseNotifications,
    private readonly metrics: RelayMetrics,
    private readonly clock: Clock,
  ) {
    this.leadership = new LeaderElection(config.get('DATABASE_URL', { infer: true }), relayLeaseKey(config.get('BROKER_PREFIX', { infer: true })), {
      onElected: async () => {
        await ensureCheckpoint(this.dataSource, RELAY_CHECKPOINT);
        this.logger.log('this process now relays integration events');
      },
      // Another process may relay once this one lost the lock: what it remembered is no longer its business.
      onDeposed: () => {
        this.confirmedAhead.clear();
        this.logger.warn('this process no longer relays integration events: its lease session ended (another process may relay now)');
      },
    }, config.get('LEASE_SESSION_TIMEOUT_MS', { infer: true }));
    this.worker = new PollingWorker(() => this.relayOrWait(), {
      intervalMs: 0,
      backoff: doublingBackoff(100, 10_000),
      onFailure: (error, failures, delay) => this.reportFailure(error, failures, delay),
    });
    this.maxInFlight = config.get('RELAY_MAX_IN_FLIGHT', { infer: true });
    this.tracker = new CheckpointTracker(RELAY_CHECKPOINT, head);
  }

  onApplicationBootstrap(): void {
    if (!this.config.get('RELAY_ENABLED', { infer: true })) {
      this.logger.log('RELAY_ENABLED=false: this process relays no integration events');
      return;
    }
    this.notifications.on(SUBSCRIPTION_RETRY_CHANNEL, (subscriptionId) => {
      if (subscriptionId !== RELAY_CHECKPOINT) return;
      this.worker.wake();
      this.resumed.raise();
    });
    this.afterListening.register('outbox relay', () => {
      if (this.stopping) return;
      this.worker.start();
      this.logger.log(`outbox relay started: publishes to ${this.publisher.topology.exchange} while this process holds the relay's lease`);
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.head.wake();
    const stopped = this.worker.stop();
    this.resumed.raise();
    // Nothing new is sent; what is in flight gets a few seconds to be confirmed (a blocked or
    // stalled broker may never confirm), then it is abandoned and re-sent by the next leader.
    const graceful = await Promise.race([stopped.then(() => true), sleep(SHUTDOWN_GRACE_MS).then(() => false)]);
    if (graceful === false) this.publisher.abandonInFlight('the relay is stopping');
    await stopped;
    this.confirmedAhead.clear();
    await this.leadership.resign();
  }

  get isLeader(): boolean {
    return this.leadership.isLeader;
  }

  /** Events stored but not yet confirmed by the broker. */
  lag(): Promise<number> {
    return countEventsAfter(this.dataSource, RELAY_CHECKPOINT);
  }

  /** Messages published and not yet settled by a confirm (never more than RELAY_MAX_IN_FLIGHT). */
  get inFlight(): number {
    return this.inFlightNow;
  }

  /** The most messages ever in flight at once since start (diagnostics, tests). */
  get inFlightHighWaterMark(): number {
    return this.inFlightPeak;
  }

  /**
   * Relays at most one batch; returns how many events the checkpoint moved past. Requires
   * leadership. Rejects with the first failure (a publish, or an event that cannot be mapped),
   * after advancing to the confirmed prefix and recording the event it stopped at.
   */
  async relayNextBatch(): Promise<number> {
    this.stoppedAt = undefined;
    const headBeforeRead = this.head.position;
    const events = await this.readNextBatch();
    if (events.length === 0) {
      // Paused, it is not caught up: the events beyond its checkpoint wait for the resume.
      if (!this.pausedByOperator) this.tracker.caughtUpTo(headBeforeRead);
      return 0;
    }
    const startedAt = performance.now();
    const { messages, mappingFailure } = this.toMessages(events);
    const eventOf = new Map(messages.flatMap((message, index) => (message ? [[message, events[index]] as const] : [])));
    // When each message went to the broker: recorded with the batch (relay_batches), for GET /flows.
    const sentAt = new Map<string, Date>();
    for (const event of events) {
      const earlier = this.confirmedAhead.get(event.eventId);
      if (earlier) sentAt.set(event.eventId, earlier);
    }
    const published = await publishInOrder(messages, {
      // Each publish in its event's log context and trace span: what is logged about it carries the event's fields.
      publish: (message) =>
        withLogContext(logContextOf(eventOf.get(message)!), () =>
          inPublishSpan(message, this.publisher.topology.exchange, () =>
            this.metrics.counted(message, () => {
              sentAt.set(eventOf.get(message)!.eventId, this.clock.now());
              return this.publishOne(message, eventOf.get(message)!);
            }),
          ),
        ),
      maxInFlight: this.maxInFlight,
      // Deposed mid-batch (its lease session ended: frozen past LEASE_SESSION_TIMEOUT_MS, or cut),
      // it sends nothing more: another process relays from the checkpoint, and every message of
      // the rest of this batch would be a copy of one that process sends.
      shouldStop: () => this.stopping || !this.leadership.isLeader,
      onInFlightChange: (delta) => {
        this.inFlightNow += delta;
        this.inFlightPeak = Math.max(this.inFlightPeak, this.inFlightNow);
      },
    });
    const { settledPrefix, confirmed } = published;
    // Publishing stops at the first event that could not be mapped, as at a failed publish.
    const failure = published.failure ?? (settledPrefix === messages.length ? mappingFailure : undefined);
    events.forEach((event, index) => {
      if (index < settledPrefix) this.confirmedAhead.delete(event.eventId);
      else if (confirmed[index]) this.confirmedAhead.set(event.eventId, sentAt.get(event.eventId) ?? this.clock.now());
    });
    if (settledPrefix > 0) {
      await advanceRelayCheckpoint(this.dataSource, RELAY_CHECKPOINT, events.slice(0, settledPrefix), sentAt);
      this.tracker.at(events[settledPrefix - 1].globalPosition);
    }
    this.logger.debug(
      `relayed ${settledPrefix} of ${events.length} events (global positions ${events[0].globalPosition} to ${events[events.length - 1].globalPosition}) ` +
        `in ${Math.round(performance.now() - startedAt)} ms`,
    );
    if (failure) {
      const stoppedAt = events[settledPrefix];
      if (stoppedAt) this.stoppedAt = logContextOf(stoppedAt);
      if (stoppedAt && !this.stopping) {
        await recordFailure(this.dataSource, RELAY_CHECKPOINT, stoppedAt, failure).catch((error: unknown) =>
          this.logger.error(`recording the relay's failure failed: ${String(error)}`),
        );
      }
      throw failure;
    }
    return settledPrefix;
  }

  private async publishOne(envelope: IntegrationEnvelope, event: SequencedEvent): Promise<void> {
    await this.publisher.publish(envelope);
    this.logger.debug(`published ${event.eventType} ${event.eventId} as ${envelope.type}, confirmed`);
  }

  /**
   * The messages of a batch, up to the first event that cannot be mapped (that one and the rest
   * are left out). An event confirmed already, or mapped to no contract, is undefined: settled.
   */
  private toMessages(events: SequencedEvent[]): { messages: Array<IntegrationEnvelope | undefined>; mappingFailure?: Error } {
    const messages: Array<IntegrationEnvelope | undefined> = [];
    for (const event of events) {
      if (this.confirmedAhead.has(event.eventId)) {
        messages.push(undefined);
        continue;
      }
      try {
        // Upcast here, event by event: one of a version this code cannot read stops the relay at it, as one it cannot map.
        messages.push(toIntegrationEnvelope(this.upcasters.upcast(event), this.mappers));
      } catch (error) {
        const reason = describeError(error);
        return { messages, mappingFailure: new Error(`${event.eventType} ${event.eventId} cannot be mapped to an integration event: ${reason}`) };
      }
    }
    return { messages };
  }

  /** The one place the relay reads the outbox: the next batch after its checkpoint (as stored: toMessages upcasts); none while paused. */
  private async readNextBatch(): Promise<SequencedEvent[]> {
    const { checkpoint, paused, events } = await readCheckpointAndEventsAfter(this.dataSource, RELAY_CHECKPOINT, this.config.get('RELAY_BATCH_SIZE', { infer: true }));
    this.pausedByOperator = paused;
    if (paused) return [];
    this.tracker.at(checkpoint.globalPosition);
    return events;
  }

  /** One turn of the relay: relays a batch when it leads and events wait, else waits for that. */
  private async relayOrWait(): Promise<void> {
    if (!(await this.leadership.campaign())) {
      // Another process relays: try again in a second (woken early only to stop).
      for (const until = Date.now() + 1000; !this.stopping && Date.now() < until; ) await this.head.changed(until - Date.now());
      return;
    }
    // Reads only when events are numbered beyond the checkpoint: an idle relay sends no query.
    if (!this.tracker.behind()) {
      await this.tracker.waitUntilBehind(() => this.stopping, 60_000);
      return;
    }
    await this.relayNextBatch();
    if (this.pausedByOperator && !this.stopping) await this.resumed.take(PAUSED_RECHECK_MS);
  }

  private reportFailure(error: unknown, failures: number, delay: number): void {
    const hint =
      error instanceof UnroutableMessageError
        ? `; no queue is bound to ${error.exchange} for ${error.routingKey}: check the consumer queue and its bindings`
        : '';
    const warn = () => this.logger.warn(`relay batch failed (attempt ${failures}), retrying in ${delay} ms: ${String(error)}${hint}`);
    if (this.stoppedAt) withLogContext(this.stoppedAt, warn);
    else warn();
  }
}
