import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Environment } from '../config/environment';
import { sessionAdvisoryLockCondition } from '../database/session-advisory-lock';
import { DurableReactions, EventSubscriptions, failureOf, PauseRow, segmentLockCondition, Signal, SUBSCRIPTION_STATUS_SQL, SubscriptionFailure, SubscriptionFailureRow } from '../event-store';
import { RELAY_CHECKPOINT, relayLeaseKey } from '../messaging/relay/outbox-relay';
import { ProcessContext } from '../shared/process-context';

/**
 * One reader of the store in a sample: a subscription, or one segment of a subscription split
 * into segments (SUBSCRIPTION_SEGMENTS), with its figures as /health shows them.
 */
export interface SampledReader {
  /** The subscription id, with `#<segment>` for a subscription split into segments. */
  reader: string;
  subscriptionId: string;
  segment: number;
  checkpoint: number;
  /** Committed events it has yet to take. */
  lagEvents: number;
  /** Age of the oldest of them, in seconds (0 when caught up). */
  lagSeconds: number;
  /** Set while it is stopped at an event it cannot take. */
  failure?: SubscriptionFailure;
  /** Whether an operator has it paused (subscription-pauses.ts). */
  paused: boolean;
  /** Events per second over the last DRAIN_WINDOW_MS or more; undefined until that much history exists. */
  drainPerSecond?: number;
  /** Whether some session holds its lease, i.e. some process runs it (false: none does, for now). */
  leaseHeld: boolean;
}

/**
 * SUBSCRIPTION_STATUS_SQL (one row per subscription segment), plus whether a session holds each
 * one's lease, from pg_locks: a segment lock of SubscriptionLeases for projections and reactions,
 * the SessionAdvisoryLock of the relay ($1 its checkpoint id, $2 its key).
 */
export const LAG_SAMPLE_SQL = `
  WITH status AS (${SUBSCRIPTION_STATUS_SQL})
  SELECT status.*, EXISTS (
    SELECT 1 FROM pg_locks l
    WHERE CASE WHEN status."subscriptionId" = $1
      THEN ${sessionAdvisoryLockCondition('$2')}
      ELSE ${segmentLockCondition(`status."subscriptionId" || '/' || status.segments`, 'status.segment')}
    END
  ) AS "leaseHeld"
  FROM status`;

type LagSampleRow = SubscriptionFailureRow & PauseRow & {
  subscriptionId: string;
  segment: number;
  segments: number;
  checkpoint: number;
  lagEvents: number;
  lagSeconds: number;
  leaseHeld: boolean;
};

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
 * admission control, each segment of a split subscription on its own. One statement per sample,
 * the one /health runs (SUBSCRIPTION_STATUS_SQL: indexes only, whatever the store's size) with a
 * look at pg_locks for the leases, and never per request:
 * at most one sample every ADMISSION_SAMPLE_MS, and only while writes arrive (`demand()`), so an
 * idle API sends nothing.
 *
 * Why the checkpoint table and not this process's memory: a segment runs in whichever process
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
  /** Where the sampling loop starts, whichever request demands it first. */
  private readonly processContext = new ProcessContext();
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
    // Started by whichever command came first: in the process's context, not that request's.
    if (!this.running && !this.stopping) this.running = this.processContext.run(() => this.run());
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.stopSignal.raise();
    await this.running;
  }

  /**
   * Every reader in this code (projections, reactions, the relay) as it stands now, each segment
   * of a split subscription on its own: one statement (LAG_SAMPLE_SQL), no drain rate.
   */
  async readers(): Promise<SampledReader[]> {
    const known = new Set([...this.subscriptions.names, ...this.reactions.subscriptionIds, RELAY_CHECKPOINT]);
    const rows: LagSampleRow[] = await this.dataSource.query(LAG_SAMPLE_SQL, [RELAY_CHECKPOINT, this.relayLeaseKey]);
    return rows.filter((row) => known.has(row.subscriptionId)).map(toSampledReader);
  }

  /** Takes one sample now. */
  async sample(): Promise<LagSample> {
    const at = Date.now();
    try {
      const statuses = await this.readers();
      const current: Checkpoints = { at, positions: new Map(statuses.map((status) => [status.reader, status.checkpoint])) };
      this.history = [...this.history.filter((earlier) => at - earlier.at <= HISTORY_MS), current];
      const rates = drainRates(this.history, current);
      return { ok: true, at, readers: statuses.map((status) => ({ ...status, drainPerSecond: rates.get(status.reader) })) };
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

function toSampledReader(row: LagSampleRow): SampledReader {
  const failure = failureOf(row);
  return {
    reader: row.segments > 1 ? `${row.subscriptionId}#${row.segment}` : row.subscriptionId,
    subscriptionId: row.subscriptionId,
    segment: row.segment,
    checkpoint: row.checkpoint,
    lagEvents: row.lagEvents,
    lagSeconds: row.lagSeconds,
    leaseHeld: row.leaseHeld,
    paused: row.pausedAt !== null,
    ...(failure && { failure }),
  };
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
