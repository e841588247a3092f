import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { CLOUD_EVENTS_CONTENT_TYPE, type IntegrationEnvelope, toCloudEventsApplicationProperties } from '../contracts';
import { Environment } from '../config/environment';
import { outsideLogContext } from '../logging/log-context';
import { BrokerTopology, brokerTopology } from './broker-topology';
import { type AmqpMessage, ConfirmChannelSession } from './publishing/confirm-channel-session';
import { ChannelLostError } from './publishing/publish-errors';

/**
 * The CloudEvent is the whole message body (structured mode); the AMQP properties say what it is,
 * and its attributes travel again as `cloudEvents:<attribute>` headers (the CloudEvents AMQP
 * binding's application properties), for routing and filtering without parsing the body. The
 * routing key is the CloudEvent `type` (one topic exchange, routing keys by type).
 */
export function toAmqpMessage(envelope: IntegrationEnvelope): AmqpMessage {
  return {
    routingKey: envelope.type,
    content: Buffer.from(JSON.stringify(envelope)),
    properties: {
      messageId: envelope.id,
      type: envelope.type,
      contentType: CLOUD_EVENTS_CONTENT_TYPE,
      timestamp: Math.floor(Date.parse(envelope.time) / 1000),
      persistent: true,
      headers: toCloudEventsApplicationProperties(envelope),
    },
  };
}

/** What a publisher needs to know: where the broker is, the topology, and how long a confirm may take. */
export interface PublisherSettings {
  url: string;
  topology: BrokerTopology;
  /** A confirm overdue this long (ms) while the connection is not blocked breaks the channel. */
  confirmTimeoutMs: number;
}

export function publisherSettings(environment: Pick<Environment, 'RABBITMQ_URL' | 'BROKER_PREFIX' | 'CONSUMER_RETRY_DELAYS_MS' | 'RELAY_PUBLISH_TIMEOUT_MS'>): PublisherSettings {
  return {
    url: environment.RABBITMQ_URL,
    topology: brokerTopology(environment.BROKER_PREFIX, environment.CONSUMER_RETRY_DELAYS_MS),
    confirmTimeoutMs: environment.RELAY_PUBLISH_TIMEOUT_MS,
  };
}

/**
 * Publishes integration events to the topic exchange as mandatory, persistent messages on an
 * amqplib confirm channel, one confirm per message. It replaces Nest's ClientRMQ, which could
 * neither see a basic.return per message nor bound what amqp-connection-manager buffers while
 * disconnected: here nothing is buffered beyond what the caller has in flight, and a message is
 * only confirmed when the broker acked it AND routed it to a queue.
 *
 * `publish` resolves on the broker's ack; it rejects with UnroutableMessageError (no queue bound:
 * the topology is declared again, so a retry is routed), PublishTimeoutError (no confirm while not
 * blocked: the connection is replaced), or ChannelLostError. While RabbitMQ blocks the
 * connection (memory or disk alarm) `publish` waits without writing and without a timeout; the
 * caller bounds how many publishes it has pending (the relay's window). The connection is opened
 * lazily and opened again after any failure; the caller retries with back-off.
 * Used by the relay and by `npm run republish-events` alike.
 */
export class ConfirmingPublisher {
  readonly topology: BrokerTopology;
  protected readonly logger = new Logger('IntegrationEventPublisher');
  private current?: ConfirmChannelSession;
  private opening?: Promise<ConfirmChannelSession>;
  private closed = false;
  /** Messages written to the broker since start (each attempt counts), for tests and diagnostics. */
  sentCount = 0;

  constructor(private readonly settings: PublisherSettings) {
    this.topology = settings.topology;
  }

  /** Connects (and declares the topology) early; resolves false when the broker is not reachable now. */
  connect(): Promise<boolean> {
    return this.session().then(
      () => true,
      (error: unknown) => {
        this.logger.warn(`RabbitMQ is not reachable yet: ${String(error)}`);
        return false;
      },
    );
  }

  /** Publishes `envelope` as toAmqpMessage builds it; resolves on its confirm (errors above). */
  async publish(envelope: IntegrationEnvelope): Promise<void> {
    const session = await this.session();
    await session.whenUnblocked();
    if (this.closed) throw new ChannelLostError('the publisher is closed');
    this.sentCount += 1;
    await session.publish(toAmqpMessage(envelope));
  }

  /** True when RabbitMQ blocks the publishing connection (memory or disk alarm). */
  get blocked(): boolean {
    return this.current?.blocked ?? false;
  }

  async isConnected(): Promise<boolean> {
    if (this.closed) return false;
    try {
      await Promise.race([this.session(), new Promise((_, reject) => setTimeout(reject, 1000).unref())]);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Messages parked in the consumer's dead-letter queue (the topology's `deadLetterQueue`), read on
   * the publishing connection without opening one; rejects when not connected to RabbitMQ.
   */
  deadLetterDepth(): Promise<number> {
    if (this.closed || !this.current || this.current.isBroken) return Promise.reject(new ChannelLostError('not connected to RabbitMQ'));
    return this.current.messagesIn(this.topology.deadLetterQueue);
  }

  /** Settles every publish still waiting for a confirm as failed (the caller re-sends them later). */
  abandonInFlight(reason: string): void {
    this.current?.break(new ChannelLostError(reason));
  }

  async close(): Promise<void> {
    this.closed = true;
    const session = this.current ?? (await this.opening?.catch(() => undefined));
    await session?.close(new ChannelLostError('the publisher is closed'));
  }

  private session(): Promise<ConfirmChannelSession> {
    if (this.closed) return Promise.reject(new ChannelLostError('the publisher is closed'));
    if (this.current && !this.current.isBroken) return Promise.resolve(this.current);
    // Outside the log context of the publish that happens to open it: the connection's own lines
    // (blocked, unblocked, returned) concern every message on it.
    this.opening ??= outsideLogContext(() =>
      ConfirmChannelSession.open({
        ...this.settings,
        heartbeatSeconds: 5,
        logger: this.logger,
      }),
    )
      .then((session) => {
        if (this.closed) {
          void session.close(new ChannelLostError('the publisher is closed'));
          throw new ChannelLostError('the publisher is closed');
        }
        this.current = session;
        return session;
      })
      .finally(() => (this.opening = undefined));
    return this.opening;
  }
}

/** The API's publisher: settings from the validated environment, connected at start, closed at shutdown. */
@Injectable()
export class IntegrationEventPublisher extends ConfirmingPublisher implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(config: ConfigService<Environment, true>) {
    super(
      publisherSettings({
        RABBITMQ_URL: config.get('RABBITMQ_URL', { infer: true }),
        BROKER_PREFIX: config.get('BROKER_PREFIX', { infer: true }),
        CONSUMER_RETRY_DELAYS_MS: config.get('CONSUMER_RETRY_DELAYS_MS', { infer: true }),
        RELAY_PUBLISH_TIMEOUT_MS: config.get('RELAY_PUBLISH_TIMEOUT_MS', { infer: true }),
      }),
    );
  }

  onApplicationBootstrap(): void {
    void this.connect();
  }

  /** After the relay stopped (beforeApplicationShutdown), so nothing publishes any more. */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }
}
