import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { IntegrationEventPublisher } from '../messaging/integration-event-publisher';
import { OutboxRelay } from '../messaging/relay/outbox-relay';

/** RabbitMQ through the publisher's own connection (no connection per check), and the relay's lag. */
@Injectable()
export class BrokerHealthIndicator {
  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly publisher: IntegrationEventPublisher,
    private readonly outboxRelay: OutboxRelay,
  ) {}

  async rabbitmq() {
    const session = this.indicator.check('rabbitmq');
    if (!(await this.publisher.isConnected())) return session.down({ message: 'not connected to RabbitMQ' });
    // A memory or disk alarm: commands are still accepted and relayed once it clears.
    return session.up({ blocked: this.publisher.blocked });
  }

  /** Informational: events stored but not yet confirmed by the broker. Never fails the check. */
  async relay() {
    const session = this.indicator.check('relay');
    return session.up({ lag: await this.outboxRelay.lag(), relaying: this.outboxRelay.isLeader, inFlight: this.outboxRelay.inFlight });
  }
}
