import { randomUUID } from 'node:crypto';
import amqp, { type ConfirmChannel, type GetMessage } from 'amqplib';
import { type BrokerTopology, declareTopology } from '../broker-topology';
import { ATTEMPTS_HEADER, DEAD_LETTERED_AT_HEADER, LAST_ERROR_HEADER, ORIGINAL_ROUTING_KEY_HEADER, REORDER_WAITS_HEADER } from '../message-headers';
import { REPUBLISH_ID_HEADER, returnedMessagesOf } from '../returned-messages';

/** A message parked in the consumer's dead-letter queue, as the headers the consumer put on it describe it. */
export interface DeadLetter {
  /** The AMQP message id: the integration event's id (its CloudEvent `id`); `(none)` when it has none. */
  messageId: string;
  /** The CloudEvents type (AMQP `type`), else the routing key it was first published with; `(unknown)` without either. */
  type: string;
  /** Deliveries the consumer tried (0: parked without a try, e.g. by RabbitMQ's delivery limit or as invalid). */
  attempts: number;
  /** When the consumer parked it (ISO 8601); null when RabbitMQ did (its delivery limit). */
  deadLetteredAt: string | null;
  /** The last failure the consumer recorded; null when none was. */
  lastError: string | null;
}

/** Which parked messages to send back: all of them, or those with one message id. */
export type RedriveSelection = { all: true } | { messageId: string };

export interface RedriveOutcome {
  /** Parked messages the selection matched. */
  matched: number;
  /** Sent back into the consumer queue, confirmed by the broker, and gone from the dead-letter queue. */
  redriven: number;
  /** Matched but not routed to the consumer queue by the broker: they stay parked. */
  stillParked: number;
}

/** RabbitMQ could not be reached (or refused the connection): nothing was read or moved. */
export class BrokerUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`RabbitMQ cannot be reached: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

export interface DeadLetterQueueSettings {
  url: string;
  topology: BrokerTopology;
  /** How long connecting may take before the broker counts as unreachable (ms). */
  connectTimeoutMs?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/**
 * The consumer's dead-letter queue (`<prefix>.consumer.dead-letter`), read and redriven on a
 * connection of its own per call, the way `npm run dead-letters` always did, so that neither the
 * consumer nor the relay's publishing channel is involved, and it works while no consumer runs.
 *
 * Reading takes the messages without acknowledging them (basic.get, manual ack) and closing the
 * channel gives them back: a listing leaves the queue as it was. While a call runs, the messages
 * it holds are not in the queue's ready count, and another call (or the consumer's health check)
 * does not see them; calls of one instance run one after another.
 *
 * Redriving publishes each chosen message, with its body and properties, to the consumer queue
 * (attempt and reorder counters cleared, `x-redriven-at` set) as a mandatory, persistent message
 * on a confirm channel, and acknowledges the parked copy only once the broker confirmed the new
 * one and did not return it as unroutable. The consumer queue is declared first, so one deleted by
 * hand comes back. A message id names the integration event, so the consumer's inbox drops a
 * redriven message whose event it applied meanwhile.
 */
export class DeadLetterQueue {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly settings: DeadLetterQueueSettings) {}

  get name(): string {
    return this.settings.topology.deadLetterQueue;
  }

  /**
   * The parked messages, oldest first, at most `limit` of them, and how many the queue held when
   * the listing began (`total`, its ready messages). Rejects with BrokerUnavailableError.
   */
  list(limit = Number.POSITIVE_INFINITY): Promise<{ total: number; messages: DeadLetter[] }> {
    return this.exclusively(async (channel) => {
      const { messageCount: total } = await channel.checkQueue(this.name);
      const taken = await this.take(channel, limit);
      return { total, messages: taken.map(describeDeadLetter) };
    });
  }

  /** Sends the selected parked messages back into processing (see the class). Rejects with BrokerUnavailableError. */
  redrive(selection: RedriveSelection): Promise<RedriveOutcome> {
    return this.exclusively(async (channel) => {
      const parked = await this.take(channel, Number.POSITIVE_INFINITY);
      const chosen = 'all' in selection ? parked : parked.filter((message) => describeDeadLetter(message).messageId === selection.messageId);
      if (chosen.length === 0) return { matched: 0, redriven: 0, stillParked: 0 };
      const { topology } = this.settings;
      await declareTopology(channel, topology);
      const returned = returnedMessagesOf(channel);
      const redrivenAt = new Date().toISOString();
      const sent = chosen.map((message) => {
        const { properties, content } = message;
        const republishId = randomUUID();
        const headers: Record<string, unknown> = { ...properties.headers, 'x-redriven-at': redrivenAt, [REPUBLISH_ID_HEADER]: republishId };
        delete headers[ATTEMPTS_HEADER];
        delete headers[REORDER_WAITS_HEADER];
        channel.publish('', topology.consumerQueue, content, { ...properties, headers, persistent: true, mandatory: true });
        return { message, republishId };
      });
      await channel.waitForConfirms();
      // Not acknowledged: closing the channel leaves them parked.
      const delivered = sent.filter(({ republishId }) => !returned.has(republishId));
      for (const { message } of delivered) channel.ack(message);
      return { matched: chosen.length, redriven: delivered.length, stillParked: chosen.length - delivered.length };
    });
  }

  /** Up to `limit` parked messages, taken without acknowledging them. */
  private async take(channel: ConfirmChannel, limit: number): Promise<GetMessage[]> {
    const taken: GetMessage[] = [];
    while (taken.length < limit) {
      const message = await channel.get(this.name, { noAck: false });
      if (!message) break;
      taken.push(message);
    }
    return taken;
  }

  /** Runs `work` on a confirm channel of a connection of its own, after the calls before it; closing both gives back what was not acknowledged. */
  private exclusively<T>(work: (channel: ConfirmChannel) => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      let connection: amqp.ChannelModel;
      try {
        connection = await amqp.connect(this.settings.url, { timeout: this.settings.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS });
      } catch (error) {
        throw new BrokerUnavailableError(error);
      }
      // A channel or connection the broker closes emits 'error' first; the failing call rejects anyway.
      connection.on('error', () => undefined);
      try {
        const channel = await connection.createConfirmChannel();
        channel.on('error', () => undefined);
        const result = await work(channel);
        await channel.close();
        return result;
      } finally {
        await connection.close().catch(() => undefined);
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}

export function describeDeadLetter(message: GetMessage): DeadLetter {
  const headers = message.properties.headers ?? {};
  const text = (value: unknown) => (value === undefined || value === null || value === '' ? null : String(value));
  return {
    messageId: String(message.properties.messageId ?? '(none)'),
    type: String(message.properties.type ?? headers[ORIGINAL_ROUTING_KEY_HEADER] ?? '(unknown)'),
    attempts: Number(headers[ATTEMPTS_HEADER] ?? 0),
    deadLetteredAt: text(headers[DEAD_LETTERED_AT_HEADER]),
    lastError: text(headers[LAST_ERROR_HEADER]),
  };
}
