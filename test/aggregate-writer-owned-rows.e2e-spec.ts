import { randomUUID } from 'node:crypto';
import { AggregateWriter, withCommandCause, type OwnedRowsChange } from '../src/event-store';
import type { User } from '../src/modules/users/domain/user';
import { UserRepository } from '../src/modules/users/domain/user.repository';
import { USER_STREAM_TYPE } from '../src/modules/users/domain/user.events';
import { registerUser } from './support/fixtures';
import { startTestApp, TestApp } from './support/test-app';

/**
 * AggregateWriter's owned-row changes (OwnedRowsChange) are renumbered into the one statement
 * after the row change's and the events' parameters: `$1` of a change must not eat the `1` of its
 * `$10`, `$11`, and a second change numbers on after the first, each parameter landing where its
 * change put it. Driven on a real user row and its credit_reservations, with changes of eleven
 * and twelve parameters.
 */
let app: TestApp;
let writer: AggregateWriter;
let users: UserRepository;
beforeAll(async () => {
  app = await startTestApp({ env: { REACTIONS_ENABLED: 'false' } });
  writer = app.app.get(AggregateWriter);
  users = app.app.get(UserRepository);
});
afterAll(() => app?.close());

const USERS_TABLE = { name: 'users', key: 'id', insertOnly: ['created_at'] };

function rowOf(user: User): Record<string, unknown> {
  const s = user.snapshot();
  return {
    id: s.id,
    email: s.email,
    name: s.name,
    status: s.status,
    credit_limit: s.creditLimit,
    credit_reserved: s.creditReserved,
    version: s.version,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
  };
}

/** A row whose amount is the sum of `$3 … $k`: each power of two says which parameter arrived. */
function sumOfPowers(userId: string, orderId: string, powers: number): OwnedRowsChange {
  const terms = Array.from({ length: powers }, (_, index) => `$${index + 3}::bigint`);
  return {
    sql: `INSERT INTO credit_reservations (user_id, order_id, amount) SELECT $1::uuid, $2::uuid, ${terms.join(' + ')} WHERE EXISTS (SELECT 1 FROM row_change)`,
    params: [userId, orderId, ...Array.from({ length: powers }, (_, index) => 2 ** index)],
  };
}

it('changes with $10 and beyond get their own parameters, the second change numbering on after the first', async () => {
  const userId = await registerUser(app, { creditLimit: 1_000_000 });
  const [first, second] = [randomUUID(), randomUUID()];
  const user = await users.getForOrderCredit(userId, first);
  user.reserveCredit(first, 1, new Date());
  await withCommandCause({ correlationId: 'owned-rows', causationId: 'owned-rows' }, () =>
    writer.write({
      streamType: USER_STREAM_TYPE,
      aggregate: user,
      table: USERS_TABLE,
      row: rowOf(user),
      ownedRows: [sumOfPowers(userId, first, 9), sumOfPowers(userId, second, 10)],
    }),
  );
  const rows = await app.db.query(`SELECT order_id, amount::int AS amount FROM credit_reservations WHERE user_id = $1`, [userId]);
  expect(rows).toEqual(
    expect.arrayContaining([
      { order_id: first, amount: 2 ** 9 - 1 },
      { order_id: second, amount: 2 ** 10 - 1 },
    ]),
  );
  expect(rows).toHaveLength(2);
});
