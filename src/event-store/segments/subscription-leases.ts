import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Client } from 'pg';
import { endConnection } from '../../database/end-connection';
import { boundedLeaseStatements, connectLeaseSession, leaseSessionClient, processLabel } from '../../database/lease-session';
import { Signal } from '../sequencing/signal';
import { segmentLockCondition } from './segment-locks';
import { LeaseView, planLeases, randomOf } from './segments';

/** Another process joined or gave segments back: look now rather than at the next turn. */
export const SUBSCRIPTION_LEASES_CHANNEL = 'subscription_leases';

export interface SubscriptionLeasesOptions {
  databaseUrl: string;
  /** How often a process that does not hold every segment looks for free ones (the failover bound). */
  lookMs: number;
  /** How often a process holding every segment looks anyway (joins also arrive by NOTIFY). */
  settledLookMs: number;
  /**
   * The lease session's timeout (see connectLeaseSession): a process that stops working, frozen or
   * with its event loop blocked, loses every segment within it; undefined: only when its session ends.
   */
  sessionTimeoutMs?: number;
}

/**
 * The segments of one subscription that this process holds. A subscription asks `beforeBatch()`
 * which segments it may take now (giving back first what the distribution asked it to, between
 * batches), and `holds(segment)` while a batch runs (false at once when the lease session ends).
 */
export class SegmentLease {
  /** Raised when segments were taken, lost, or are to be given back: the subscription looks again. */
  readonly changed = new Signal();
  readonly held = new Set<number>();
  /** Segments the distribution asked back; given back by the next beforeBatch. */
  readonly toRelease = new Set<number>();
  /** Whether this process's membership lock for the subscription is held on the current session. */
  joined = false;
  /** The fair share at the last look: under it, beforeBatch looks itself (a lease taken in time for the batch). */
  share = Infinity;
  /** Counts lease sessions lost: what a subscription knew of its segments' checkpoints before is stale. */
  epoch = 0;
  /** Whether this process took a segment of it before: taking more is then worth a log line. */
  tookBefore = false;

  constructor(
    readonly subscriptionId: string,
    readonly segments: number,
    private readonly leases: SubscriptionLeases,
  ) {}

  /** The advisory lock key: `hashtext(<id>/<segments>)`, the segment as second key; `segments` itself is the membership lock. */
  get key(): string {
    return `${this.subscriptionId}/${this.segments}`;
  }

  /** Whether the segment is still held (one asked back is held until the batch in hand ends). */
  holds(segment: number): boolean {
    return this.held.has(segment);
  }

  /** Whether segments wait to be given back: the subscription should run a batch (beforeBatch) even when idle. */
  get releasing(): boolean {
    return this.toRelease.size > 0;
  }

  /** Gives back what was asked back, looks for free segments when under the fair share; the segments to take now. */
  async beforeBatch(): Promise<number[]> {
    if (this.toRelease.size > 0) await this.leases.release(this);
    if (!this.joined || this.held.size < this.share) await this.leases.look([this]);
    return [...this.held].sort((a, b) => a - b);
  }
}

/**
 * Every segment lease of this process, as session advisory locks on ONE connection (the lease
 * session), the way Marten's async daemon holds the locks of all its projections on one
 * connection: connections are a budget, a lock costs nothing. The lock of segment s of
 * subscription X is `pg_advisory_lock(hashtext('X/S'), s)`; every process taking part in X also
 * holds the shared lock `(hashtext('X/S'), S)`, so one read of `pg_locks` tells how many
 * processes share X and who holds which segment. No table: when a process dies its session ends
 * and PostgreSQL frees its locks at once; a machine that vanishes without closing its sockets is
 * noticed by TCP keepalive, and a process that stops working (frozen, or its event loop blocked)
 * by the session's heartbeat and `idle_session_timeout` (sessionTimeoutMs).
 *
 * Distribution (planLeases): each process takes free segments up to its fair share
 * ceil(S / processes) and gives back, after its current batch, what it holds beyond it. A
 * process that does not hold every segment looks every `lookMs` (so a dead process's segments
 * move within about that); one holding all of them looks every `settledLookMs`, and at once
 * when another process announces itself (NOTIFY subscription_leases).
 */
