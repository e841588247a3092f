/**
 * The PostgreSQL connections one process may hold open at once: its pool when full, plus the
 * sessions it opens outside the pool (by name, e.g. `{ LISTEN: 1 }`).
 */
export interface ConnectionDemand {
  pool: number;
  sessions: Record<string, number>;
}

/** What the server allows, as read from it (readServerConnectionLimits). */
export interface ServerConnectionLimits {
  maxConnections: number;
  superuserReservedConnections: number;
  /** PostgreSQL 16+ `reserved_connections` (for roles with pg_use_reserved_connections); 0 before 16. */
  reservedConnections: number;
  /** Whether the connecting role is a superuser: it may use the reserved slots, and no CONNECTION LIMIT applies to it. */
  superuser: boolean;
  /** The role's CONNECTION LIMIT; -1: none. */
  roleConnectionLimit: number;
  /** The database's CONNECTION LIMIT; -1: none. */
  databaseConnectionLimit: number;
}

export interface ConnectionBudget {
  /** Connections this process may open at once. */
  demand: number;
  /** Connections the server lets this role open to this database, all processes together. */
  available: number;
  /** Which limit `available` comes from, for the log line. */
  limitedBy: string;
  /** How to raise that limit, for the log line's advice. */
  raise: string;
  /** How many processes like this one fit into `available`. */
  processesThatFit: number;
  /**
   * `fits`; `over-share`: more than half of `available`, so no second process like it fits
   * beside it (CONNECTION_SHARE); `over-available`: more than the server allows at all.
   */
  verdict: 'fits' | 'over-share' | 'over-available';
}

/**
 * The share of the server's connections one process may plan to take without a warning: half.
 * Every deployment runs at least two processes of a kind side by side at some point (a rolling
 * deploy starts the new one before stopping the old, a failover starts a second), so a process
 * that alone plans more than half of what the server allows will see its peer, or itself, fail to
 * connect ("sorry, too many clients already") under load. Sizing for N processes is the README's
 * connection budget; this check catches the single process configured past any budget.
 */
export const CONNECTION_SHARE = 1 / 2;

export function connectionDemandOf({ pool, sessions }: ConnectionDemand): number {
  return pool + Object.values(sessions).reduce((sum, count) => sum + count, 0);
}

/**
 * Connections a non-superuser can open: max_connections minus superuser_reserved_connections
 * minus reserved_connections (PostgreSQL docs, "Connections and Authentication"), then bounded by
 * the role's and the database's CONNECTION LIMIT; a superuser may use every slot and has no limit.
 */
export function assessConnectionBudget(demand: ConnectionDemand, limits: ServerConnectionLimits): ConnectionBudget {
  type Limit = [available: number, limitedBy: string, raise: string];
  const raiseMaxConnections = 'raise max_connections';
  const candidates: Limit[] = limits.superuser
    ? [[limits.maxConnections, `max_connections ${limits.maxConnections} (superuser)`, raiseMaxConnections]]
    : [
        [
          limits.maxConnections - limits.superuserReservedConnections - limits.reservedConnections,
          `max_connections ${limits.maxConnections} - superuser_reserved_connections ${limits.superuserReservedConnections}` +
            (limits.reservedConnections > 0 ? ` - reserved_connections ${limits.reservedConnections}` : ''),
          raiseMaxConnections,
        ],
      ];
  if (!limits.superuser && limits.roleConnectionLimit >= 0) {
    candidates.push([limits.roleConnectionLimit, `the role's CONNECTION LIMIT ${limits.roleConnectionLimit}`, "raise the role's CONNECTION LIMIT (ALTER ROLE … CONNECTION LIMIT)"]);
  }
  if (!limits.superuser && limits.databaseConnectionLimit >= 0) {
    candidates.push([
      limits.databaseConnectionLimit,
      `the database's CONNECTION LIMIT ${limits.databaseConnectionLimit}`,
      "raise the database's CONNECTION LIMIT (ALTER DATABASE … CONNECTION LIMIT)",
    ]);
  }
  const [available, limitedBy, raise] = candidates.reduce((lowest, candidate) => (candidate[0] < lowest[0] ? candidate : lowest));
  const need = connectionDemandOf(demand);
  const verdict = need > available ? 'over-available' : need > available * CONNECTION_SHARE ? 'over-share' : 'fits';
  return { demand: need, available: Math.max(0, available), limitedBy, raise, processesThatFit: Math.max(0, Math.floor(available / need)), verdict };
}

/** The start-up line: `warn` unless the verdict is `fits`. */
export function describeConnectionBudget(demand: ConnectionDemand, budget: ConnectionBudget): { level: 'log' | 'warn'; message: string } {
  const parts = [`pool ${demand.pool}`, ...Object.entries(demand.sessions).filter(([, count]) => count > 0).map(([name, count]) => `${name} ${count}`)];
  const figures =
    `this process opens up to ${budget.demand} PostgreSQL connections (${parts.join(', ')}) ` +
    `of the ${budget.available} the server allows (${budget.limitedBy})`;
  switch (budget.verdict) {
    case 'fits':
      return { level: 'log', message: `${figures}: ${budget.processesThatFit} processes like it fit` };
    case 'over-share':
      return {
        level: 'warn',
        message:
          `${figures}: more than half, so a second process like it (a rolling deploy, a failover) cannot fill its pool ` +
          `and connections will be refused under load; lower DATABASE_POOL_SIZE or ${budget.raise} (see the README's connection budget)`,
      };
    case 'over-available':
      return {
        level: 'warn',
        message:
          `${figures}: more than the server allows at all, so this process alone will see connections refused under load; ` +
          `lower DATABASE_POOL_SIZE or ${budget.raise} (see the README's connection budget)`,
      };
  }
}
