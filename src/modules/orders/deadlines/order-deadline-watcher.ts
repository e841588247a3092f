import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Environment } from '../../../config/environment';
import { TransactionContext } from '../../../database/transaction-context';
import { withCommandCause } from '../../../event-store';
import { AfterListening } from '../../../shared/after-listening';
import { PollingWorker } from '../../../shared/polling-worker';
import { CreditAnsweredQuery, CreditRequestReachedQuery } from '../../users';
import { RejectOrderCommand } from '../commands/reject-order/reject-order.command';
import { PendingOrderDeadline, OrderDeadlines } from './order-deadlines';
import { withLogContext } from '../../../logging/log-context';

export const TIMEOUT_REASON = 'timeout';

/** Due deadlines of PENDING orders fired per poll; the rest wait for the next poll. */
const FIRE_BATCH = 100;

/**
 * Fires the durable timeouts written with each order (`order_deadlines`, OrderDeadlines.ofPlacement):
 * an order whose credit answer did not come within `ORDER_CONFIRMATION_TIMEOUT_MS` is rejected
 * with reason `timeout`. Lag never counts. A reserved or refused credit means the saga has what it
 * needs to decide, so the timeout is dropped (as an NServiceBus saga's timeout handler first checks
 * whether the awaited message arrived). Otherwise the order's clock runs only while the Users
 * module's credit reaction is at the order: when the deadline falls due and that reaction lags
 * behind the order or is paused, the wait starts again; when it is at the order for the first
 * time, the wait starts again once, from then (its step may be about to run: a backlog after a
 * downtime longer than the timeout); only a deadline that falls due after that rejects the order.
 * So an order times out no sooner than twice the timeout after it was placed, and one timeout after
 * its credit step was first seen failing or waiting on a lock. A downtime cuts no last wait short:
 * a process's first poll, and its first one after a failed poll (the database unreachable), start
 * every last wait again (OrderDeadlines.restartCreditWaits); every poll ends the last wait of an
 * order the credit reaction is no longer at (paused, or behind it again); and two watchers that
 * read the same due deadline never both act on it (OrderDeadlines.claim asks again whether it is
 * due).
 *
 * It keeps no timers of its own: every poll asks the table, so a deadline that fell due while no
 * process ran fires in the next one that starts. Several processes may watch at once: each
 * timeout is claimed with SKIP LOCKED, and the rejection and the removal of the timeout commit
 * together. Timeouts of orders decided meanwhile are removed as no-ops.
 */
