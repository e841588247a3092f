import type { Environment } from '../../config/environment';
import type { ConnectionDemand } from './connection-budget';

/**
 * What one API process may hold open: the pool (DATABASE_POOL_SIZE; the sequencer's and the
 * reactions' transactions, the idempotency claims and every query take their connection from it)
 * plus three sessions of its own, each on a dedicated connection that lives as long as the process:
 * - `LISTEN`: DatabaseNotifications (src/database/database-notifications.ts);
 * - `subscription leases`: the segment locks of every projection and reaction
 *   (src/event-store/segments/subscription-leases.ts), opened once the process listens;
 * - `relay lease`: the relay's leadership lock (SessionAdvisoryLock in
 *   src/messaging/relay/outbox-relay.ts), only with RELAY_ENABLED, held open by the leader and
 *   by every process waiting to take over.
 * Start-up opens one short-lived connection before the pool (ensureDatabaseExists), closed before
 * the pool opens, and one beside it while migrations run (the migration lock's session, closed
 * before anything else takes a connection of the pool); the CLIs are processes of their own.
 */
export function apiConnectionDemand(environment: Pick<Environment, 'DATABASE_POOL_SIZE' | 'RELAY_ENABLED'>): ConnectionDemand {
  return {
    pool: environment.DATABASE_POOL_SIZE,
    sessions: { LISTEN: 1, 'subscription leases': 1, 'relay lease': environment.RELAY_ENABLED ? 1 : 0 },
  };
}
