import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { TransactionContext } from '../../../../database/transaction-context';
import { UserExistsQuery } from './user-exists.query';

const REMEMBERED_USERS = 100_000;

/**
 * Answers from the write model (no projection lag). A user, once registered, exists forever, so
 * a yes is remembered (up to REMEMBERED_USERS, oldest forgotten first) and repeat customers cost
 * no query; a no is never remembered.
 */
@QueryHandler(UserExistsQuery)
export class UserExistsHandler implements IQueryHandler<UserExistsQuery> {
  private readonly known = new Set<string>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly transactions: TransactionContext,
  ) {}

  async execute({ userId }: UserExistsQuery): Promise<boolean> {
    if (this.known.has(userId)) return true;
    const db = this.transactions.queryable(this.dataSource);
    const rows: unknown[] = await db.query('SELECT 1 FROM users WHERE id = $1', [userId]);
    if (rows.length === 0) return false;
    this.remember(userId);
    return true;
  }

  private remember(userId: string): void {
    if (this.known.size >= REMEMBERED_USERS) this.known.delete(this.known.values().next().value as string);
    this.known.add(userId);
  }
}
