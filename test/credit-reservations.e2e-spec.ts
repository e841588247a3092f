import { randomUUID } from 'node:crypto';
import { withCommandCause } from '../src/event-store';
import { UserRepository } from '../src/modules/users/domain/user.repository';
import { ConcurrencyConflictError } from '../src/shared/domain-error';
import { registerUser } from './support/fixtures';
import { startTestApp, TestApp } from './support/test-app';

/**
 * A user's open credit reservations are rows of their own (credit_reservations), one per open
 * order: a credit step loads and writes the one it concerns, so its cost does not grow with the
 * customer's other open orders (the jsonb map on the users row it replaced was read and written
 * whole by every step). The rows change in the save's one statement, and only with the row.
 * Reactions are off: the credit is reserved for orders that do not exist.
 */
let app: TestApp;
let users: UserRepository;
beforeAll(async () => {
  app = await startTestApp({ env: { REACTIONS_ENABLED: 'false' } });
  users = app.app.get(UserRepository);
});
afterAll(() => app?.close());

const cause = { correlationId: 'credit-reservations-test', causationId: 'credit-reservations-test' };
const at = new Date('2026-12-01T12:00:00Z');

/** One credit step as the saga's command runs it: load for the order, act, save. */
async function creditStep(userId: string, orderId: string, act: 'reserve' | 'release' | 'consume', amount = 100): Promise<void> {
  await withCommandCause(cause, async () => {
    const user = await users.getForOrderCredit(userId, orderId);
    if (act === 'reserve') user.reserveCredit(orderId, amount, at);
    else if (act === 'release') user.releaseCredit(orderId, at);
    else user.consumeCredit(orderId, at);
    await users.save(user);
  });
}

async function userRowBytes(userId: string): Promise<number> {
  const [{ bytes }] = await app.db.query(`SELECT pg_column_size(u.*) AS bytes FROM users u WHERE id = $1`, [userId]);
  return bytes;
}

async function reservationsOf(userId: string): Promise<Array<{ order_id: string; amount: string }>> {
  return app.db.query(`SELECT order_id, amount FROM credit_reservations WHERE user_id = $1 ORDER BY order_id`, [userId]);
}

it("the users row stays the same size however many orders hold credit, and each reservation is a row of its own", async () => {
  const userId = await registerUser(app, { creditLimit: 1_000_000 });
  const orders = Array.from({ length: 400 }, () => randomUUID());
  await creditStep(userId, orders[0], 'reserve');
  const bytesWithOne = await userRowBytes(userId);
  for (const orderId of orders.slice(1)) await creditStep(userId, orderId, 'reserve');

  // With the map on the row it grew by about 50 bytes per open order (20 KB here).
  expect(await userRowBytes(userId)).toBe(bytesWithOne);
  const rows = await reservationsOf(userId);
  expect(rows.map(({ order_id }) => order_id)).toEqual([...orders].sort());
  const [{ credit_reserved }] = await app.db.query(`SELECT credit_reserved FROM users WHERE id = $1`, [userId]);
  expect(Number(credit_reserved)).toBe(400 * 100);
});

it('a release and a consumption delete their row, reserving twice keeps one, and a repeat of either is a no-op', async () => {
  const userId = await registerUser(app, { creditLimit: 1_000 });
  const [kept, released, consumed] = [randomUUID(), randomUUID(), randomUUID()];
  await creditStep(userId, kept, 'reserve', 300);
  await creditStep(userId, kept, 'reserve', 300);
  await creditStep(userId, released, 'reserve', 200);
  await creditStep(userId, consumed, 'reserve', 400);
  await creditStep(userId, released, 'release');
  await creditStep(userId, consumed, 'consume');
  await creditStep(userId, released, 'release');
  await creditStep(userId, consumed, 'consume');

  expect(await reservationsOf(userId)).toEqual([{ order_id: kept, amount: '300' }]);
  const types: Array<{ event_type: string }> = await app.db.query(`SELECT event_type FROM events WHERE stream_id = $1 ORDER BY stream_version`, [userId]);
  expect(types.map(({ event_type }) => event_type)).toEqual(['UserRegistered', 'CreditReserved', 'CreditReserved', 'CreditReserved', 'CreditReleased', 'CreditConsumed']);
  // The freed credit is there again: 1,000 − 300 leaves room for 700, not 701.
  await creditStep(userId, randomUUID(), 'reserve', 700);
  const last = await app.db.query(`SELECT event_type FROM events WHERE stream_id = $1 ORDER BY stream_version DESC LIMIT 1`, [userId]);
  expect(last).toEqual([{ event_type: 'CreditReserved' }]);
});

it('a save from a stale version writes no reservation row: the rows change only with the users row', async () => {
  const userId = await registerUser(app, { creditLimit: 1_000 });
  const [first, second] = [randomUUID(), randomUUID()];
  await withCommandCause(cause, async () => {
    const a = await users.getForOrderCredit(userId, first);
    const b = await users.getForOrderCredit(userId, second);
    a.reserveCredit(first, 100, at);
    b.reserveCredit(second, 100, at);
    await users.save(a);
    await expect(users.save(b)).rejects.toBeInstanceOf(ConcurrencyConflictError);
  });
  expect((await reservationsOf(userId)).map(({ order_id }) => order_id)).toEqual([first]);
});

it('a user loaded for one order refuses a credit step on another: no reservation is decided on a load that did not bring it', async () => {
  const userId = await registerUser(app);
  const orderId = randomUUID();
  await creditStep(userId, orderId, 'reserve');
  const user = await users.getForOrderCredit(userId, randomUUID());
  expect(() => user.releaseCredit(orderId, at)).toThrow(/was not loaded/);
  const plain = await users.get(userId);
  expect(() => plain.reserveCredit(randomUUID(), 1, at)).toThrow(/was not loaded/);
});
