import { ServerRMQ } from '@nestjs/microservices';
import type { Channel } from 'amqplib';
import { BrokerTopology, declareTopology } from '../../messaging/broker-topology';

/** Every delivery goes to the one handler registered for this pattern. */
export const INTEGRATION_EVENT_PATTERN = 'integration-event';

/**
 * Nest's RMQ server on the consumer queue, with manual acks and an explicit prefetch. It declares
 * the shared topology on every (re)connect, and hands every message body, whatever its routing
 * key, to the integration-event handler (which validates it).
 */
export class IntegrationEventServer extends ServerRMQ {
  constructor(
    private readonly topology: BrokerTopology,
    options: { url: string; prefetch: number },
  ) {
    super({
      urls: [options.url],
      queue: topology.consumerQueue,
      noAck: false,
      prefetchCount: options.prefetch,
      // The queue is declared by declareTopology with its full arguments; Nest must not
      // re-declare it with others.
      noAssert: true,
      socketOptions: { heartbeatIntervalInSeconds: 5, reconnectTimeInSeconds: 1 },
      deserializer: {
        deserialize: (body: unknown) => ({ pattern: INTEGRATION_EVENT_PATTERN, data: body }),
      },
    });
  }

  override async setupChannel(channel: Channel, callback: () => void): Promise<void> {
    await declareTopology(channel, this.topology);
    return super.setupChannel(channel, callback);
  }

  isConnected(): boolean {
    try {
      return this.unwrap<{ isConnected(): boolean }>().isConnected();
    } catch {
      return false;
    }
  }
}
