import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Logger } from '@nestjs/common';
import type { ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { CLOUD_EVENTS_PROPERTY_PREFIX, INTEGRATION_EVENT_CONTRACTS, type IntegrationEnvelope, InvalidIntegrationEventError, openCloudEvent } from '../../contracts';
import { type LogContext, withLogContext } from '../../logging/log-context';
import { BrokerTopology, declareTopology } from '../../messaging/broker-topology';
import { MetricsRegistry } from '../../metrics/metrics-registry';
import { Inbox, InboxOutcome } from '../inbox/inbox';
import { classifyFailure, isClosedChannelError, PublishRefusedError } from '../../shared/failure-classification';
import { inDeliverySpan } from './delivery-span';
import { claimedTypeOf, DeliveryMetrics } from './delivery.metrics';
import { InFlightDeliveries } from './in-flight-deliveries';
import {
  ATTEMPTS_HEADER,
  DEAD_LETTERED_AT_HEADER,
  LAST_ERROR_HEADER,
  ORIGINAL_ROUTING_KEY_HEADER,
  REORDER_WAITS_HEADER,
} from '../../messaging/message-headers';
import { REPUBLISH_ID_HEADER, returnedMessagesOf } from '../../messaging/returned-messages';
import { countHeader, originalRoutingKey, writableHeaders, writableTimestamp } from './republish-headers';

/** ~20 s at the reorder queue's 200 ms: an earlier event that has not come by then is a failure. */
const MAX_REORDER_WAITS = 100;
/** Pauses between tries while the infrastructure fails: doubling from the first, capped. */
const OUTAGE_FIRST_PAUSE_MS = 250;
const OUTAGE_MAX_PAUSE_MS = 5_000;

export class DeliverySettings {
  constructor(
    readonly topology: BrokerTopology,
    readonly maxAttempts: number,
    readonly inFlight: InFlightDeliveries = new InFlightDeliveries(),
  ) {}
}

/** A delivery held through an outage that gave up because the consumer is stopping. */
class ConsumerStoppingError extends Error {}

/** RabbitMQ confirmed a republish it could route to no queue (the queue is missing). */
class UnroutableRepublishError extends Error {}

/** amqplib refused to encode a republish's properties (its headers): a fault of the message, never retried as is. */
class UnwritableMessageError extends Error {
  constructor(cause: unknown) {
    super('amqplib cannot encode the message properties', { cause });
    this.name = 'UnwritableMessageError';
  }
}

/**
 * Decides what happens to one delivery and always settles it itself (Nest leaves a message
 * unacked when a handler throws): ack once the inbox committed; park an invalid message at once;
 * send a message that failed on its own to the retry queue for its attempt, or park it after the
 * last attempt. A failure of the infrastructure (PostgreSQL unreachable, a serialization
 * conflict, RabbitMQ refusing a republish) is no attempt: the delivery is held, unacked, and the
 * same step is tried again after a pause until it answers, so an outage of any length parks
 * nothing. A message is republished and confirmed BEFORE the original is acked, so a crash in
 * between duplicates it (the inbox drops duplicates) but never loses it.
 */
@Injectable()
export class DeliveryHandler {
  private readonly logger = new Logger(DeliveryHandler.name);
  /** Deliveries held right now because the infrastructure fails. */
  private held = 0;

  constructor(
    private readonly inbox: Inbox,
    private readonly settings: DeliverySettings,
    // Nest injects the app's; a handler built alone (tests of settlement) counts into a registry of its own.
    private readonly metrics: DeliveryMetrics = new DeliveryMetrics(new MetricsRegistry()),
  ) {}

  handle(body: unknown, message: ConsumeMessage, channel: ConfirmChannel): Promise<void> {
    return this.settings.inFlight.track(inDeliverySpan(body, message, () => this.process(body, message, channel)));
  }

  private async process(body: unknown, message: ConsumeMessage, channel: ConfirmChannel): Promise<void> {
    let opened: ReturnType<typeof openCloudEvent>;
    try {
      opened = openCloudEvent(body, INTEGRATION_EVENT_CONTRACTS, message.properties.headers);
    } catch (error) {
      const reason = `invalid event: ${error instanceof InvalidIntegrationEventError ? error.message : describe(error)}`;
      const park = () => this.settle(message, channel, message.properties.messageId ?? '(no id)', () => this.park(message, channel, claimedTypeOf(message), reason));
      const context = logContextOfMessage(message);
      return context ? withLogContext(context, park) : park();
    }
    // Every line about this delivery, down to the projections, carries the event's fields.
    return withLogContext(logContextOfEnvelope(opened.envelope), () => this.apply(opened, message, channel));
  }

  private apply({ envelope, data, sequence }: ReturnType<typeof openCloudEvent>, message: ConsumeMessage, channel: ConfirmChannel): Promise<void> {
    return this.settle(message, channel, envelope.id, async () => {
      let outcome: InboxOutcome;
      try {
        outcome = await this.throughOutages(envelope.id, () =>
          this.inbox.receive({ eventId: envelope.id, type: envelope.type, streamId: envelope.subject, sequence, time: envelope.time, data }),
        );
      } catch (error) {
        if (error instanceof ConsumerStoppingError || isClosedChannelError(error)) throw error;
        return this.retryOrPark(message, channel, envelope.type, error, envelope.id);
      }
      if (outcome === 'too-early') return this.waitForEarlierEvent(message, channel, envelope.type, envelope.id);
      channel.ack(message);
      this.metrics.processed(envelope.type, outcome);
      this.logger.debug(`${envelope.type} ${envelope.id}: ${outcome}, acked`);
    });
  }

  /**
   * Runs the settlement. When the channel closed meanwhile (the consumer is stopping, the broker
   * went away) no settlement is possible and none is needed: the message stays unacked, the
   * broker delivers it again, and the inbox recognises what was applied already. When the
   * consumer stops while the delivery is held through an outage, it is handed back (nack,
   * requeue) rather than left unsettled.
   */
  private async settle(message: ConsumeMessage, channel: ConfirmChannel, eventId: string, settlement: () => Promise<void>): Promise<void> {
    try {
      await settlement();
    } catch (error) {
      if (error instanceof ConsumerStoppingError) {
        this.logger.warn(`stopping while ${eventId} waits for the infrastructure; handing it back to the broker`);
        try {
          channel.nack(message, false, true);
        } catch (nackError) {
          if (!isClosedChannelError(nackError)) throw nackError;
        }
        return;
      }
      if (!isClosedChannelError(error)) throw error;
      this.logger.warn(`channel closed before ${eventId} was settled; the broker will deliver it again`);
    }
  }

  /**
   * `step()`, tried again after a growing pause for as long as it fails because of the
   * infrastructure; a failure of the message itself is thrown at once. Throws
   * ConsumerStoppingError when the consumer stops meanwhile, and a closed-channel error as is.
   */
  private async throughOutages<T>(eventId: string, step: () => Promise<T>): Promise<T> {
    let pause = OUTAGE_FIRST_PAUSE_MS;
    let holding = false;
    let answered = false;
    try {
      for (;;) {
        try {
          const result = await step();
          answered = true;
          return result;
        } catch (error) {
          if (isClosedChannelError(error) || classifyFailure(error) === 'message') throw error;
          if (!holding) {
            holding = true;
            if (this.held++ === 0) {
              this.logger.warn(`infrastructure failure, holding deliveries and retrying until it answers: ${describe(error)}`);
            }
          }
          this.logger.debug(`holding ${eventId}, next try in ${pause} ms: ${describe(error)}`);
        }
        const { stopping } = this.settings.inFlight;
        if (stopping.aborted) throw new ConsumerStoppingError();
        await sleep(pause, undefined, { signal: stopping }).catch(() => undefined);
        if (stopping.aborted) throw new ConsumerStoppingError();
        pause = Math.min(pause * 2, OUTAGE_MAX_PAUSE_MS);
      }
    } finally {
      if (holding && --this.held === 0 && answered) this.logger.log('the infrastructure answers again; held deliveries resumed');
    }
  }

  private async waitForEarlierEvent(message: ConsumeMessage, channel: ConfirmChannel, type: string, eventId: string): Promise<void> {
    const waits = countHeader(message.properties.headers?.[REORDER_WAITS_HEADER]) + 1;
    if (waits > MAX_REORDER_WAITS) {
      return this.retryOrPark(message, channel, type, new Error('an earlier event of this aggregate never arrived'), eventId);
    }
    await this.republish(channel, message, this.settings.topology.reorderQueue.name, { [REORDER_WAITS_HEADER]: waits }, eventId);
    channel.ack(message);
  }

  /** `type`: the event's CloudEvent type, for the metrics. */
  private async retryOrPark(message: ConsumeMessage, channel: ConfirmChannel, type: string, error: unknown, eventId: string): Promise<void> {
    const attempts = countHeader(message.properties.headers?.[ATTEMPTS_HEADER]) + 1;
    const lastError = describe(error);
    if (attempts >= this.settings.maxAttempts) return this.park(message, channel, type, lastError, attempts, eventId);
    const { retryQueues } = this.settings.topology;
    const queue = retryQueues[Math.min(attempts - 1, retryQueues.length - 1)];
    this.logger.warn(`attempt ${attempts} of ${eventId} failed, retrying in ${queue.delayMs} ms: ${lastError}`);
    await this.republish(channel, message, queue.name, { [ATTEMPTS_HEADER]: attempts, [LAST_ERROR_HEADER]: lastError }, eventId);
    channel.ack(message);
    this.metrics.retried(type);
  }

  private async park(
    message: ConsumeMessage,
    channel: ConfirmChannel,
    type: string,
    lastError: string,
    attempts?: number,
    eventId: string | undefined = message.properties.messageId,
  ): Promise<void> {
    this.logger.error(`parking ${eventId ?? '(no id)'} in the dead-letter queue: ${lastError}`);
    await this.republish(channel, message, this.settings.topology.deadLetterQueue, {
      [ATTEMPTS_HEADER]: attempts ?? countHeader(message.properties.headers?.[ATTEMPTS_HEADER]),
      [LAST_ERROR_HEADER]: lastError,
      [DEAD_LETTERED_AT_HEADER]: new Date().toISOString(),
    }, eventId);
    channel.ack(message);
    this.metrics.deadLettered(type);
  }

  /**
   * Through the default exchange straight into `queue`, keeping the original properties,
   * mandatory and confirmed. A refusal (nack) is a failure of the broker, and so is a return:
   * RabbitMQ confirms a message it could not route too, so without `mandatory` a retry, reorder or
   * dead-letter queue deleted by hand would swallow the message while the original is acked. A
   * returned republish declares the topology again (re-creating the queue) before it is tried
   * again; both are tried until the message is taken. Headers amqplib cannot write again (it
   * throws before sending anything) are a fault of the message, not of the broker: it is
   * republished once more with the part of its headers that can be written (writableHeaders).
   */
  private async republish(
    channel: ConfirmChannel,
    message: ConsumeMessage,
    queue: string,
    headers: Record<string, unknown>,
    eventId: string | undefined,
  ): Promise<void> {
    const { properties, fields } = message;
    const ours = { [ORIGINAL_ROUTING_KEY_HEADER]: originalRoutingKey(properties.headers, fields.routingKey), ...headers };
    const options: Options.Publish = {
      persistent: true,
      messageId: properties.messageId ?? eventId,
      type: properties.type,
      contentType: properties.contentType,
      timestamp: writableTimestamp(properties.timestamp),
      headers: { ...properties.headers, ...ours },
    };
    try {
      await this.publishUntilTaken(channel, message, queue, options, eventId);
    } catch (error) {
      if (!(error instanceof UnwritableMessageError)) throw error;
      this.logger.warn(`${eventId ?? '(no id)'}: amqplib cannot write its headers again (${describe(error.cause)}); republishing it with those it can`);
      await this.publishUntilTaken(channel, message, queue, { ...options, headers: { ...writableHeaders(properties.headers), ...ours } }, eventId);
    }
  }

  private publishUntilTaken(channel: ConfirmChannel, message: ConsumeMessage, queue: string, options: Options.Publish, eventId: string | undefined): Promise<void> {
    const returned = returnedMessagesOf(channel);
    return this.throughOutages(eventId ?? '(no id)', async () => {
      const republishId = randomUUID();
      try {
        await new Promise<void>((resolve, reject) => {
          const attempt = { ...options, mandatory: true, headers: { ...options.headers, [REPUBLISH_ID_HEADER]: republishId } };
          try {
            channel.publish('', queue, message.content, attempt, (error) => {
              if (returned.delete(republishId)) reject(new UnroutableRepublishError(`returned as unroutable: no queue ${queue}`));
              else if (error) reject(error);
              else resolve();
            });
          } catch (error) {
            // Thrown before anything was sent: amqplib could not encode the properties.
            reject(isClosedChannelError(error) ? error : new UnwritableMessageError(error));
          }
        });
      } catch (error) {
        if (isClosedChannelError(error) || error instanceof UnwritableMessageError) throw error;
        if (error instanceof UnroutableRepublishError) {
          this.logger.warn(`RabbitMQ has no queue ${queue}: declaring the topology again before the next try`);
          await declareTopology(channel, this.settings.topology).catch(() => undefined);
        }
        throw new PublishRefusedError(queue, error);
      }
    });
  }
}

/** The fields of a consumed event for its log lines: its CloudEvents id, type, subject and our extensions. */
function logContextOfEnvelope(envelope: IntegrationEnvelope): LogContext {
  return {
    correlationId: envelope.correlationid,
    causationId: envelope.causationid,
    eventId: envelope.id,
    eventType: envelope.type,
    streamId: envelope.subject,
  };
}

/**
 * What a message that is no valid event still tells (the relay's AMQP properties and headers), if
 * its correlation id is among it: `cloudEvents:correlationid`, or `correlationid` from a relay of
 * an earlier release.
 */
function logContextOfMessage({ properties }: ConsumeMessage): LogContext | undefined {
  const headers = properties.headers ?? {};
  const text = (value: unknown): string | undefined => (typeof value === 'string' && value.length <= 200 ? value : undefined);
  const header = (name: string) => text(headers[`${CLOUD_EVENTS_PROPERTY_PREFIX}${name}`]) ?? text(headers[name]);
  const correlationId = header('correlationid');
  if (!correlationId) return undefined;
  return { correlationId, causationId: header('causationid'), eventId: text(properties.messageId), eventType: text(properties.type) };
}

function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, 1000);
}
