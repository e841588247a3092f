import { Injectable } from '@nestjs/common';
import { Signal } from './signal';

/**
 * What this process knows about the store without asking it: the highest global position
 * numbered so far (from its own EventSequencer, the `events_sequenced` NOTIFY of other processes'
 * sequencers, and the slow safety poll) and, from that poll, every subscription's stored
 * checkpoint. Readers compare their checkpoint with it and query only when there IS something
 * to read: an idle reader costs the database nothing, not even a read-only transaction.
 */
@Injectable()
export class EventStoreHead {
  private head = 0n;
  private checkpoints = new Map<string, bigint>();
  private pollGeneration = 0;
  private readonly changes = new Signal();

  /** The highest global position known to be numbered (and committed). */
  get position(): bigint {
    return this.head;
  }

  /** Incremented by every safety poll, so a reader knows when `storedCheckpoint` is news. */
  get generation(): number {
    return this.pollGeneration;
  }

  /** Moves the head forward (never back) and wakes the readers. */
  advance(position: bigint): void {
    if (position <= this.head) return;
    this.head = position;
    this.changes.raise();
  }

  /** Records a safety poll: the head and every stored checkpoint, read in one statement. */
  recordPoll(head: bigint, checkpoints: Map<string, bigint>): void {
    this.checkpoints = checkpoints;
    this.pollGeneration += 1;
    if (head > this.head) this.head = head;
    this.changes.raise();
  }

  /** The subscription's checkpoint as the last safety poll read it; undefined before it existed. */
  storedCheckpoint(subscriptionId: string): bigint | undefined {
    return this.checkpoints.get(subscriptionId);
  }

  /** Resolves on the next change (or `wake()`), at the latest after `timeoutMs`. */
  async changed(timeoutMs: number): Promise<void> {
    await this.changes.wait(timeoutMs);
  }

  /** Wakes every waiting reader, e.g. to let it see that it is stopping. */
  wake(): void {
    this.changes.raise();
  }
}

/**
 * One reader's idea of its own checkpoint, to decide without a query whether the store holds
 * anything beyond it. It errs only towards querying: a checkpoint moved by another process, or
 * reset by an operator, is learnt from the next safety poll.
 */
export class CheckpointTracker {
  private known = 0n;
  private generationSeen = -1;

  constructor(
    private readonly subscriptionId: string,
    private readonly head: EventStoreHead,
  ) {}

  /** Whether events beyond the checkpoint are (known to be) numbered. */
  behind(): boolean {
    return this.head.position > this.checkpoint;
  }

  /** The checkpoint as known: the latest safety poll's stored value, or what the reader set since. */
  get checkpoint(): bigint {
    if (this.head.generation !== this.generationSeen) {
      this.generationSeen = this.head.generation;
      const stored = this.head.storedCheckpoint(this.subscriptionId);
      if (stored !== undefined) this.known = stored;
    }
    return this.known;
  }

  /** The checkpoint is now at `position` (read or written by this reader). */
  at(position: bigint | string): void {
    this.known = BigInt(position);
  }

  /**
   * A read found nothing beyond the checkpoint, or found it held by another process: nothing to
   * do until the head passes `headBeforeRead`, which every event up to was visible to that read.
   */
  caughtUpTo(headBeforeRead: bigint): void {
    if (headBeforeRead > this.known) this.known = headBeforeRead;
  }

  /** Waits until `behind()` or `stopping()`; the timeout only bounds each wait, it costs no query. */
  async waitUntilBehind(stopping: () => boolean, timeoutMs: number): Promise<void> {
    while (!stopping() && !this.behind()) await this.head.changed(timeoutMs);
  }
}
