import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { bigintToNumber } from '../../../database/bigint-column';
import { TransactionContext } from '../../../database/transaction-context';
import { AggregateWriter } from '../../../event-store';
import { User, type UserStatus } from '../domain/user';
import { EmailAlreadyTakenError, UserNotFoundError } from '../domain/user.errors';
import { USER_STREAM_TYPE } from '../domain/user.events';
import { UserRepository } from '../domain/user.repository';
import { UserRecord } from './user.record';

/** A users row as pg returns it (its default type parsers), column by column. */
interface UserRow {
  id: string;
  email: string;
  name: string;
  status: UserStatus;
  /** bigint: a string */
  credit_limit: string;
  credit_reserved: string;
  /** jsonb: parsed */
  credit_reservations: Record<string, number>;
  version: number;
  /** timestamptz: a Date */
  created_at: Date;
  updated_at: Date;
}

/** Every column of UserRow, for the loads below. */
const USER_COLUMNS = 'id, email, name, status, credit_limit, credit_reserved, credit_reservations, version, created_at, updated_at';

/** The row as the record TypeORM hydrated from it (bigint through bigintAsNumber), which User.restore takes. */
function toUserRecord(row: UserRow): UserRecord {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    status: row.status,
    creditLimit: bigintToNumber(row.credit_limit),
    creditReserved: bigintToNumber(row.credit_reserved),
    creditReservations: row.credit_reservations,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * Loads are plain SQL, not `findOneBy`: building the query and hydrating the entity cost TypeORM
 * more CPU than the statement itself costs the server. With parameters, the pool's connections
 * send it as a named prepared statement (prepareParameterizedStatements); inside an outer
 * transaction it runs on that transaction's connection.
 */
@Injectable()
export class TypeOrmUserRepository extends UserRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly writer: AggregateWriter,
    private readonly transactions: TransactionContext,
  ) {
    super();
  }

  async get(id: string): Promise<User> {
    const rows: UserRow[] = await this.transactions.queryable(this.dataSource).query(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
    if (rows.length === 0) throw new UserNotFoundError(id);
    return User.restore(toUserRecord(rows[0]));
  }

  async save(user: User): Promise<void> {
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
      onUniqueViolation: (constraint) => (constraint === 'users_email_key' ? new EmailAlreadyTakenError(row.email) : undefined),
    });
  }
}
