import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@nestjs/common';
import amqp, { type ChannelModel, type ConfirmChannel, type Message, type Options } from 'amqplib';
import { type BrokerTopology, declareTopology } from '../broker-topology';
import { coalesceSocketWrites } from '../coalesced-socket-writes';
import { readQueueDepth } from '../queue-depth';
import { ChannelLostError, PublishTimeoutError, UnroutableMessageError } from './publish-errors';

/** One message for the exchange, already serialized. `properties.messageId` is required and identifies it. */
export interface AmqpMessage {
  routingKey: string;
  content: Buffer;
  properties: Options.Publish & { messageId: string };
}

/** How long after a return the topology is declared again (see onReturn). */
const REDECLARE_AFTER_RETURN_MS = 1000;

export interface SessionOptions {
  url: string;
  topology: BrokerTopology;
  /** A confirm that does not come within this many ms, while the connection is not blocked, breaks the session. */
  confirmTimeoutMs: number;
  heartbeatSeconds: number;
  logger: Logger;
}

interface InFlight {
  resolve(): void;
  reject(error: Error): void;
  /** When the message was written, or when the connection was last unblocked (ms since epoch). */
  since: number;
  returned?: UnroutableMessageError;
}

/**
 * One AMQP connection with one confirm channel, publishing `mandatory` messages and settling each
 * one by its own confirm. RabbitMQ sends the basic.return of an unroutable mandatory message
 * before the basic.ack of the same message on the same channel (RabbitMQ docs, "Publisher
 * Confirms": "the basic.return is sent to the client before basic.ack"), so a message that was
 * returned is known to be returned when its ack arrives, and its publish rejects with
 * UnroutableMessageError instead of resolving.
 *
 * A session is used until it breaks and then thrown away (the owner opens a new one): on a
 * connection or channel close, or when a confirm is overdue while the connection is not
 * blocked. Breaking settles every message in flight as failed at once; the broker may still
 * have routed some of them, so the caller re-sends at most those (one window per broken session).
 * While RabbitMQ blocks the connection (memory or disk alarm) nothing is timed out: the confirms
 * are late on purpose, and the owner writes nothing more until it is unblocked.
 */
export class ConfirmChannelSession {
  private readonly inFlight = new Map<string, InFlight>();
  private readonly unblockedWaiters = new Set<{ resolve(): void; reject(error: Error): void }>();
  private readonly watchdog: NodeJS.Timeout;
  private redeclaring?: Promise<void>;
  private brokenBy?: Error;
  blocked = false;

  private constructor(
    private readonly connection: ChannelModel,
    private readonly channel: ConfirmChannel,
    private readonly options: SessionOptions,
  ) {
    connection.on('blocked', (reason: string) => {
      this.blocked = true;
      options.logger.warn(`RabbitMQ blocked the publishing connection (${reason}): publishing pauses until it is unblocked`);
    });
    connection.on('unblocked', () => {
      this.blocked = false;
      const now = Date.now();
      for (const message of this.inFlight.values()) message.since = now;
      for (const waiter of this.unblockedWaiters) waiter.resolve();
      this.unblockedWaiters.clear();
      options.logger.log('RabbitMQ unblocked the publishing connection');
    });
    connection.on('close', (error?: Error) => this.break(new ChannelLostError(`connection closed${error ? `: ${error.message}` : ''}`)));
    channel.on('close', () => this.break(new ChannelLostError('channel closed')));
    channel.on('return', (message: Message) => this.onReturn(message));
    this.watchdog = setInterval(() => this.checkOverdueConfirms(), Math.max(20, Math.min(250, options.confirmTimeoutMs / 4)));
    this.watchdog.unref();
  }

  /** Connects, opens a confirm channel and declares the topology; rejects when one round trip goes `confirmTimeoutMs` without an answer. */
  static async open(options: SessionOptions): Promise<ConfirmChannelSession> {
    // The socket timeout covers the whole handshake (amqplib clears it once the connection is open).
    const url = new URL(options.url);
    if (!url.searchParams.has('heartbeat')) url.searchParams.set('heartbeat', String(options.heartbeatSeconds));
    const connection = await amqp.connect(url.toString(), { timeout: options.confirmTimeoutMs });
    // Listen for 'error' before the first declaration: a queue that exists with other arguments
    // closes the channel (406) and amqplib emits 'error' on the channel and then the connection;
    // unheard, either one is an uncaught exception that ends the whole API. The failed
    // declaration rejects below, which is how the caller learns of it; on an open session the
    // 'close' that follows an 'error' breaks it.
    connection.on('error', () => undefined);
    try {
      // Each round trip is bounded, not their sum: the topology takes about 20 declarations, and a
      // slow broker that answers each of them in time is a working one (under the sum, a broker
      // 10 ms away could never be connected with a 200 ms timeout).
      const channel = await withTimeout(connection.createConfirmChannel(), 2 * options.confirmTimeoutMs, 'opening a confirm channel (channel.open, confirm.select)');
      channel.on('error', () => undefined);
      await declareTopology(eachCallWithin(channel, options.confirmTimeoutMs), options.topology);
      coalesceSocketWrites(connection);
      return new ConfirmChannelSession(connection, channel, options);
    } catch (error) {
      void connection.close().catch(() => undefined);
      throw error;
    }
  }