export class SubscriptionLeases {
  private readonly logger = new Logger(SubscriptionLeases.name);
  /** Names this process's lease session in pg_stat_activity. */
  readonly applicationName = `subscription leases ${randomUUID().slice(0, 8)} ${processLabel()}`.slice(0, 63);
  private readonly leases = new Map<string, SegmentLease>();
  private client?: Client;
  private connecting?: Promise<Client>;
  /** Looks and releases one after another. */
  private turn: Promise<unknown> = Promise.resolve();
  private running?: Promise<void>;
  private stopping = false;
  private readonly wakeup = new Signal();
  private notify?: (payload: string) => Promise<void>;

  constructor(private readonly options: SubscriptionLeasesOptions) {}

  /** The lease of `subscriptionId` split into `segments`. */
  lease(subscriptionId: string, segments: number): SegmentLease {
    const existing = this.leases.get(subscriptionId);
    if (existing) return existing;
    const lease = new SegmentLease(subscriptionId, segments, this);
    this.leases.set(subscriptionId, lease);
    return lease;
  }

  /** Looks now and then (see the class); `announce` tells the other processes to look. */
  start(announce?: (payload: string) => Promise<void>): void {
    if (this.running) return;
    this.stopping = false;
    this.notify = announce;
    // Holders that hold everything look only now and then: tell them a process came.
    void announce?.('joined').catch(() => undefined);
    this.running = this.run();
  }

  /** Called when another process announced a join or a release. */
  wake(): void {
    this.wakeup.raise();
  }

  /** Stops looking and ends the lease session, which frees every lock. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeup.raise();
    await this.running;
    this.running = undefined;
    await this.turn.catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    if (client) await endConnection(client);
    this.dropAll(false);
  }

  /** Reads pg_locks for `leases`, then takes or marks for release what planLeases says. */
  look(leases: readonly SegmentLease[] = [...this.leases.values()]): Promise<void> {
    return this.serially(async () => {
      if (leases.length === 0) return;
      const client = await this.session();
      const notJoined = leases.filter((lease) => !lease.joined);
      if (notJoined.length > 0) {
        await this.refuseCollidingKeys(client);
        await client.query(`SELECT pg_advisory_lock_shared(hashtext(k.key), k.segments) FROM unnest($1::text[], $2::int[]) AS k(key, segments)`, [
          notJoined.map((lease) => lease.key),
          notJoined.map((lease) => lease.segments),
        ]);
        for (const lease of notJoined) lease.joined = true;
        await this.notify?.('joined').catch(() => undefined);
      }
      const { rows } = await client.query<{ i: number; lock: number; pid: number; mine: boolean }>(
        `SELECT k.i::int AS i, l.objid::text::int AS lock, l.pid, l.pid = pg_backend_pid() AS mine
         FROM unnest($1::text[]) WITH ORDINALITY AS k(key, i)
         JOIN pg_locks l ON ${segmentLockCondition('k.key')}`,
        [leases.map((lease) => lease.key)],
      );
      for (const [index, lease] of leases.entries()) {
        const locks = rows.filter((row) => row.i === index + 1);
        const members = new Set(locks.filter((row) => row.lock === lease.segments).map((row) => row.pid));
        const holders = new Map<number, number>();
        for (const row of locks) if (row.lock < lease.segments) holders.set(row.lock, row.pid);
        const myPid = locks.find((row) => row.mine)?.pid;
        const othersHeld = new Map<number, number>();
        for (const [, pid] of holders) if (pid !== myPid) othersHeld.set(pid, (othersHeld.get(pid) ?? 0) + 1);
        const view: LeaseView = {
          segments: lease.segments,
          members: Math.max(1, members.size),
          mine: [...lease.held].filter((segment) => !lease.toRelease.has(segment)),
          others: [...othersHeld.values()],
          free: Array.from({ length: lease.segments }, (_, segment) => segment).filter((segment) => !holders.has(segment)),
        };
        const plan = planLeases(view, randomOf);
        lease.share = Math.ceil(lease.segments / view.members);
        if (plan.release.length > 0) {
          for (const segment of plan.release) lease.toRelease.add(segment);
          lease.changed.raise();
        }
        if (plan.acquire.length > 0) {
          const taken = await client.query<{ segment: number; locked: boolean }>(
            `SELECT s AS segment, pg_try_advisory_lock(hashtext($1), s) AS locked FROM unnest($2::int[]) AS s`,
            [lease.key, plan.acquire],
          );
          const got = taken.rows.filter((row) => row.locked).map((row) => row.segment);
          if (this.client !== client) return;
          // Taking segments is news once the process ran: a handover, a rebalance, a lease session back.
          if (got.length > 0 && lease.tookBefore) this.logger.log(`${lease.subscriptionId}: took segment(s) ${got.join(', ')} of ${lease.segments}`);
          if (got.length > 0) lease.tookBefore = true;
          for (const segment of got) lease.held.add(segment);
          if (got.length > 0) lease.changed.raise();
        }
      }
    });
  }

