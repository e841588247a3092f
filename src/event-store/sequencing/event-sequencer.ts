import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { DatabaseNotifications } from '../../database/database-notifications';
import type { EventAppendedSignal } from '../event-appended-signal';
import type { EventStoreHead } from './event-store-head';
import { Latch, Signal } from './signal';

/**
 * `pg_advisory_xact_lock` key that fences sequencing transactions (any value unused elsewhere).
 * The function `sequence_events` has it written out: change both, or neither.
 */
export const SEQUENCER_LOCK_KEY = '7283640019273645101';
/**
 * Wakes the sequencers of every process (payload ignored). The API's own appends do not send it:
 * they wake their own process's sequencer in memory (a NOTIFY in every appending transaction would
 * serialize all commits of the cluster on PostgreSQL's notification lock: measured here, 16
 * writers fell from about 11,000 to 2,000 commits/s). A writer outside the API may send it after
 * its commit; otherwise the safety poll finds its events.
 */
export const EVENTS_APPENDED_CHANNEL = 'events_appended';
/**
 * Sent by a sequencer when its numbers commit; the payload is the new head, a decimal string.
 * Written out in `sequence_events` too.
 */
export const EVENTS_SEQUENCED_CHANNEL = 'events_sequenced';

export interface SequencerOptions {
  /** Events numbered per transaction (one UPDATE). */
  batchSize: number;
  /** How often the store is read when nothing woke the sequencer: the safety net under NOTIFY. */
  safetyPollMs: number;
  /** After a batch, how long further appends may gather before the next one (0: none). */
  gatherMs?: number;
}

/**
 * Numbers committed events in commit order after the fact: `events.global_position`, which
 * every reader and checkpoint goes by. Why, among the known designs:
 *
 * - Reading by insert `position` skips events: a transaction that took position 10 may commit
 *   after one that took 11 and was already delivered.
 * - The snapshot-xmin horizon (this store before, Emmett) delivers only below the oldest running
 *   transaction of the whole server: any open transaction, in any database, stalls every reader,
 *   and checkpoints made of transaction ids mean nothing in another cluster.
 * - A high-water mark with a stale-gap timeout (Marten) gives up on a slow append and skips it.
 * - A counter row taken by every append (commanded) serializes all appends behind one lock.
 *
 * Here appends take no lock and no number. A sequencer numbers what its snapshot sees, i.e. only
 * committed events, so a slow or stuck append delays nobody but itself: it is numbered when it
 * commits. A rolled-back append is never numbered. Each API process runs one sequencer; every
 * sequencing transaction first takes `pg_advisory_xact_lock(SEQUENCER_LOCK_KEY)`, then numbers
 * with ONE UPDATE in a later statement (READ COMMITTED: its snapshot is taken after the lock, so it
 * sees every number an earlier holder committed). So two batches never interleave, numbers are
 * handed out contiguously and increasing, and a batch commits (becomes visible) before the next
 * holder even starts (PostgreSQL releases locks after the commit is visible). A reader that sees
 * number n therefore sees every number below n: `global_position > checkpoint ORDER BY
 * global_position` never skips, and since numbers never change, never repeats.
 *
 * Per-stream order: version N+1 of a stream is only appended by a writer that read version N
 * committed (the aggregate row's version check, and UNIQUE (stream_id, stream_version)), so N+1
 * took its `position` after N committed: position(N) < position(N+1), and any snapshot that sees
 * N+1 committed sees N. The batch takes the lowest positions first, so N is numbered in an
 * earlier batch or earlier in the same one: each stream keeps its version order.
 *
 * Cost: a sequencing transaction that finds nothing updates no row, so it takes no transaction
 * id. It runs when an append commits in this process (EventAppendedSignal: every API process
 * numbers its own appends at once), on a NOTIFY `events_appended` (writers outside the API), and
 * at the safety poll, which first reads head, unnumbered events and every checkpoint in ONE
 * read-only statement (also what keeps idle readers informed) and sequences only if something
 * waits; it also numbers what a process that died between its commit and its sequencing left
 * behind. After numbering it NOTIFYs `events_sequenced` with the new head, once per batch, which
 * wakes the readers of every process.
 */
export class EventSequencer {
  private readonly logger = new Logger(EventSequencer.name);
  private readonly wakeup = new Latch();
  private readonly stopSignal = new Signal();
  private stopping = false;
  private running?: Promise<void>;
  private unsubscribeAppended?: () => void;
  private listening = false;
  private pollRequested = false;

  constructor(
    private readonly dataSource: DataSource,
    readonly head: EventStoreHead,
    private readonly appended: EventAppendedSignal,
    private readonly notifications: DatabaseNotifications | undefined,
    private readonly options: SequencerOptions,
  ) {}

  /**
   * Numbers every committed, unnumbered event, batch by batch; returns how many it numbered.
   * Safe to call from anywhere at any time (rebuilds, tests, several processes): it is fenced.
   */
  async sequencePending(): Promise<number> {
    let total = 0;
    for (;;) {
      const { numbered, head } = await sequenceBatch(this.dataSource, this.options.batchSize);
      total += numbered;
      if (head !== undefined) this.head.advance(head);
      if (numbered < this.options.batchSize) return total;
    }
  }

