import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import { Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { MetricsRegistry } from './metrics-registry';

/**
 * The pg pool behind TypeORM, read at scrape time (no cost between scrapes):
 * `eda_db_pool_connections_in_use`, `_idle`, `_max` and `eda_db_pool_requests_waiting` (queries
 * waiting for a connection: the pool is too small for the load). Connections outside the pool
 * (LISTEN, leases) are not counted.
 */
@Injectable()
export class DatabasePoolMetrics {
  constructor(registry: MetricsRegistry, @InjectDataSource() dataSource: DataSource) {
    const pool = (): Pool | undefined => (dataSource.isInitialized ? (dataSource.driver as unknown as { master?: Pool }).master : undefined);
    const gauge = (name: string, help: string, read: (pool: Pool) => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          const current = pool();
          if (current) this.set(read(current));
        },
      });
    gauge('eda_db_pool_connections_in_use', 'Connections of the database pool lent out right now', (p) => p.totalCount - p.idleCount);
    gauge('eda_db_pool_connections_idle', 'Open connections of the database pool waiting to be lent', (p) => p.idleCount);
    gauge('eda_db_pool_connections_max', 'Most connections the database pool opens (DATABASE_POOL_SIZE)', (p) => p.options.max ?? 10);
    gauge('eda_db_pool_requests_waiting', 'Requests waiting for a connection of the database pool', (p) => p.waitingCount);
  }
}
