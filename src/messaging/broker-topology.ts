import type { Channel } from 'amqplib';
import { INTEGRATION_EVENT_CONTRACTS } from '../contracts';

export interface RetryQueue {
  name: string;
  delayMs: number;
}

/**
 * Every exchange and queue of the integration-event flow. Both the API (which publishes) and the
 * consumer declare exactly this, so their arguments can never disagree.
 */
export interface BrokerTopology {
  /** Durable topic exchange; routing key = CloudEvents type. */
  exchange: string;
  /** The consumer's quorum queue, bound to every published type. */
  consumerQueue: string;
  /** Failed deliveries wait here (message TTL), then dead-letter back into the consumer queue. */
  retryQueues: RetryQueue[];
  /** A later event of an aggregate that arrived before an earlier one waits here briefly. */
  reorderQueue: RetryQueue;
  /** Parking queue for messages that exhausted their attempts or can never succeed. */
  deadLetterQueue: string;
  /** Redeliveries after which RabbitMQ itself parks a message that keeps crashing consumers. */
  deliveryLimit: number;
}

export function brokerTopology(prefix: string, retryDelaysMs: number[]): BrokerTopology {
  const consumerQueue = `${prefix}.consumer`;
  return {
    exchange: `${prefix}.integration`,
    consumerQueue,
    retryQueues: retryDelaysMs.map((delayMs) => ({ name: `${consumerQueue}.retry.${delayMs}ms`, delayMs })),
    reorderQueue: { name: `${consumerQueue}.reorder`, delayMs: 200 },
    deadLetterQueue: `${consumerQueue}.dead-letter`,
    deliveryLimit: 20,
  };
}

/** Idempotent: declaring the same topology twice changes nothing. */
export async function declareTopology(channel: Channel, topology: BrokerTopology): Promise<void> {
  await channel.assertExchange(topology.exchange, 'topic', { durable: true, arguments: {} });
  await channel.assertQueue(topology.deadLetterQueue, { durable: true, arguments: { 'x-queue-type': 'classic' } });
  await channel.assertQueue(topology.consumerQueue, {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-delivery-limit': topology.deliveryLimit,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': topology.deadLetterQueue,
    },
  });
  for (const type of INTEGRATION_EVENT_CONTRACTS.keys()) {
    await channel.bindQueue(topology.consumerQueue, topology.exchange, type);
  }
  for (const waiting of [...topology.retryQueues, topology.reorderQueue]) {
    await channel.assertQueue(waiting.name, {
      durable: true,
      arguments: {
        'x-queue-type': 'classic',
        'x-message-ttl': waiting.delayMs,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': topology.consumerQueue,
      },
    });
  }
}
