import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { TransactionContext } from '../../../../database/transaction-context';
import { CreditRejectedEvent, CreditReservedEvent } from '../../domain/user.events';
import { CreditAnsweredQuery } from './credit-answered.query';

const CREDIT_ANSWERS = [CreditReservedEvent.type, CreditRejectedEvent.type];

/**
 * Answers from the user's own stream: the user's row keeps an open reservation only until it is
 * consumed or released, and a refusal leaves no trace there at all.
 */
@QueryHandler(CreditAnsweredQuery)
export class CreditAnsweredHandler implements IQueryHandler<CreditAnsweredQuery> {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly transactions: TransactionContext,
  ) {}

  async execute({ userId, orderId }: CreditAnsweredQuery): Promise<boolean> {
    const rows: unknown[] = await this.transactions
      .queryable(this.dataSource)
      .query(`SELECT 1 FROM events WHERE stream_id = $1 AND event_type = ANY($2) AND payload->>'orderId' = $3 LIMIT 1`, [userId, CREDIT_ANSWERS, orderId]);
    return rows.length > 0;
  }
}
