import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { MetricsRegistry, SCRAPE_QUERY_TIMEOUT_MS } from '../../metrics/metrics-registry';
import { withinTimeLimit } from '../../shared/time-limit';
import { describeError } from '../subscription/subscription-failures';
import { DurableReactions } from './durable-reactions';

/**
 * `eda_reactions_parked{reaction}`: reaction steps set aside after their last attempt, waiting
 * for an operator (`npm run parked-reactions`), counted at scrape time (one query on a table
 * that is empty when all is well). Every reaction in this code shows, at 0 when none is parked;
 * none shows when the count fails or takes over SCRAPE_QUERY_TIMEOUT_MS.
 */
@Injectable()
export class ParkedReactionsMetrics {
  private readonly logger = new Logger(ParkedReactionsMetrics.name);

  constructor(registry: MetricsRegistry, @InjectDataSource() dataSource: DataSource, reactions: DurableReactions) {
    const logger = this.logger;
    new Gauge({
      name: 'eda_reactions_parked',
      help: 'Reaction steps parked after their last attempt, waiting for an operator',
      labelNames: ['reaction'],
      registers: [registry],
      async collect() {
        let rows: Array<{ reaction: string; parked: number }>;
        try {
          rows = await withinTimeLimit(
            dataSource.query(`SELECT reaction, count(*)::int AS parked FROM parked_reactions GROUP BY reaction`),
            SCRAPE_QUERY_TIMEOUT_MS,
            'PostgreSQL',
          );
        } catch (error) {
          logger.warn(`cannot count the parked reactions for /metrics: ${describeError(error)}`);
          this.reset();
          return;
        }
        this.reset();
        for (const reaction of reactions.subscriptionIds) this.set({ reaction }, 0);
        for (const { reaction, parked } of rows) this.set({ reaction }, parked);
      },
    });
  }
}
