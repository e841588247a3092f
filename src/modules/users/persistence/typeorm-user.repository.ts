import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { TransactionContext } from '../../../database/transaction-context';
import { AggregateWriter } from '../../../event-store/aggregate-writer';
import { CommandMetadata } from '../../../event-store/event-metadata';
import { User } from '../domain/user';
import { EmailAlreadyTakenError, UserNotFoundError } from '../domain/user.errors';
import { USER_STREAM_TYPE } from '../domain/user.events';
import { UserRepository } from '../domain/user.repository';
import { UserRecord } from './user.record';

@Injectable()
export class TypeOrmUserRepository extends UserRepository {
  constructor(
    @InjectRepository(UserRecord) private readonly records: Repository<UserRecord>,
    private readonly writer: AggregateWriter,
    private readonly transactions: TransactionContext,
  ) {
    super();
  }

  async get(id: string): Promise<User> {
    const record = await this.transactions.repository(this.records).findOneBy({ id });
    if (!record) throw new UserNotFoundError(id);
    return User.restore(record);
  }

  async save(user: User, metadata: CommandMetadata): Promise<void> {
    const isNew = user.version === 0;
    const row = user.snapshot();
    const values = [
      row.id,
      row.email,
      row.name,
      row.status,
      row.creditLimit,
      row.creditReserved,
      row.version,
      row.updatedAt,
      JSON.stringify(row.creditReservations),
    ];
    const rowChange = isNew
      ? {
          sql: `INSERT INTO users (id, email, name, status, credit_limit, credit_reserved, version, updated_at, created_at, credit_reservations)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) RETURNING 1`,
          params: values,
        }
      : {
          sql: `UPDATE users SET email = $2, name = $3, status = $4, credit_limit = $5, credit_reserved = $6,
                  version = $7, updated_at = $8, credit_reservations = $9
                WHERE id = $1 AND version = $10 RETURNING 1`,
          params: [...values, user.version],
        };
    await this.writer.write({
      streamType: USER_STREAM_TYPE,
      aggregate: user,
      rowChange,
      metadata,
      onUniqueViolation: (constraint) => (constraint === 'users_email_key' ? new EmailAlreadyTakenError(row.email) : undefined),
    });
  }
}
