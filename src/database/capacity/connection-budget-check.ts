import { Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { assessConnectionBudget, type ConnectionBudget, type ConnectionDemand, describeConnectionBudget, type ServerConnectionLimits } from './connection-budget';

/** The server's connection limits for the current role and database (one statement). */
export async function readServerConnectionLimits(dataSource: DataSource): Promise<ServerConnectionLimits> {
  const [row] = await dataSource.query<
    Array<{ max: number; superuser_reserved: number; reserved: number; superuser: boolean; role_limit: number; database_limit: number }>
  >(
    `SELECT current_setting('max_connections')::int AS max,
            current_setting('superuser_reserved_connections')::int AS superuser_reserved,
            coalesce(current_setting('reserved_connections', true)::int, 0) AS reserved,
            r.rolsuper AS superuser, r.rolconnlimit AS role_limit, d.datconnlimit AS database_limit
     FROM pg_roles r, pg_database d
     WHERE r.rolname = current_user AND d.datname = current_database()`,
  );
  return {
    maxConnections: row.max,
    superuserReservedConnections: row.superuser_reserved,
    reservedConnections: row.reserved,
    superuser: row.superuser,
    roleConnectionLimit: row.role_limit,
    databaseConnectionLimit: row.database_limit,
  };
}

/**
 * At start (onApplicationBootstrap, after the migrations), compares what this process may open
 * (`demand`) with what the server allows (assessConnectionBudget) and logs one line: the figures
 * when they fit, a warning when this process alone takes more than its share (CONNECTION_SHARE).
 * It never stops the process: the limit may be raised, or the pool never fill. A failure to read
 * the limits is a warning too.
 */
export class ConnectionBudgetCheck implements OnApplicationBootstrap {
  private readonly logger = new Logger('ConnectionBudget');
  /** The last assessment (undefined until checked, or when the limits could not be read). */
  budget?: ConnectionBudget;

  constructor(
    private readonly dataSource: DataSource,
    readonly demand: ConnectionDemand,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    let limits: ServerConnectionLimits;
    try {
      limits = await readServerConnectionLimits(this.dataSource);
    } catch (error) {
      this.logger.warn(`could not read PostgreSQL's connection limits: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    this.budget = assessConnectionBudget(this.demand, limits);
    const { level, message } = describeConnectionBudget(this.demand, this.budget);
    this.logger[level](message);
  }
}