  /**
   * The safety poll: reads the head, whether anything waits for a number and every checkpoint
   * in one read-only statement (no transaction id), then numbers what waits.
   */
  async poll(): Promise<void> {
    const [row] = await this.dataSource.query(
      `SELECT coalesce((SELECT max(global_position) FROM events), 0)::text AS head,
              EXISTS (SELECT 1 FROM events WHERE global_position IS NULL) AS unsequenced,
              coalesce((SELECT json_object_agg(CASE WHEN segments = 1 THEN subscription_id ELSE subscription_id || '/' || segment END, global_position::text)
                        FROM subscription_checkpoints), '{}') AS checkpoints`,
    );
    const checkpoints = new Map(Object.entries(row.checkpoints as Record<string, string>).map(([id, position]) => [id, BigInt(position)]));
    this.head.recordPoll(BigInt(row.head), checkpoints);
    if (row.unsequenced) await this.sequencePending();
  }

  async start(): Promise<void> {
    this.stopping = false;
    this.unsubscribeAppended = this.appended.listen(() => this.wakeup.raise());
    if (!this.listening) {
      this.listening = true;
      this.notifications?.on(EVENTS_APPENDED_CHANNEL, () => this.wakeup.raise());
      this.notifications?.on(EVENTS_SEQUENCED_CHANNEL, (payload) => {
        if (/^\d+$/.test(payload)) this.head.advance(BigInt(payload));
      });
      // Notifications sent while the LISTEN connection was down are lost: read instead.
      this.notifications?.onReconnect(() => {
        this.pollRequested = true;
        this.wakeup.raise();
      });
    }
    await this.poll().catch((error: unknown) => this.logger.error(`first read of the store failed: ${String(error)}`));
    this.running = this.run();
  }

  onApplicationBootstrap(): Promise<void> {
    return this.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.stop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.unsubscribeAppended?.();
    this.wakeup.raise();
    this.stopSignal.raise();
    await this.running;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      const woken = await this.wakeup.take(this.options.safetyPollMs);
      if (this.stopping) break;
      try {
        if (woken && !this.pollRequested) {
          // Under load appends commit every moment: numbering each in a transaction of its own
          // would cost a commit per append, so later ones gather for a few milliseconds.
          const numbered = await this.sequencePending();
          if (numbered > 0 && this.options.gatherMs && !this.stopping) await this.stopSignal.wait(this.options.gatherMs);
        } else {
          this.pollRequested = false;
          await this.poll();
        }
        failures = 0;
      } catch (error) {
        failures += 1;
        const delay = Math.min(10_000, 100 * 2 ** failures);
        this.logger.error(`sequencing failed (attempt ${failures}), retrying in ${delay} ms: ${String(error)}`);
        if (!this.stopping) await this.stopSignal.wait(delay);
        this.wakeup.raise();
      }
    }
  }
}

/** Numbers every committed, unnumbered event without a running sequencer (CLI, rebuilds); returns how many. */
export async function sequencePendingEvents(dataSource: DataSource, batchSize = 2000): Promise<number> {
  let total = 0;
  for (;;) {
    const { numbered } = await sequenceBatch(dataSource, batchSize);
    total += numbered;
    if (numbered < batchSize) return total;
  }
}

/**
 * One fenced batch in ONE round trip: `sequence_events` (migrations/1765400000000-SequenceEventsFunction.ts;
 * its events read by position, at most a batch of them, whatever the statistics:
 * 1765500000000-SequenceEventsBatchByPosition.ts)
 * takes the lock, then numbers the oldest appends after the current head with ONE UPDATE, and
 * NOTIFYs the new head at commit. The call is one statement, its own implicit transaction: no
 * client round trip happens inside it, so a frozen or cut-off sequencer can never hold the fence
 * idle. The function is VOLATILE, so in READ COMMITTED its UPDATE takes its snapshot after the
 * lock is granted and sees every number an earlier holder committed; and PL/pgSQL keeps the
 * UPDATE's plan for the session, where the statements sent as one simple query were planned anew
 * every batch.
 *
 * Plain index scans only (the function's `SET enable_bitmapscan = off`): every numbered event
 * leaves a dead entry in the partial index of unnumbered events until VACUUM, and only a plain
 * index scan marks such entries dead when it meets them (kill_prior_tuple), so that the next batch
 * skips them. A bitmap scan visits them all again, every batch: measured under load, 5,901 entries
 * and 787 heap pages read to find 14 unnumbered events, 1.9 ms a batch and the costliest statement
 * of the whole run.
 */
async function sequenceBatch(dataSource: DataSource, batchSize: number): Promise<{ numbered: number; head?: bigint }> {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  const [row]: Array<{ numbered: number; head: string | null }> = await dataSource.query(
    `SELECT numbered, head::text AS head FROM sequence_events($1::int)`,
    [batchSize],
  );
  if (row.numbered === 0) return { numbered: 0 };
  return { numbered: row.numbered, head: BigInt(row.head!) };
}
