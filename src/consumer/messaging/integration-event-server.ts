import { setTimeout as sleep } from 'node:timers/promises';
import { ServerRMQ } from '@nestjs/microservices';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { coalesceSocketWrites } from '../../messaging/coalesced-socket-writes';
import { BrokerTopology, declareTopology } from '../../messaging/broker-topology';
import { readQueueDepth } from '../../messaging/queue-depth';
import { isClosedChannelError } from '../../shared/failure-classification';
import type { DeliveryHandler } from './delivery-handler';
import { InFlightDeliveries } from './in-flight-deliveries';
import { TopologyMismatchError } from './topology-mismatch.error';

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
 * and the connection. Every message, whatever its routing key, goes straight to the
 * DeliveryHandler given to `deliverTo` (which validates and settles it); Nest's pattern routing
 * and controllers play no part.
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
  private deliveries?: DeliveryHandler;

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
    });
  }

  /** Where every delivery goes; set once the app built the handler, before `listen`. */
  deliverTo(deliveries: DeliveryHandler): void {
    this.deliveries = deliveries;
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

  isConnected(): boolean {
    try {
      return this.unwrap<{ isConnected(): boolean }>().isConnected();
    } catch {
      return false;
    }
  }

  /** Messages parked in the dead-letter queue, read on the consumer's connection (readQueueDepth); rejects when not connected. */
  deadLetterDepth(): Promise<number> {
    let connection: ChannelModel | undefined;
    try {
      connection = this.unwrap<{ connection?: ChannelModel }>().connection;
    } catch {
      connection = undefined;
    }
    if (!connection || !this.isConnected()) return Promise.reject(new Error('not connected to RabbitMQ'));
    return readQueueDepth(connection, this.topology.deadLetterQueue);
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
    // A delivery held through an outage is handed back now, not at the drain's end: retrying it
    // until the outage ends would only hold the stop (a silent PostgreSQL, given up on by the stop,
    // fails every try at once). The others commit and are acked meanwhile.
    this.inFlight.stop();
    if (!(await this.inFlight.settled(this.settings.drainTimeoutMs))) {
      this.logger.warn(
        `${this.inFlight.size} of ${inFlight} deliveries still unsettled after ${this.settings.drainTimeoutMs} ms; ` +
          'handing them back to RabbitMQ, which delivers them again',
      );
    }
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
        // Tracked from here, before the handler takes any asynchronous step: a close that did not
        // see such a delivery closed the channel under it (applied, then delivered again).
        void this.inFlight.track(this.deliver(message, channel).catch((error: unknown) => this.handleError(String(error))));
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

  private async deliver(message: ConsumeMessage, channel: Channel): Promise<void> {
    if (!this.deliveries) throw new Error('IntegrationEventServer: deliverTo was not called before listen');
    // The channels amqp-connection-manager opens are confirm channels.
    await this.deliveries.handle(parseBody(message.content), message, channel as ConfirmChannel);
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

/** The body as JSON, or as text when it is no JSON (the DeliveryHandler parks what is no CloudEvent). */
function parseBody(content: Buffer): unknown {
  const text = content.toString();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
