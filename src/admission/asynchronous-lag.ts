import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Environment } from '../config/environment';
import { DurableReactions } from '../event-store/reactions/durable-reactions';
import { Signal } from '../event-store/sequencing/signal';
import { EventSubscriptions } from '../event-store/subscription/event-subscriptions';
import {
  SUBSCRIPTION_STATUS_SQL,
  SubscriptionStatus,
  SubscriptionStatusRow,
  toSubscriptionStatus,
} from '../event-store/subscription/subscription-status';
import { RELAY_CHECKPOINT, relayLeaseKey } from '../messaging/relay/outbox-relay';

/** One reader in a sample: its status as /health shows it, and how fast its checkpoint moved. */
export interface SampledReader extends SubscriptionStatus {
  /** Events per second over the last DRAIN_WINDOW_MS or more; undefined until that much history exists. */
  drainPerSecond?: number;
  /**
   * For a reader that runs in one process at a time under a lease (a reaction, the relay): whether
   * some session holds that lease, i.e. some process runs it. Undefined for the others.
   */
  leaseHeld?: boolean;
}

/**
 * SUBSCRIPTION_STATUS_SQL, plus for each reader with a lease ($1 reader ids, $2 their lease keys)
 * whether a session holds it: SessionAdvisoryLock takes `pg_try_advisory_lock(hashtext(key))`, a
 * bigint key that pg_locks shows split into classid (high 32 bits) and objid (low 32 bits), with
 * objsubid 1.
 */
export const LAG_SAMPLE_SQL = `
  WITH status AS (${SUBSCRIPTION_STATUS_SQL})
  SELECT status.*,
         CASE WHEN lease.key IS NULL THEN NULL ELSE EXISTS (
           SELECT 1 FROM pg_locks l
           WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND l.classid::bigint = (hashtext(lease.key)::bigint >> 32) & 4294967295
             AND l.objid::bigint = hashtext(lease.key)::bigint & 4294967295
         ) END AS "leaseHeld"
  FROM status
  LEFT JOIN unnest($1::text[], $2::text[]) AS lease(reader, key) ON lease.reader = status."subscriptionId"`;

export type LagSample = { ok: true; at: number; readers: SampledReader[] } | { ok: false; at: number; error: unknown };

/** How long sampling goes on after the last demand (a write request, or a decision to shed). */
export const KEEP_SAMPLING_MS = 5_000;
/**
 * A drain rate is measured over at least this long: a reaction's checkpoint follows its work
 * once a second (its low-water mark), so a shorter window sees it stand still, then jump.
 */
export const DRAIN_WINDOW_MS = 1_000;
/** Samples older than this are forgotten. */
const HISTORY_MS = 5_000;

interface Checkpoints {
  at: number;
  positions: Map<string, number>;
}

/**
 * How far the asynchronous side (projections, reactions, the relay) lags behind the writes, for
 * admission control. One statement per sample, the one /health runs
 * (`readSubscriptionStatuses`: indexes only, whatever the store's size), and never per request:
 * at most one sample every ADMISSION_SAMPLE_MS, and only while writes arrive (`demand()`), so an
 * idle API sends nothing.
 *
 * Why the checkpoint table and not this process's memory: a reaction runs in whichever process
 * holds its lease, and the relay in one process only, so most readers' progress is known here
 * only through `subscription_checkpoints` (EventStoreHead has their checkpoints from the safety
 * poll alone, every EVENT_STORE_SAFETY_POLL_MS, 2 s by default, and no event's age at all).
 *
 * Only the readers in this code count (projections, reactions, the relay): a checkpoint row
 * left behind by code that is gone would otherwise lag for ever.
 */
@Injectable()
export class AsynchronousLag implements BeforeApplicationShutdown {
  private readonly sampleMs: number;
  private readonly relayLeaseKey: string;
  private demandedUntil = 0;
  private running?: Promise<void>;
  private stopping = false;
  private readonly stopSignal = new Signal();
  private history: Checkpoints[] = [];
  private listener: (sample: LagSample) => void = () => undefined;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly subscriptions: EventSubscriptions,
    private readonly reactions: DurableReactions,
    config: ConfigService<Environment, true>,
  ) {
    this.sampleMs = config.get('ADMISSION_SAMPLE_MS', { infer: true });
    this.relayLeaseKey = relayLeaseKey(config.get('BROKER_PREFIX', { infer: true }));
  }

  /** Called with every sample, at most every ADMISSION_SAMPLE_MS. */
  onSample(listener: (sample: LagSample) => void): void {
    this.listener = listener;
  }

  /** Keeps sampling for the next KEEP_SAMPLING_MS (starts at once if it had stopped). Costs no query. */
  demand(): void {
    this.demandedUntil = Date.now() + KEEP_SAMPLING_MS;
    if (!this.running && !this.stopping) this.running = this.run();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.stopSignal.raise();
    await this.running;
  }

  /** Takes one sample now. */
  async sample(): Promise<LagSample> {
    const at = Date.now();
    try {
      const leases = new Map([...this.reactions.subscriptionIds.map((id) => [id, id] as const), [RELAY_CHECKPOINT, this.relayLeaseKey] as const]);
      const known = new Set([...this.subscriptions.names, ...leases.keys()]);
      const rows: Array<SubscriptionStatusRow & { leaseHeld: boolean | null }> = await this.dataSource.query(LAG_SAMPLE_SQL, [
        [...leases.keys()],
        [...leases.values()],
      ]);
      const statuses = rows
        .filter((row) => known.has(row.subscriptionId))
        .map((row) => ({ ...toSubscriptionStatus(row), ...(row.leaseHeld !== null && { leaseHeld: row.leaseHeld }) }));
      const current: Checkpoints = { at, positions: new Map(statuses.map((status) => [status.subscriptionId, status.checkpoint])) };
      this.history = [...this.history.filter((earlier) => at - earlier.at <= HISTORY_MS), current];
      const rates = drainRates(this.history, current);
      return { ok: true, at, readers: statuses.map((status) => ({ ...status, drainPerSecond: rates.get(status.subscriptionId) })) };
    } catch (error) {
      return { ok: false, at, error };
    }
  }

  private async run(): Promise<void> {
    try {
      while (!this.stopping && Date.now() < this.demandedUntil) {
        const started = Date.now();
        this.listener(await this.sample());
        if (this.stopping) break;
        await this.stopSignal.wait(Math.max(0, this.sampleMs - (Date.now() - started)));
      }
    } finally {
      this.running = undefined;
    }
  }
}

/**
 * Each reader's events per second: how far its checkpoint moved since the newest earlier sample
 * at least DRAIN_WINDOW_MS old. A reader without such a sample has no rate yet.
 */
export function drainRates(history: readonly Checkpoints[], current: Checkpoints): Map<string, number> {
  const rates = new Map<string, number>();
  const base = [...history].reverse().find((earlier) => current.at - earlier.at >= DRAIN_WINDOW_MS);
  if (!base) return rates;
  const seconds = (current.at - base.at) / 1000;
  for (const [reader, position] of current.positions) {
    const before = base.positions.get(reader);
    if (before !== undefined) rates.set(reader, Math.max(0, position - before) / seconds);
  }
  return rates;
}
