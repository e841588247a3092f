import { setTimeout as sleep } from 'node:timers/promises';
import { ServerRMQ } from '@nestjs/microservices';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Channel, ConsumeMessage } from 'amqplib';
import { coalesceSocketWrites } from '../../messaging/coalesced-socket-writes';
import { BrokerTopology, declareTopology } from '../../messaging/broker-topology';
import { isClosedChannelError } from '../../shared/failure-classification';
import { InFlightDeliveries } from './in-flight-deliveries';
import { TopologyMismatchError } from './topology-mismatch.error';

/** Every delivery goes to the one handler registered for this pattern. */
export const INTEGRATION_EVENT_PATTERN = 'integration-event';

/** Pauses before consuming again after a cancellation or a lost channel: doubling, capped. */
const RECOVERY_FIRST_PAUSE_MS = 250;
const RECOVERY_MAX_PAUSE_MS = 5_000;
/**
 * How long the channel stays open after the last delivery settled. A quorum queue applies acks
 * asynchronously: past a few dozen outstanding commands the broker's channel buffers further
 * settlements, and closing the channel drops those and returns their messages to the queue
 * although they were acked (rabbitmq/rabbitmq-server#10327). With a burst of acks just before
 * close, ~15 of 50 came back: applied and delivered again.
 */
const ACK_FLUSH_GRACE_MS = 500;

export interface IntegrationEventServerOptions {
  url: string;
  prefetch: number;
  /** How long stopping waits for the deliveries being handled to settle before closing the channel. */
  drainTimeoutMs: number;
}

/** Whether a consumer is active on the queue right now, and if not, why. */
export type ConsumerState = { consuming: true } | { consuming: false; reason: string };

type StartCallback = (error?: unknown, info?: unknown) => void;

/**
 * Nest's RMQ server on the consumer queue, with manual acks and an explicit prefetch, that keeps
 * consuming. On every (re)connect it declares the shared topology and consumes. When RabbitMQ
 * cancels the consumer (the queue was deleted) it declares the topology again and consumes again;
 * when the broker closes the channel on a live connection it reconnects; both with back-off, and
 * `state()` says "not consuming" meanwhile. A queue that exists with other arguments fails
 * start-up with a TopologyMismatchError. Closing cancels the consumer first, waits (bounded) for
 * the deliveries in flight to settle, lets the broker apply their acks, then closes the channel
 * and the connection. Every message
 * body, whatever its routing key, goes to the integration-event handler (which validates it).
 */
export class IntegrationEventServer extends ServerRMQ {
  /** The deliveries being handled; the DeliveryHandler tracks them, closing waits for them. */
  readonly inFlight = new InFlightDeliveries();
  private current?: { channel: Channel; consumerTag?: string };
  private notConsumingBecause = 'not started yet';
  /** Set while the broker refuses our declaration; it outranks any later reason. */
  private mismatch?: TopologyMismatchError;
  private stopping = false;
  private started = false;
  private recoveries = 0;
  private failStart?: (error: Error) => void;
  /** A channel of its own for looking at queues (messageCount), opened on the first look. */
  private inspection?: Promise<Channel>;

  constructor(
    private readonly topology: BrokerTopology,
    private readonly settings: IntegrationEventServerOptions,
  ) {
    super({
      urls: [settings.url],
      queue: topology.consumerQueue,
      noAck: false,
      prefetchCount: settings.prefetch,
      // The queue is declared by declareTopology with its full arguments; Nest must not
      // re-declare it with others.
      noAssert: true,
      socketOptions: { heartbeatIntervalInSeconds: 5, reconnectTimeInSeconds: 1 },
      deserializer: {
        deserialize: (body: unknown) => ({ pattern: INTEGRATION_EVENT_PATTERN, data: body }),
      },
    });
  }

