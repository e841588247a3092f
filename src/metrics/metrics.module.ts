import { Global, Module } from '@nestjs/common';
import { DatabasePoolMetrics } from './database-pool-metrics';
import { HttpMetrics } from './http-metrics';
import { MetricsController } from './metrics.controller';
import { MetricsRegistry } from './metrics-registry';

/**
 * `GET /metrics` and this app's registry, which every feature injects to register its own
 * metrics next to the code they measure; the HTTP and database-pool metrics every app has.
 * Imported by the API and by the consumer app; needs TypeORM's default DataSource.
 */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [{ provide: MetricsRegistry, useFactory: () => new MetricsRegistry() }, HttpMetrics, DatabasePoolMetrics],
  exports: [MetricsRegistry, HttpMetrics],
})
export class MetricsModule {}
