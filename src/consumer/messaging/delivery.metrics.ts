import { Injectable } from '@nestjs/common';
import type { ConsumeMessage } from 'amqplib';
import { Counter } from 'prom-client';
import { INTEGRATION_EVENT_CONTRACTS } from '../../contracts';
import { MetricsRegistry } from '../../metrics/metrics-registry';
import type { InboxOutcome } from '../inbox/inbox';

/** The `type` label of a message that is no valid event of a known contract: the label set stays bounded. */
export const UNKNOWN_TYPE = 'unknown';

/**
 * What the consumer did with its deliveries, by CloudEvent type:
 * `eda_consumer_messages_processed_total{type, outcome}` (acked after the inbox committed:
 * `applied`, or `duplicate` when it had been applied before), `eda_consumer_messages_retried_total`
 * (sent to a retry queue after a failed attempt) and `eda_consumer_messages_dead_lettered_total`
 * (parked in the dead-letter queue: invalid, or out of attempts). Increments only.
 */
@Injectable()
export class DeliveryMetrics {
  private readonly processedCounter: Counter<'type' | 'outcome'>;
  private readonly retriedCounter: Counter<'type'>;
  private readonly deadLetteredCounter: Counter<'type'>;

  constructor(registry: MetricsRegistry) {
    this.processedCounter = new Counter({
      name: 'eda_consumer_messages_processed_total',
      help: 'Integration events the consumer acked once its inbox committed, by type and outcome (applied, duplicate)',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    });
    this.retriedCounter = new Counter({
      name: 'eda_consumer_messages_retried_total',
      help: 'Integration events sent to a retry queue after a failed attempt, by type',
      labelNames: ['type'],
      registers: [registry],
    });
    this.deadLetteredCounter = new Counter({
      name: 'eda_consumer_messages_dead_lettered_total',
      help: 'Messages parked in the dead-letter queue (invalid, or out of attempts), by type (unknown when not a known event type)',
      labelNames: ['type'],
      registers: [registry],
    });
  }

  processed(type: string, outcome: Exclude<InboxOutcome, 'too-early'>): void {
    this.processedCounter.inc({ type, outcome });
  }

  retried(type: string): void {
    this.retriedCounter.inc({ type });
  }

  deadLettered(type: string): void {
    this.deadLetteredCounter.inc({ type: INTEGRATION_EVENT_CONTRACTS.has(type) ? type : UNKNOWN_TYPE });
  }
}

/** The type a message claims (AMQP `type` property) when it names a known contract, else UNKNOWN_TYPE. */
export function claimedTypeOf(message: ConsumeMessage): string {
  const type = message.properties.type as unknown;
  return typeof type === 'string' && INTEGRATION_EVENT_CONTRACTS.has(type) ? type : UNKNOWN_TYPE;
}