  /**
   * Nest finds a delivery's handler by `JSON.parse`-ing its pattern, and a plain string pattern
   * makes that throw and catch an exception for every message: 2 % of the consumer's time in a
   * CPU profile under load. The one pattern this server knows is its own route already.
   */
  override getRouteFromPattern(pattern: string): string {
    return pattern === INTEGRATION_EVENT_PATTERN ? pattern : super.getRouteFromPattern(pattern);
  }

  override listen(callback: StartCallback): Promise<void> {
    let answered = false;
    const answer: StartCallback = (error, info) => {
      if (answered) return;
      answered = true;
      this.started = !error;
      callback(error, info);
    };
    this.failStart = (error) => answer(error);
    return super.listen(answer);
  }

  /** Runs on every (re)connect, on a fresh channel. Never throws: amqp-connection-manager would emit an unhandled 'error'. */
  override async setupChannel(channel: Channel, callback: () => void): Promise<void> {
    this.current = { channel };
    // A channel the broker closes emits 'error' before 'close'; without a listener that would crash the process.
    channel.on('error', (error: Error) => {
      // A mismatch is reported once, by the declaration that failed.
      if (!TopologyMismatchError.fromDeclareError(error)) this.logger.error(`RabbitMQ closed the consumer channel: ${error.message}`);
    });
    channel.on('close', () => this.onChannelClosed(channel));
    try {
      await declareTopology(channel, this.topology);
      coalesceSocketWrites(channel);
      await channel.prefetch(this.settings.prefetch);
      await this.consume(channel);
    } catch (error) {
      this.mismatch = TopologyMismatchError.fromDeclareError(error);
      this.notConsuming(`could not start consuming: ${describe(error)}`);
      if (this.mismatch && !this.started) {
        this.stopping = true; // start-up failed for good: no recovery, the caller exits
        return this.failStart?.(this.mismatch);
      }
      this.logger.error(this.stateReason());
      // Usually the failure closed the channel already; otherwise close it, so onChannelClosed recovers.
      await channel.close().catch(() => undefined);
      return;
    }
    callback();
  }

  state(): ConsumerState {
    if (this.current?.consumerTag) return { consuming: true };
    return { consuming: false, reason: this.stateReason() };
  }

  private stateReason(): string {
    return this.mismatch?.message ?? this.notConsumingBecause;
  }

  /**
   * How many ready messages `queue` holds (a passive declare), asked on a channel of its own on the
   * consumer's connection: a look at a missing queue closes the channel it was asked on, never
   * the consuming one. Undefined while not connected, when the queue is missing, or when the
   * broker does not answer within `timeoutMs`.
   */
  async messageCount(queue: string, timeoutMs = 1_000): Promise<number | undefined> {
    if (this.stopping || !this.isConnected()) return undefined;
    try {
      const channel = await (this.inspection ??= this.openInspectionChannel());
      const reply = await Promise.race([channel.checkQueue(queue), sleep(timeoutMs, undefined, { ref: false })]);
      return reply?.messageCount;
    } catch {
      return undefined;
    }
  }

  private openInspectionChannel(): Promise<Channel> {
    const connection = this.unwrap<AmqpConnectionManager>().connection;
    if (!connection) return Promise.reject(new Error('not connected'));
    const opening = connection.createChannel().then((channel) => {
      // A passive declare of a missing queue closes the channel with an error: open another next time.
      channel.on('error', () => undefined);
      channel.on('close', () => {
        if (this.inspection === opening) this.inspection = undefined;
      });
      return channel;
    });
    opening.catch(() => {
      if (this.inspection === opening) this.inspection = undefined;
    });
    return opening;
  }

  isConnected(): boolean {
    try {
      return this.unwrap<{ isConnected(): boolean }>().isConnected();
    } catch {
      return false;
    }
  }

