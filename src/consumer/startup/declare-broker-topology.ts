import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import amqp from 'amqplib';
import { type BrokerTopology, declareTopology } from '../../messaging/broker-topology';
import { asTopologyMismatch } from './topology-mismatch';

/**
 * Declares the topology once, on a connection of its own, before the consumer starts: a queue the
 * broker holds with other arguments then stops the start with a BrokerTopologyMismatchError
 * (which main.ts prints as one line), instead of an 'error' event nobody listens to inside the
 * RMQ server's channel. Waits for the broker like the RMQ server would (every `retryMs`).
 *
 * @throws BrokerTopologyMismatchError when RabbitMQ refuses a declaration with 406 PRECONDITION_FAILED
 */
export async function declareBrokerTopology(url: string, topology: BrokerTopology, retryMs = 1000): Promise<void> {
  const logger = new Logger('BrokerTopology');
  const connection = await connectWhenReachable(url, retryMs, logger);
  // A refused declaration closes its channel (and may close the connection) with an 'error'
  // event besides rejecting the declare; the rejection is what this function reports.
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    try {
      await declareTopology(channel, topology);
    } catch (error) {
      throw asTopologyMismatch(error) ?? error;
    }
    await channel.close();
  } finally {
    await connection.close().catch(() => undefined);
  }
}

async function connectWhenReachable(url: string, retryMs: number, logger: Logger): Promise<amqp.ChannelModel> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await amqp.connect(url);
    } catch (error) {
      if (attempt === 0) {
        const reason = error instanceof Error ? error.message : String(error);
        logger.warn(`broker at ${withoutCredentials(url)} not reachable (${reason}); retrying every ${retryMs} ms`);
      }
      await sleep(retryMs);
    }
  }
}

function withoutCredentials(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || (parsed.protocol === 'amqps:' ? 5671 : 5672)}`;
}
