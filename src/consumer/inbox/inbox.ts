import { Injectable, Logger } from '@nestjs/common';
import { currentLogContext, type LogContext, outsideLogContext, withLogContext } from '../../logging/log-context';
import { classifyFailure } from '../../shared/failure-classification';
import { BatchGatherer, type BatchGathering } from './batch-gatherer';
import type { InboxOutcome } from './inbox-outcome';
import { InboxTransactions } from './inbox-transactions';
import type { ReceivedEvent } from './received-event';

export type { InboxOutcome } from './inbox-outcome';

/** How the inbox batches: for at most `gatherMs` milliseconds, at most `maxItems` events a transaction. */
export class InboxBatching implements BatchGathering {
  constructor(
    readonly gatherMs: number,
    readonly maxItems: number,
  ) {}
}

interface PendingEvent {
  event: ReceivedEvent;
  /** The log context of its delivery, for the lines written while it is applied alone. */
  logContext?: LogContext;
  resolve(outcome: InboxOutcome): void;
  reject(error: unknown): void;
}

/**
 * Applies each event exactly once and in its aggregate's order. Events received close together
 * are applied together, one batch at a time, in one transaction (InboxTransactions.applyTogether).
 * When that transaction fails because of an event in it, each event of the batch is applied
 * alone, so only the failing one fails. When it fails because of the infrastructure, every event
 * of the batch fails with that error (the caller holds and retries them). The caller acks an
 * event only once `receive` resolved, that is after its effects committed.
 */
@Injectable()
export class Inbox {
  private readonly logger = new Logger(Inbox.name);
  private readonly gatherer: BatchGatherer<PendingEvent>;

  constructor(
    private readonly transactions: InboxTransactions,
    batching: InboxBatching,
  ) {
    // A batch serves many deliveries: its lines carry none of theirs (the delivery that started
    // the gathering would otherwise lend them its fields).
    this.gatherer = new BatchGatherer(batching, (batch) => outsideLogContext(() => this.apply(batch)));
  }

  /** Resolves once `event` was decided and, if applied, committed; rejects with what failed it. */
  receive(event: ReceivedEvent): Promise<InboxOutcome> {
    return new Promise((resolve, reject) => this.gatherer.add({ event, logContext: currentLogContext(), resolve, reject }));
  }

  private async apply(batch: PendingEvent[]): Promise<void> {
    let outcomes: InboxOutcome[];
    try {
      outcomes = await this.transactions.applyTogether(batch.map(({ event }) => event));
    } catch (error) {
      if (classifyFailure(error) === 'infrastructure') {
        for (const pending of batch) pending.reject(error);
        return;
      }
      this.logger.warn(`a batch of ${batch.length} event(s) failed, applying each alone: ${error instanceof Error ? error.message : String(error)}`);
      return this.applyOneByOne(batch);
    }
    batch.forEach((pending, index) => pending.resolve(outcomes[index]));
  }

  /** In sequence order, so that a stream's events in the batch do not come too early for one another. */
  private async applyOneByOne(batch: PendingEvent[]): Promise<void> {
    for (const pending of [...batch].sort((a, b) => a.event.sequence - b.event.sequence)) {
      const applyOne = async () => {
        try {
          pending.resolve(await this.transactions.applyOne(pending.event));
        } catch (error) {
          pending.reject(error);
        }
      };
      await (pending.logContext ? withLogContext(pending.logContext, applyOne) : applyOne());
    }
  }
}