  get isBroken(): boolean {
    return this.brokenBy !== undefined;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Messages ready in `queue`, read on a channel of its own (readQueueDepth); rejects when the session is broken. */
  messagesIn(queue: string): Promise<number> {
    if (this.brokenBy) return Promise.reject(this.brokenBy);
    return readQueueDepth(this.connection, queue);
  }

  /** Resolves once the connection is not blocked; rejects when the session breaks first. */
  whenUnblocked(): Promise<void> {
    if (this.brokenBy) return Promise.reject(this.brokenBy);
    if (!this.blocked) return Promise.resolve();
    return new Promise((resolve, reject) => this.unblockedWaiters.add({ resolve, reject }));
  }

  /**
   * Writes one mandatory message; resolves on its basic.ack, rejects with UnroutableMessageError
   * (returned), ChannelLostError (nacked, or the session broke) or PublishTimeoutError.
   * A message id may be in flight only once per session.
   */
  async publish(message: AmqpMessage): Promise<void> {
    if (this.brokenBy) throw this.brokenBy;
    const id = message.properties.messageId;
    if (this.inFlight.has(id)) throw new Error(`message ${id} is already in flight`);
    if (this.redeclaring) await this.redeclaring;
    return new Promise<void>((resolve, reject) => {
      const entry: InFlight = { resolve, reject, since: Date.now() };
      this.inFlight.set(id, entry);
      try {
        this.channel.publish(this.options.topology.exchange, message.routingKey, message.content, { ...message.properties, mandatory: true }, (error) => {
          if (this.inFlight.get(id) !== entry) return; // already settled by a break
          this.inFlight.delete(id);
          if (entry.returned) entry.reject(entry.returned);
          else if (error) entry.reject(new ChannelLostError(String(error.message ?? error)));
          else entry.resolve();
        });
      } catch (error) {
        this.inFlight.delete(id);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  /** Settles everything in flight as failed and closes the connection (without waiting for the broker). */
  break(error: Error): void {
    if (this.brokenBy) return;
    this.brokenBy = error;
    clearInterval(this.watchdog);
    for (const message of this.inFlight.values()) message.reject(error);
    this.inFlight.clear();
    for (const waiter of this.unblockedWaiters) waiter.reject(error);
    this.unblockedWaiters.clear();
    // A stalled broker never answers close-ok; the heartbeat then reaps the socket.
    void this.connection.close().catch(() => undefined);
  }

  /** Closes politely: waits up to `graceMs` for close-ok, then gives up on the connection. */
  async close(error: Error, graceMs = 2000): Promise<void> {
    const closing = this.connection.close().catch(() => undefined);
    this.break(error);
    await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
  }

  private onReturn(message: Message): void {
    const id = message.properties.messageId as string | undefined;
    const entry = id === undefined ? undefined : this.inFlight.get(id);
    if (!entry || id === undefined) return;
    // amqplib passes basic.return's reply code and text in the fields; its types do not say so.
    const { replyCode, replyText } = message.fields as typeof message.fields & { replyCode?: number; replyText?: string };
    entry.returned = new UnroutableMessageError(id, message.fields.exchange, message.fields.routingKey, `${replyCode} ${replyText}`);
    // Declaring the topology again re-creates a deleted consumer queue or a lost binding, so the
    // re-sent message is routed even before the consumer comes back. Not at once: a consumer of a
    // quorum queue that is deleted and declared again within milliseconds is neither cancelled
    // nor fed by RabbitMQ (3.10, measured: consumerCount 1, nothing delivered, ever), so the
    // consumer gets a moment to see its cancel and take the queue back itself.
    this.redeclaring ??= sleep(REDECLARE_AFTER_RETURN_MS)
      .then(() => declareTopology(this.channel, this.options.topology))
      .then(() => this.options.logger.warn(`${entry.returned?.message}: the topology was declared again; the relay re-sends it`))
      .catch((error: unknown) => this.break(new ChannelLostError(`declaring the topology failed: ${String(error)}`)))
      .finally(() => (this.redeclaring = undefined));
  }

  private checkOverdueConfirms(): void {
    if (this.blocked || this.brokenBy) return;
    const oldest = this.inFlight.values().next();
    if (oldest.done) return;
    if (Date.now() - oldest.value.since >= this.options.confirmTimeoutMs) this.break(new PublishTimeoutError(this.options.confirmTimeoutMs));
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** `channel`, each of whose calls that returns a promise (an RPC: declare, bind) rejects after `ms` without an answer. */
function eachCallWithin<T extends object>(channel: T, ms: number): T {
  return new Proxy(channel, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result: unknown = value.apply(target, args);
        return result instanceof Promise ? withTimeout(result, ms, `${String(key)} on RabbitMQ`) : result;
      };
    },
  });
}
