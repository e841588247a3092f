import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { bigintToNumber } from '../../../database/bigint-column';
import { TransactionContext } from '../../../database/transaction-context';
import { AggregateRow, AggregateTable, AggregateWriter, type OwnedRowsChange } from '../../../event-store';
import { User, type UserSnapshot, type UserStatus } from '../domain/user';
import { EmailAlreadyTakenError, UserNotFoundError } from '../domain/user.errors';
import { CreditConsumedEvent, CreditRejectedEvent, CreditReleasedEvent, CreditReservedEvent, USER_STREAM_TYPE, type UserEvent } from '../domain/user.events';
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
  version: number;
  /** timestamptz: a Date */
  created_at: Date;
  updated_at: Date;
}

/** Every column of UserRow, for the loads below. */
const USER_COLUMNS = 'id, email, name, status, credit_limit, credit_reserved, version, created_at, updated_at';
/** The same, qualified by the alias `u` of the load joined with a reservation. */
const USER_COLUMNS_OF_U = USER_COLUMNS.split(', ').map((column) => `u.${column}`).join(', ');

/** The row as the record TypeORM hydrated from it (bigint through bigintAsNumber), which User.restore takes. */
function toUserRecord(row: UserRow): UserRecord {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    status: row.status,
    creditLimit: bigintToNumber(row.credit_limit),
    creditReserved: bigintToNumber(row.credit_reserved),
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The events that answer a credit request; both carry the order's id in `orderId`. */
const CREDIT_ANSWERS = [CreditReservedEvent.type, CreditRejectedEvent.type];

/** What a user's save may change: every column but its key and creation time. */
const USERS_TABLE: AggregateTable = { name: 'users', key: 'id', insertOnly: ['created_at'] };

/** The users row of a user's state, every column of UserRow, as the writer sends it (jsonb as JSON text). */
function toUserRow(user: UserSnapshot): AggregateRow & Record<keyof UserRow, unknown> {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    status: user.status,
    credit_limit: user.creditLimit,
    credit_reserved: user.creditReserved,
    version: user.version,
    created_at: user.createdAt,
    updated_at: user.updatedAt,
  };
}

/**
 * The credit_reservations rows the user's new events open (CreditReserved: upserted) and close
 * (CreditReleased, CreditConsumed: deleted), by the last event of each order; both statements go
 * with every save, empty arrays when nothing changed, so that the save is one prepared statement.
 */
function reservationChangesOf(userId: string, events: readonly UserEvent[]): OwnedRowsChange[] {
  const last = new Map<string, number | null>();
  for (const event of events) {
    if (event instanceof CreditReservedEvent) last.set(event.orderId, event.amount);
    else if (event instanceof CreditReleasedEvent || event instanceof CreditConsumedEvent) last.set(event.orderId, null);
  }
  const opened = [...last].filter((entry): entry is [string, number] => entry[1] !== null);
  const closed = [...last].filter(([, amount]) => amount === null).map(([orderId]) => orderId);
  return [
    {
      sql: `INSERT INTO credit_reservations (user_id, order_id, amount)
            SELECT $1::uuid, r.order_id, r.amount FROM unnest($2::uuid[], $3::bigint[]) AS r(order_id, amount)
            WHERE EXISTS (SELECT 1 FROM row_change)
            ON CONFLICT (user_id, order_id) DO UPDATE SET amount = EXCLUDED.amount`,
      params: [userId, opened.map(([orderId]) => orderId), opened.map(([, amount]) => amount)],
    },
    {
      sql: `DELETE FROM credit_reservations WHERE user_id = $1::uuid AND order_id = ANY($2::uuid[]) AND EXISTS (SELECT 1 FROM row_change)`,
      params: [userId, closed],
    },
  ];
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

  async getForOrderCredit(id: string, orderId: string): Promise<User> {
    const rows: Array<UserRow & { order_reservation: string | null }> = await this.transactions.queryable(this.dataSource).query(
      `SELECT ${USER_COLUMNS_OF_U}, r.amount AS order_reservation
       FROM users u LEFT JOIN credit_reservations r ON r.user_id = u.id AND r.order_id = $2
       WHERE u.id = $1`,
      [id, orderId],
    );
    if (rows.length === 0) throw new UserNotFoundError(id);
    const [row] = rows;
    return User.restore(toUserRecord(row), { [orderId]: row.order_reservation === null ? null : bigintToNumber(row.order_reservation) });
  }

  async creditAnswerRecorded(userId: string, orderId: string): Promise<boolean> {
    // Within the user's stream (its stream_id index): rare (a due deadline), so no index of its own.
    const rows: unknown[] = await this.transactions
      .queryable(this.dataSource)
      .query(`SELECT 1 FROM events WHERE stream_id = $1 AND event_type = ANY($2) AND payload->>'orderId' = $3 LIMIT 1`, [userId, CREDIT_ANSWERS, orderId]);
    return rows.length > 0;
  }

  async save(user: User): Promise<void> {
    const snapshot = user.snapshot();
    await this.writer.write({
      streamType: USER_STREAM_TYPE,
      aggregate: user,
      table: USERS_TABLE,
      row: toUserRow(snapshot),
      ownedRows: reservationChangesOf(snapshot.id, user.getUncommittedEvents()),
      onUniqueViolation: (constraint) => (constraint === 'users_email_key' ? new EmailAlreadyTakenError(snapshot.email) : undefined),
    });
  }
}
