import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ClientRMQ, type ReadPacket } from '@nestjs/microservices';
import type { Channel } from 'amqplib';
import { lastValueFrom, timeout } from 'rxjs';
import { CLOUD_EVENTS_CONTENT_TYPE } from '../contracts';
import { Environment } from '../config/environment';
import { BrokerTopology, brokerTopology, declareTopology } from './broker-topology';
import { OutgoingIntegrationEvent } from './outgoing-integration-event';

/** Declares the shared topology on every (re)connect before Nest sets the channel up. */
class TopologyDeclaringClientRMQ extends ClientRMQ {
  constructor(
    options: ConstructorParameters<typeof ClientRMQ>[0],
    private readonly topology: BrokerTopology,
  ) {
    super(options);
  }

  override async setupChannel(channel: Channel, resolve: () => void): Promise<void> {
    await declareTopology(channel, this.topology);
    return super.setupChannel(channel, resolve);
  }
}

/**
 * The CloudEvent is the whole message body (structured mode); the AMQP properties say what it is
 * and carry the correlation and causation ids as headers.
 */
const structuredCloudEventSerializer = {
  serialize({ data }: ReadPacket<OutgoingIntegrationEvent>) {
    const { envelope } = data;
    return {
      ...envelope,
      options: {
        messageId: envelope.id,
        type: envelope.type,
        contentType: CLOUD_EVENTS_CONTENT_TYPE,
        timestamp: Math.floor(Date.parse(envelope.time) / 1000),
        persistent: true,
        headers: { correlationid: envelope.correlationid, causationid: envelope.causationid },
      },
    };
  },
};

/**
 * Publishes integration events to the topic exchange through Nest's RMQ client (persistent
 * messages on a confirm channel). `publish` resolves only once the broker confirmed the message.
 */
@Injectable()
export class IntegrationEventPublisher implements OnApplicationShutdown {
  readonly topology: BrokerTopology;
  private readonly client: TopologyDeclaringClientRMQ;
  private readonly timeoutMs: number;
  private closed = false;

  constructor(config: ConfigService<Environment, true>) {
    this.topology = brokerTopology(config.get('BROKER_PREFIX', { infer: true }), config.get('CONSUMER_RETRY_DELAYS_MS', { infer: true }));
    this.timeoutMs = config.get('RELAY_PUBLISH_TIMEOUT_MS', { infer: true });
    this.client = new TopologyDeclaringClientRMQ(
      {
        urls: [config.get('RABBITMQ_URL', { infer: true })],
        // Nest publishes to an exchange only with wildcards (otherwise straight to a queue).
        wildcards: true,
        exchange: this.topology.exchange,
        exchangeType: 'topic',
        persistent: true,
        serializer: structuredCloudEventSerializer,
        socketOptions: { heartbeatIntervalInSeconds: 5, reconnectTimeInSeconds: 1 },
      },
      this.topology,
    );
  }

  /** Rejects when the broker did not confirm within the timeout (the caller retries). */
  async publish(event: OutgoingIntegrationEvent): Promise<void> {
    // After close, ClientRMQ would quietly open a new connection that nobody closes.
    if (this.closed) throw new Error('the publisher is closed');
    await lastValueFrom(this.client.emit(event.routingKey, event).pipe(timeout(this.timeoutMs)), { defaultValue: undefined });
  }

  async isConnected(): Promise<boolean> {
    if (this.closed) return false;
    try {
      await Promise.race([this.client.connect(), new Promise((_, reject) => setTimeout(reject, 1000))]);
      return this.client.unwrap<{ isConnected(): boolean }>().isConnected();
    } catch {
      return false;
    }
  }

  /** After the relay stopped (beforeApplicationShutdown), so nothing publishes any more. */
  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    await this.client.close();
  }
}
