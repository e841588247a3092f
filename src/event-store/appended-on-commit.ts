import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type {
  DataSource,
  EntityManager,
  EntitySubscriberInterface,
  QueryRunner,
  TransactionCommitEvent,
  TransactionRollbackEvent,
} from 'typeorm';
import { AppendedEventMetrics } from './appended-event-metrics';
import { EventAppendedSignal } from './event-appended-signal';

/** The events appended in a transaction so far, kept in its query runner's `data` until it ends. */
const APPENDED = 'eventsAppended';

function appendedIn(queryRunner: QueryRunner): object[] {
  const data = (queryRunner.data ??= {}) as Record<string, object[] | undefined>;
  return (data[APPENDED] ??= []);
}

/**
 * When a transaction in which events were appended commits, whoever opened it (an idempotent
 * request, a reaction batch, a deadline): raises EventAppendedSignal, so its events are numbered
 * at once instead of waiting for the safety poll, and counts them (AppendedEventMetrics). The
 * AggregateWriter hands the events over with `markAppended`; this TypeORM subscriber sees the
 * commit or the rollback; a transaction rolled back announces nothing of what it appended
 * (TypeORM's own nested transactions, whose rollback would undo only part, are not used around
 * appends).
 */
@Injectable()
export class AppendedOnCommit implements EntitySubscriberInterface, OnModuleInit {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly appended: EventAppendedSignal,
    private readonly metrics: AppendedEventMetrics,
  ) {}

  onModuleInit(): void {
    this.dataSource.subscribers.push(this);
  }

  /** Remembers that `transaction` appended `events`, for its commit. */
  static markAppended(transaction: EntityManager, events: readonly object[]): void {
    const queryRunner = transaction.queryRunner;
    if (queryRunner) appendedIn(queryRunner).push(...events);
  }

  afterTransactionCommit({ queryRunner }: TransactionCommitEvent): void {
    // TypeORM reports a released savepoint as a commit too: only the real COMMIT counts.
    if (queryRunner.isTransactionActive) return;
    const events = appendedIn(queryRunner);
    if (events.length === 0) return;
    const committed = events.splice(0);
    this.metrics.committed(committed);
    this.appended.raise();
  }

  afterTransactionRollback({ queryRunner }: TransactionRollbackEvent): void {
    if (!queryRunner.isTransactionActive) appendedIn(queryRunner).length = 0;
  }
}
