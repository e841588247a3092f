import { Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { MetricsRegistry } from '../../metrics/metrics-registry';
import { IntegrationEventServer } from './integration-event-server';

/**
 * `eda_consumer_dead_letter_queue_messages`: messages parked in the dead-letter queue, waiting for
 * an operator (`npm run dead-letters`), asked of RabbitMQ at scrape time. Absent from a scrape
 * while the broker cannot tell (not connected, no answer within a second).
 */
@Injectable()
export class DeadLetterQueueMetrics {
  constructor(registry: MetricsRegistry, server: IntegrationEventServer) {
    new Gauge({
      name: 'eda_consumer_dead_letter_queue_messages',
      help: 'Messages in the dead-letter queue, waiting for an operator',
      registers: [registry],
      async collect() {
        const count = await server.deadLetterDepth().catch(() => undefined);
        this.reset();
        if (count !== undefined) this.set(count);
      },
    });
  }
}
