import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager, EntitySubscriberInterface, TransactionCommitEvent } from 'typeorm';
import { EventAppendedSignal } from './event-appended-signal';

const APPENDED = 'eventsAppended';

/**
 * Raises EventAppendedSignal when a transaction in which events were appended commits, whoever
 * opened it (an idempotent request, a reaction batch, a deadline): its events are numbered at
 * once instead of waiting for the safety poll. The AggregateWriter marks the transaction with
 * `markAppended`; this TypeORM subscriber sees the commit.
 */
@Injectable()
export class AppendedOnCommit implements EntitySubscriberInterface, OnModuleInit {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly appended: EventAppendedSignal,
  ) {}

  onModuleInit(): void {
    this.dataSource.subscribers.push(this);
  }

  /** Remembers that `transaction` appended events, for its commit. */
  static markAppended(transaction: EntityManager): void {
    const queryRunner = transaction.queryRunner;
    if (queryRunner) queryRunner.data = { ...queryRunner.data, [APPENDED]: true };
  }

  afterTransactionCommit({ queryRunner }: TransactionCommitEvent): void {
    // TypeORM reports a released savepoint as a commit too: only the real COMMIT counts.
    if (queryRunner.isTransactionActive || !queryRunner.data?.[APPENDED]) return;
    queryRunner.data = { ...queryRunner.data, [APPENDED]: false };
    this.appended.raise();
  }
}
