import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { IntegrationEventPublisher } from '../messaging/integration-event-publisher';
import { OutboxRelay } from '../messaging/relay/outbox-relay';
import { withinTimeLimit } from '../shared/time-limit';
import { HEALTH_CHECK_TIMEOUT_MS } from './respond-with-health';

/**
 * RabbitMQ as the API sees it, through the publisher's own connection (no connection per check).
 * The broker is not needed to take commands: their events wait in the outbox (the events table)
 * and the relay sends them once RabbitMQ is back. So a broker that cannot be reached, or that
 * blocks the connection (memory or disk alarm), makes the API `degraded`, never down.
 */
@Injectable()
export class BrokerHealthIndicator {
  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly publisher: IntegrationEventPublisher,
    private readonly outboxRelay: OutboxRelay,
  ) {}

  async rabbitmq() {
    const session = this.indicator.check('rabbitmq');
    if (!(await this.publisher.isConnected())) {
      return session.degraded({ connected: false, blocked: false, message: 'not connected to RabbitMQ: commands are accepted, their events wait in the outbox' });
    }
    if (this.publisher.blocked) {
      return session.degraded({ connected: true, blocked: true, message: 'RabbitMQ blocks publishing (memory or disk alarm): events wait in the outbox' });
    }
    return session.up({ connected: true, blocked: false });
  }

  /** Informational: events stored but not yet confirmed by the broker. Never fails the check. */
  async relay() {
    const session = this.indicator.check('relay');
    try {
      const lag = await withinTimeLimit(this.outboxRelay.lag(), HEALTH_CHECK_TIMEOUT_MS, 'PostgreSQL');
      return session.up({ lag, relaying: this.outboxRelay.isLeader, inFlight: this.outboxRelay.inFlight });
    } catch (error) {
      return session.degraded({ message: `cannot read the relay's lag: ${describe(error)}` });
    }
  }

  /** Informational: messages the consumer parked in the dead-letter queue (see `npm run dead-letters`). Never fails the check. */
  async deadLetters() {
    const session = this.indicator.check('deadLetters');
    const queue = this.publisher.topology.deadLetterQueue;
    try {
      // The publisher connects on first use, which may be this very check (rabbitmq(), run beside
      // this one): wait for it, within its time limit, rather than report a connection about to open.
      await this.publisher.isConnected();
      return session.up({ queue, messages: await this.publisher.deadLetterDepth() });
    } catch (error) {
      return session.degraded({ queue, message: `cannot read the dead-letter queue: ${describe(error)}` });
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
