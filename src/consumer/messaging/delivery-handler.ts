import { Injectable, Logger } from '@nestjs/common';
import type { ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { INTEGRATION_EVENT_CONTRACTS, InvalidIntegrationEventError, openCloudEvent } from '../../contracts';
import { BrokerTopology } from '../../messaging/broker-topology';
import { Inbox, InboxOutcome } from '../inbox/inbox';
import {
  ATTEMPTS_HEADER,
  DEAD_LETTERED_AT_HEADER,
  LAST_ERROR_HEADER,
  ORIGINAL_ROUTING_KEY_HEADER,
  REORDER_WAITS_HEADER,
} from './message-headers';

/** ~20 s at the reorder queue's 200 ms: an earlier event that has not come by then is a failure. */
const MAX_REORDER_WAITS = 100;

export class DeliverySettings {
  constructor(
    readonly topology: BrokerTopology,
    readonly maxAttempts: number,
  ) {}
}

/**
 * Decides what happens to one delivery and always settles it itself (Nest leaves a message
 * unacked when a handler throws): ack once the inbox committed; park an invalid message at once;
 * send a failed one to the retry queue for its attempt, or park it after the last attempt. A
 * message is republished and confirmed BEFORE the original is acked, so a crash in between
 * duplicates it (the inbox drops duplicates) but never loses it.
 */
@Injectable()
export class DeliveryHandler {
  private readonly logger = new Logger(DeliveryHandler.name);

  constructor(
    private readonly inbox: Inbox,
    private readonly settings: DeliverySettings,
  ) {}

  async handle(body: unknown, message: ConsumeMessage, channel: ConfirmChannel): Promise<void> {
    let opened: ReturnType<typeof openCloudEvent>;
    try {
      opened = openCloudEvent(body, INTEGRATION_EVENT_CONTRACTS);
    } catch (error) {
      const reason = error instanceof InvalidIntegrationEventError ? error.message : String(error);
      return this.settle(message.properties.messageId ?? '(no id)', () => this.park(message, channel, `invalid: ${reason}`));
    }
    const { envelope, data, sequence } = opened;
    let outcome: InboxOutcome;
    try {
      outcome = await this.inbox.receive({
        eventId: envelope.id,
        type: envelope.type,
        streamId: envelope.subject,
        sequence,
        time: envelope.time,
        data,
      });
    } catch (error) {
      return this.settle(envelope.id, () => this.retryOrPark(message, channel, error, envelope.id));
    }
    if (outcome === 'too-early') return this.settle(envelope.id, () => this.waitForEarlierEvent(message, channel, envelope.id));
    return this.settle(envelope.id, async () => channel.ack(message));
  }

  /**
   * Acks, retries or parks. When the channel closed meanwhile (the consumer is stopping, the
   * broker went away) none of that is possible and none is needed: the message stays unacked,
   * the broker delivers it again, and the inbox recognises what was applied already.
   */
  private async settle(eventId: string, settlement: () => Promise<void>): Promise<void> {
    try {
      await settlement();
    } catch (error) {
      if (!isClosedChannelError(error)) throw error;
      this.logger.warn(`channel closed before ${eventId} was settled; the broker will deliver it again`);
    }
  }

  private async waitForEarlierEvent(message: ConsumeMessage, channel: ConfirmChannel, eventId: string): Promise<void> {
    const waits = Number(message.properties.headers?.[REORDER_WAITS_HEADER] ?? 0) + 1;
    if (waits > MAX_REORDER_WAITS) {
      return this.retryOrPark(message, channel, new Error('an earlier event of this aggregate never arrived'), eventId);
    }
    await this.republish(channel, message, this.settings.topology.reorderQueue.name, { [REORDER_WAITS_HEADER]: waits }, eventId);
    channel.ack(message);
  }

  private async retryOrPark(message: ConsumeMessage, channel: ConfirmChannel, error: unknown, eventId: string): Promise<void> {
    const attempts = Number(message.properties.headers?.[ATTEMPTS_HEADER] ?? 0) + 1;
    const lastError = describe(error);
    if (attempts >= this.settings.maxAttempts) return this.park(message, channel, lastError, attempts, eventId);
    const { retryQueues } = this.settings.topology;
    const queue = retryQueues[Math.min(attempts - 1, retryQueues.length - 1)];
    this.logger.warn(`attempt ${attempts} of ${eventId} failed, retrying in ${queue.delayMs} ms: ${lastError}`);
    await this.republish(channel, message, queue.name, { [ATTEMPTS_HEADER]: attempts, [LAST_ERROR_HEADER]: lastError }, eventId);
    channel.ack(message);
  }

  private async park(
    message: ConsumeMessage,
    channel: ConfirmChannel,
    lastError: string,
    attempts?: number,
    eventId: string | undefined = message.properties.messageId,
  ): Promise<void> {
    this.logger.error(`parking ${eventId ?? '(no id)'} in the dead-letter queue: ${lastError}`);
    await this.republish(channel, message, this.settings.topology.deadLetterQueue, {
      [ATTEMPTS_HEADER]: attempts ?? Number(message.properties.headers?.[ATTEMPTS_HEADER] ?? 0),
      [LAST_ERROR_HEADER]: lastError,
      [DEAD_LETTERED_AT_HEADER]: new Date().toISOString(),
    }, eventId);
    channel.ack(message);
  }

  /** Through the default exchange straight into `queue`, keeping the original properties. */
  private republish(
    channel: ConfirmChannel,
    message: ConsumeMessage,
    queue: string,
    headers: Record<string, unknown>,
    eventId: string | undefined,
  ): Promise<void> {
    const { properties, fields } = message;
    const options: Options.Publish = {
      persistent: true,
      messageId: properties.messageId ?? eventId,
      type: properties.type,
      contentType: properties.contentType,
      timestamp: properties.timestamp,
      headers: {
        ...properties.headers,
        [ORIGINAL_ROUTING_KEY_HEADER]: properties.headers?.[ORIGINAL_ROUTING_KEY_HEADER] ?? fields.routingKey,
        ...headers,
      },
    };
    return new Promise((resolve, reject) => {
      channel.publish('', queue, message.content, options, (error) => (error ? reject(error) : resolve()));
    });
  }
}

function isClosedChannelError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'IllegalOperationError' || /channel (closed|closing)/i.test(error.message));
}

function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, 1000);
}
