import type { Client } from 'pg';
import { endConnection } from './end-connection';
import { boundedLeaseStatements, connectLeaseSession, leaseSessionClient, processLabel } from './lease-session';

/**
 * The SQL condition on a `pg_locks` row aliased `l` that makes it the granted lock of the
 * SessionAdvisoryLock whose key is the SQL text expression `keySql`, in this database:
 * `pg_advisory_lock(hashtext(key))` takes one bigint key, shown split into `classid` (its high 32
 * bits) and `objid` (its low 32 bits), objsubid 1.
 */
export function sessionAdvisoryLockCondition(keySql: string): string {
  return `l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND l.classid::text::bigint = (hashtext(${keySql})::bigint >> 32) & 4294967295
    AND l.objid::text::bigint = hashtext(${keySql})::bigint & 4294967295`;
}

/**
 * A lease that lets one process at a time do a piece of work (relay the outbox):
 * a PostgreSQL session-level advisory lock (`pg_try_advisory_lock(hashtext(key))`) held on a
 * connection of its own, the way Marten's async daemon elects the node that runs a projection.
 *
 * The lock lives exactly as long as that session: when the process dies or the connection is
 * cut, PostgreSQL releases it and another process can take it (when its machine vanishes, within
 * about 25 s: leaseSessionClient; when the process stops working, frozen or blocked, within
 * `sessionTimeoutMs`: connectLeaseSession); `held` turns false at once here and `onLost` runs. The connection idles outside any transaction, so it burns no transaction id
 * and holds back no reader. A process that did not get the lock keeps its connection and asks
 * again on the next `tryAcquire` (one statement, no new session).
 */
export class SessionAdvisoryLock {
  private client?: Client;
  private holding = false;
  private attempt?: Promise<boolean>;

  constructor(
    private readonly connectionString: string,
    /** Names the work; advisory locks are per database, so one key per work is enough. */
    readonly key: string,
    private readonly onLost: () => void = () => undefined,
    /** The lease session's timeout (see connectLeaseSession): a process that stops working loses the lock within it; undefined: only when its session ends. */
    private readonly sessionTimeoutMs?: number,
  ) {}

  get held(): boolean {
    return this.holding;
  }

  /** True when this process holds the lock (now or already); false when another one does. Rejects when PostgreSQL cannot be reached. */
  tryAcquire(): Promise<boolean> {
    if (this.holding) return Promise.resolve(true);
    this.attempt ??= this.acquire().finally(() => (this.attempt = undefined));
    return this.attempt;
  }

  /** Gives the lock up by closing its session. */
  async release(): Promise<void> {
    await this.attempt?.catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    this.holding = false;
    if (client) await endConnection(client);
  }

  private async acquire(): Promise<boolean> {
    const client = this.client ?? (await this.connect());
    const { rows } = await boundedLeaseStatements(() => client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [this.key]));
    this.holding = rows[0].locked && this.client === client;
    return this.holding;
  }

  private async connect(): Promise<Client> {
    const client = leaseSessionClient(this.connectionString, `lease ${this.key} ${processLabel()}`, { sessionTimeoutMs: this.sessionTimeoutMs });
    const lost = () => {
      if (this.client !== client) return;
      this.client = undefined;
      const wasHeld = this.holding;
      this.holding = false;
      void endConnection(client);
      if (wasHeld) this.onLost();
    };
    client.on('error', lost);
    client.once('end', lost);
    await connectLeaseSession(client, { sessionTimeoutMs: this.sessionTimeoutMs });
    this.client = client;
    return client;
  }
}