@Injectable()
export class OrderDeadlineWatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(OrderDeadlineWatcher.name);
  private readonly enabled: boolean;
  private readonly timeoutMs: number;
  private readonly poller: PollingWorker;
  private stopped = false;
  /**
   * The last waits start again at this process's first poll, and at the first one after a failed
   * poll: a downtime of the system (no process ran) or of the database (every poll failed) may
   * have passed since a wait started, during which the credit reaction could not run either.
   */
  private creditWaitsToRestart = true;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly deadlines: OrderDeadlines,
    private readonly transactions: TransactionContext,
    private readonly commandBus: CommandBus,
    private readonly queryBus: QueryBus,
    config: ConfigService<Environment, true>,
    private readonly afterListening: AfterListening,
  ) {
    // A failed check is tried again at the next poll, like any other.
    this.poller = new PollingWorker(() => this.fireDueDeadlines().then(() => undefined), {
      intervalMs: config.get('ORDER_DEADLINE_POLL_MS', { infer: true }),
      onFailure: (error) => {
        this.creditWaitsToRestart = true;
        this.logger.error(`deadline check failed: ${String(error)}`);
      },
    });
    this.enabled = config.get('REACTIONS_ENABLED', { infer: true });
    this.timeoutMs = config.get('ORDER_CONFIRMATION_TIMEOUT_MS', { infer: true });
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) return;
    this.afterListening.register('order deadlines', () => {
      if (!this.stopped) this.poller.start();
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.poller.stop();
  }

  /** Fires the timeouts that are due; returns how many orders it rejected. */
  async fireDueDeadlines(): Promise<number> {
    if (this.creditWaitsToRestart) {
      await this.deadlines.restartCreditWaits();
      this.creditWaitsToRestart = false;
    }
    const { due, inCreditWait } = await this.deadlines.poll(FIRE_BATCH);
    await this.checkCreditWaits(inCreditWait);
    let rejected = 0;
    for (const deadline of due) {
      if (this.stopped) break;
      // Where a timeout enters: its rejection is caused by the OrderPlaced that started the wait.
      const { cause } = deadline;
      const fired = await withLogContext({ ...cause, streamId: deadline.orderId }, () => withCommandCause(cause, () => this.fireOne(deadline)));
      if (fired) rejected += 1;
    }
    return rejected;
  }

  /**
   * A last wait runs only while the credit reaction stays at the order: one paused or fallen behind
   * it since it was seen there starts the order's wait again, as when it had not come there yet.
   */
  private async checkCreditWaits(inCreditWait: readonly PendingOrderDeadline[]): Promise<void> {
    for (const { orderId, cause } of inCreditWait) {
      if (this.stopped) return;
      if (await this.queryBus.execute(new CreditRequestReachedQuery(cause.causationId))) continue;
      this.logger.log(`order ${orderId}: the Users module is no longer at its credit (paused or lagging); its wait starts again`);
      await this.deadlines.endCreditWait(orderId, this.timeoutMs);
    }
  }

  private async fireOne(deadline: PendingOrderDeadline): Promise<boolean> {
    try {
      return await this.dataSource.transaction((transaction) => this.fire(deadline, transaction));
    } catch (error) {
      // Retried at the next poll without holding up the others. (A race with the saga is no
      // failure: RejectOrder is rerun on the latest state and leaves a decided order alone.)
      this.logger.error(`deadline of order ${deadline.orderId} failed: ${String(error)}`);
      return false;
    }
  }

  private async fire({ orderId, customerId, cause }: PendingOrderDeadline, transaction: EntityManager): Promise<boolean> {
    const claimed = await this.deadlines.claim(transaction, orderId);
    if (!claimed) return false;
    // The Users module answers from its own stream, inside this transaction.
    if (await this.transactions.run(transaction, () => this.queryBus.execute(new CreditAnsweredQuery(customerId, orderId)))) {
      this.logger.warn(`order ${orderId} has its credit answer but is still PENDING after its deadline; the saga decides it (see parked reactions)`);
      await this.deadlines.remove(transaction, orderId);
      return false;
    }
    // The credit is asked for by the Users module's own reaction to OrderPlaced (the deadline's
    // cause), apart from the one that scheduled the deadline: while that one lags behind the order
    // or is paused, the wait has not begun for it, and starts again.
    if (!(await this.queryBus.execute(new CreditRequestReachedQuery(cause.causationId)))) {
      this.logger.log(`order ${orderId}: its deadline is due, but the Users module has not come to its credit yet (lagging or paused); the wait starts again`);
      await this.deadlines.postpone(transaction, orderId, this.timeoutMs);
      return false;
    }
    // "Reached" counts an event in the credit reaction's next batch, so its step may be about to
    // run: the last wait starts now.
    if (!claimed.creditWaitStarted) {
      await this.deadlines.startCreditWait(transaction, orderId, this.timeoutMs);
      return false;
    }
    // RejectOrder leaves an order that was decided meanwhile (by the saga, a moment ago) as it is.
    const { rejected } = await this.transactions.run(transaction, () => this.commandBus.execute(new RejectOrderCommand(orderId, TIMEOUT_REASON)));
    await this.deadlines.remove(transaction, orderId);
    if (rejected) this.logger.warn(`order ${orderId} rejected: no credit answer within its deadline`);
    return rejected;
  }
}
