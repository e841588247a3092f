import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import type { IntegrationEnvelope } from '../../contracts';
import { MetricsRegistry } from '../../metrics/metrics-registry';
import { UnroutableMessageError } from '../publishing/publish-errors';

type Outcome = 'confirmed' | 'returned' | 'failed';

/**
 * What the outbox relay of this process sent, by CloudEvent type: `eda_relay_messages_published_total`
 * (handed to the publisher), and how each ended: `_confirmed_total` (acked and routed),
 * `_returned_total` (confirmed but routed to no queue: UnroutableMessageError) or `_failed_total`
 * (nacked, no confirm in time, channel lost, broker unreachable). Published minus the three
 * is what is in flight. A message the relay sends again after a failure counts again.
 */
@Injectable()
export class RelayMetrics {
  private readonly published: Counter<'type'>;
  private readonly ended: Record<Outcome, Counter<'type'>>;

  constructor(registry: MetricsRegistry) {
    const counter = (name: string, help: string) => new Counter({ name, help, labelNames: ['type'], registers: [registry] });
    this.published = counter('eda_relay_messages_published_total', 'Integration events the relay handed to the publisher, by type');
    this.ended = {
      confirmed: counter('eda_relay_messages_confirmed_total', 'Integration events the broker confirmed and routed, by type'),
      returned: counter('eda_relay_messages_returned_total', 'Integration events the broker returned as unroutable (no queue bound), by type'),
      failed: counter('eda_relay_messages_failed_total', 'Integration events whose publish failed (nack, confirm timeout, channel lost), by type'),
    };
  }

  /** Runs `publish` (which sends `message`), counted: published now, then confirmed, returned or failed. */
  async counted(envelope: IntegrationEnvelope, publish: () => Promise<void>): Promise<void> {
    const type = envelope.type;
    this.published.inc({ type });
    try {
      await publish();
    } catch (error) {
      this.ended[error instanceof UnroutableMessageError ? 'returned' : 'failed'].inc({ type });
      throw error;
    }
    this.ended.confirmed.inc({ type });
  }
}
