import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { CommandBus } from '@nestjs/cqrs';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Environment } from '../../../config/environment';
import { Clock } from '../../../shared/clock';
import { ConcurrencyConflictError } from '../../../shared/domain-error';
import { RejectOrderCommand } from '../commands/reject-order/reject-order.command';

export const TIMEOUT_REASON = 'timeout';

interface OverdueOrder {
  orderId: string;
  placedEventId: string;
  correlationId: string;
}

/**
 * Rejects orders still PENDING `ORDER_CONFIRMATION_TIMEOUT_MS` after they were placed, with reason
 * `timeout`. It keeps no timers: every poll asks the orders table, so a deadline that passed while
 * no process ran is enforced by the next one that starts. Several processes may watch at once;
 * rejecting is a no-op for an order that was decided meanwhile.
 */
@Injectable()
export class OrderDeadlineWatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(OrderDeadlineWatcher.name);
  private readonly timeoutMs: number;
  private readonly pollMs: number;
  private readonly enabled: boolean;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly commandBus: CommandBus,
    private readonly clock: Clock,
    config: ConfigService<Environment, true>,
  ) {
    this.timeoutMs = config.get('ORDER_CONFIRMATION_TIMEOUT_MS', { infer: true });
    this.pollMs = config.get('ORDER_DEADLINE_POLL_MS', { infer: true });
    this.enabled = config.get('REACTIONS_ENABLED', { infer: true });
  }

  onApplicationBootstrap(): void {
    if (this.enabled) this.schedule(0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Rejects every overdue order; returns how many it found. */
  async rejectOverdueOrders(): Promise<number> {
    const overdue = await this.overdueOrders();
    for (const { orderId, placedEventId, correlationId } of overdue) {
      try {
        await this.commandBus.execute(new RejectOrderCommand(orderId, TIMEOUT_REASON, { correlationId, causationId: placedEventId }));
      } catch (error) {
        // The saga decided the order in the same moment; the next poll sees the outcome.
        if (!(error instanceof ConcurrencyConflictError)) throw error;
      }
    }
    return overdue.length;
  }

  private overdueOrders(): Promise<OverdueOrder[]> {
    const placedBefore = new Date(this.clock.now().getTime() - this.timeoutMs);
    return this.dataSource.query(
      `SELECT o.id AS "orderId", e.event_id AS "placedEventId", e.metadata->>'correlationId' AS "correlationId"
       FROM orders o JOIN events e ON e.stream_id = o.id AND e.stream_version = 1
       WHERE o.status = 'PENDING' AND o.created_at <= $1
       ORDER BY o.created_at
       LIMIT 500`,
      [placedBefore],
    );
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.rejectOverdueOrders()
        .catch((error: unknown) => this.logger.error(`deadline check failed: ${String(error)}`))
        .then(() => this.schedule(this.pollMs));
    }, delayMs);
  }
}