  /** Cancels the consumer, waits up to the drain timeout for deliveries in flight to settle, then closes. */
  override async close(): Promise<void> {
    if (this.stopping) return super.close();
    this.stopping = true;
    const current = this.current;
    this.notConsuming('stopping');
    if (current?.consumerTag) {
      await current.channel.cancel(current.consumerTag).catch(() => undefined);
      current.consumerTag = undefined;
    }
    const inFlight = this.inFlight.size;
    if (!(await this.inFlight.settled(this.settings.drainTimeoutMs))) {
      this.logger.warn(
        `${this.inFlight.size} of ${inFlight} deliveries still unsettled after ${this.settings.drainTimeoutMs} ms; ` +
          'handing them back to RabbitMQ, which delivers them again',
      );
      this.inFlight.stop();
      await this.inFlight.settled(1_000);
    }
    this.inFlight.stop();
    const grace = this.inFlight.lastSettledAt + ACK_FLUSH_GRACE_MS - performance.now();
    if (grace > 0) await sleep(grace);
    await super.close();
  }

  private async consume(channel: Channel): Promise<void> {
    let consumerTag = '';
    const reply = await channel.consume(
      this.topology.consumerQueue,
      (message: ConsumeMessage | null) => {
        // amqplib hands the broker's basic.cancel (queue deleted) over as a null message.
        if (message === null) return void this.onCancelledByBroker(channel, consumerTag);
        // Tracked from here, not only once the handler runs: Nest takes a few asynchronous steps
        // before it, and a close that did not see such a delivery closed the channel under it
        // (applied, then delivered again).
        void this.inFlight.track(this.handleMessage(message, channel).catch((error: unknown) => this.handleError(String(error))));
      },
      { noAck: false },
    );
    consumerTag = reply.consumerTag;
    if (this.current?.channel !== channel || this.stopping) {
      await channel.cancel(consumerTag).catch(() => undefined);
      return;
    }
    this.current.consumerTag = consumerTag;
    this.recoveries = 0;
    this.mismatch = undefined;
  }

  private async onCancelledByBroker(channel: Channel, consumerTag: string): Promise<void> {
    if (this.current?.consumerTag !== consumerTag) return;
    this.current.consumerTag = undefined;
    this.notConsuming(`RabbitMQ cancelled the consumer of ${this.topology.consumerQueue} (queue deleted?); declaring it again`);
    this.logger.error(this.notConsumingBecause);
    while (!this.stopping && this.current?.channel === channel) {
      await sleep(this.nextRecoveryPause());
      if (this.stopping || this.current?.channel !== channel) return;
      try {
        await declareTopology(channel, this.topology);
      coalesceSocketWrites(channel);
        await this.consume(channel);
        this.logger.log(`consuming ${this.topology.consumerQueue} again`);
        return;
      } catch (error) {
        this.mismatch = TopologyMismatchError.fromDeclareError(error);
        this.notConsuming(`could not consume again: ${describe(error)}`);
        this.logger.error(this.stateReason());
        if (isClosedChannelError(error) || this.mismatch) return; // onChannelClosed recovers
      }
    }
  }

  /**
   * A lost connection closes the channel too, and amqp-connection-manager reconnects and runs
   * setupChannel again. A channel the broker closed on a live connection it leaves closed, so
   * when no new channel came after a pause, reconnect.
   */
  private onChannelClosed(channel: Channel): void {
    if (this.current?.channel !== channel) return;
    this.current.consumerTag = undefined;
    if (this.stopping) return;
    this.notConsuming('the consumer channel closed; reconnecting');
    const pause = this.nextRecoveryPause();
    setTimeout(() => {
      if (this.stopping || this.current?.channel !== channel) return;
      try {
        this.unwrap<{ reconnect(): void }>().reconnect();
      } catch (error) {
        this.logger.error(`could not reconnect to RabbitMQ: ${describe(error)}`);
      }
    }, pause).unref();
  }

  private nextRecoveryPause(): number {
    return Math.min(RECOVERY_FIRST_PAUSE_MS * 2 ** this.recoveries++, RECOVERY_MAX_PAUSE_MS);
  }

  private notConsuming(reason: string): void {
    this.notConsumingBecause = reason;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