  /** Gives back the segments asked back (between batches), and tells the others to look. */
  release(lease: SegmentLease): Promise<void> {
    return this.serially(async () => {
      const segments = [...lease.toRelease];
      lease.toRelease.clear();
      if (segments.length === 0) return;
      for (const segment of segments) lease.held.delete(segment);
      const client = this.client;
      if (!client) return;
      await client.query(`SELECT pg_advisory_unlock(hashtext($1), s) FROM unnest($2::int[]) AS s`, [lease.key, segments]);
      this.logger.log(`${lease.subscriptionId}: gave segment(s) ${segments.join(', ')} back for another process`);
      await this.notify?.('released').catch(() => undefined);
    });
  }

  /** Every lease's holdings, for /health: segment → held here. */
  describe(): Array<{ subscriptionId: string; segments: number; held: number[] }> {
    return [...this.leases.values()].map((lease) => ({ subscriptionId: lease.subscriptionId, segments: lease.segments, held: [...lease.held].sort((a, b) => a - b) }));
  }

  /**
   * Two subscriptions whose keys share hashtext() would share their segment locks: the one that
   * looks second sees every segment held by this very session but none in its own lease, and never
   * runs. Deterministic for a pair of ids and silent, so refused (every look, in the logs) instead.
   */
  private async refuseCollidingKeys(client: Client): Promise<void> {
    const leases = [...this.leases.values()];
    const { rows } = await client.query<{ class: number }>(`SELECT hashtext(k) AS class FROM unnest($1::text[]) WITH ORDINALITY AS t(k, i) ORDER BY i`, [
      leases.map((lease) => lease.key),
    ]);
    const byClass = new Map<number, string[]>();
    for (const [index, { class: lockClass }] of rows.entries()) byClass.set(lockClass, [...(byClass.get(lockClass) ?? []), leases[index].subscriptionId]);
    const clash = [...byClass.values()].find((ids) => ids.length > 1);
    if (clash) {
      throw new Error(
        `the subscriptions ${clash.join(' and ')} would share their segment locks (hashtext of '<id>/<segments>' is the same for ` +
          `SUBSCRIPTION_SEGMENTS=${leases[0].segments}): rename one of them, or change SUBSCRIPTION_SEGMENTS`,
      );
    }
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const settled = [...this.leases.values()].every((lease) => lease.joined && lease.held.size === lease.segments && lease.toRelease.size === 0);
      await this.wakeup.wait(settled ? this.options.settledLookMs : this.options.lookMs);
      if (this.stopping) break;
      await this.look().catch((error: unknown) => this.logger.warn(`looking for segments failed: ${String(error)}`));
    }
  }

  /** Runs `work` after the previous look or release; its statements on the lease session are bounded (boundedLeaseStatements). */
  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.turn.then(() => boundedLeaseStatements(work));
    this.turn = next.catch(() => undefined);
    return next;
  }

  private async session(): Promise<Client> {
    if (this.client) return this.client;
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async connect(): Promise<Client> {
    const client = leaseSessionClient(this.options.databaseUrl, this.applicationName, { sessionTimeoutMs: this.options.sessionTimeoutMs });
    const lost = () => {
      if (this.client !== client) return;
      this.client = undefined;
      void endConnection(client);
      this.dropAll(true);
      // Look again now, not after a settled wait (30 s): the segments may be free, this process's
      // readers wait for them, and a look that fails waits lookMs before the next.
      this.wakeup.raise();
    };
    client.on('error', lost);
    client.once('end', lost);
    // A process whose machine vanished loses its session, and with it its segments, within about
    // 25 s; one that stopped working, within sessionTimeoutMs.
    await connectLeaseSession(client, { sessionTimeoutMs: this.options.sessionTimeoutMs });
    this.client = client;
    return client;
  }

  /** The session ended: every lock went with it. */
  private dropAll(unexpectedly: boolean): void {
    for (const lease of this.leases.values()) {
      const had = lease.held.size > 0;
      lease.held.clear();
      lease.toRelease.clear();
      lease.joined = false;
      lease.share = Infinity;
      lease.epoch += 1;
      if (had && unexpectedly) this.logger.warn(`${lease.subscriptionId}: lost its segments (the lease session ended): stops after the events in hand`);
      lease.changed.raise();
    }
  }
}
