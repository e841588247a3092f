import { Injectable, Module } from '@nestjs/common';
import { EventsHandler, IEventHandler } from '@nestjs/cqrs';
import { TransactionContext } from '../src/database/transaction-context';
import { DurableReaction, EventSequencer } from '../src/event-store';
import { UserRegisteredEvent } from '../src/modules/users/domain/user.events';
import { AfterListening } from '../src/shared/after-listening';
import { placeOrder, registerUser } from './support/fixtures';
import { eventually, startTestApp } from './support/test-app';

/** Notes every registration in the reaction's transaction; refuses one user's, every time. */
@Injectable()
@EventsHandler(UserRegisteredEvent)
@DurableReaction({ id: 'test.chunked', replaysHistory: true, partitionBy: () => 'everyone' })
class ChunkedRegistrations implements IEventHandler<UserRegisteredEvent> {
  static refusedUser = '';

  constructor(private readonly transactions: TransactionContext) {}

  async handle(event: UserRegisteredEvent): Promise<void> {
    if (event.userId === ChunkedRegistrations.refusedUser) throw new Error('this registration is refused');
    await this.transactions.current()!.query(`INSERT INTO test_chunked (user_id, transaction_id) VALUES ($1, pg_current_xact_id())`, [event.userId]);
  }
}

@Module({ providers: [ChunkedRegistrations] })
class ChunkedModule {}

/** The same, each registration its own partition (its stream): many partitions in one batch. */
@Injectable()
@EventsHandler(UserRegisteredEvent)
@DurableReaction({ id: 'test.grouped', replaysHistory: true })
class GroupedRegistrations implements IEventHandler<UserRegisteredEvent> {
  static refusedUser = '';

  constructor(private readonly transactions: TransactionContext) {}

  async handle(event: UserRegisteredEvent): Promise<void> {
    if (event.userId === GroupedRegistrations.refusedUser) throw new Error('this registration is refused');
    await this.transactions.current()!.query(`INSERT INTO test_grouped (user_id, transaction_id) VALUES ($1, pg_current_xact_id())`, [event.userId]);
  }
}

@Module({ providers: [GroupedRegistrations] })
class GroupedModule {}

describe('a backlog in one partition of a reaction', () => {
  it('is taken in chunks of one transaction each; a failing event is taken alone, after the ones before it committed', async () => {
    const app = await startTestApp({
      extraModules: [ChunkedModule],
      startReaders: false,
      env: { REACTION_CHUNK_SIZE: '5', REACTION_MAX_ATTEMPTS: '2', REACTION_RETRY_BASE_MS: '20' },
    });
    try {
      await app.db.query(`CREATE TABLE test_chunked (user_id uuid NOT NULL, transaction_id xid8 NOT NULL)`);
      const users: string[] = [];
      for (let i = 0; i < 12; i += 1) users.push(await registerUser(app));
      await app.app.get(EventSequencer).sequencePending();
      const inCommitOrder: string[] = (
        await app.db.query(`SELECT payload->>'userId' AS "userId" FROM events WHERE event_type = 'UserRegistered' ORDER BY global_position`)
      ).map((row: { userId: string }) => row.userId);
      ChunkedRegistrations.refusedUser = inCommitOrder[7];
      await app.app.get(AfterListening).start();

      await eventually(async () => {
        const [{ behind }] = await app.db.query(
          `SELECT count(*)::int AS behind FROM subscription_checkpoints
           WHERE subscription_id = 'reaction:test.chunked' AND global_position < (SELECT max(global_position) FROM events)`,
        );
        expect(behind).toBe(0);
      });
      // Every registration but the refused one, once.
      const noted: Array<{ user_id: string }> = await app.db.query(`SELECT user_id FROM test_chunked`);
      expect(noted.map((row) => row.user_id).sort()).toEqual(inCommitOrder.filter((user) => user !== inCommitOrder[7]).sort());
      // The transaction each was written in: chunk 0–4; 5–6, committed when 7 failed inside the next chunk (which ran
      // again without it); 7 alone, retried and parked; then 8–11.
      const transactions: Array<{ users: string[] }> = await app.db.query(
        `SELECT array_agg(user_id::text) AS users FROM test_chunked GROUP BY transaction_id`,
      );
      const groups = transactions.map(({ users: inOne }) => inOne.map((user) => inCommitOrder.indexOf(user)).sort((a, b) => a - b));
      expect(groups.sort((a, b) => a[0] - b[0])).toEqual([[0, 1, 2, 3, 4], [5, 6], [8, 9, 10, 11]]);
      const parked = await app.db.query(`SELECT step, attempts FROM parked_reactions WHERE reaction = 'reaction:test.chunked'`);
      expect(parked).toEqual([{ step: 'handle', attempts: 2 }]);
      const [{ receipts }] = await app.db.query(
        `SELECT count(*)::int AS receipts FROM reaction_receipts WHERE subscription_id = 'reaction:test.chunked' AND step = '*'`,
      );
      expect(receipts).toBe(12);
    } finally {
      await app.close();
    }
  });
});

describe('more partitions waiting in a batch than a reaction runs at once', () => {
  it('are taken in groups of one transaction each; a failing event is taken on its own, the rest of its group commits without it', async () => {
    const app = await startTestApp({
      extraModules: [GroupedModule],
      startReaders: false,
      env: { REACTION_CHUNK_SIZE: '5', REACTION_CONCURRENCY: '2', REACTION_MAX_ATTEMPTS: '2', REACTION_RETRY_BASE_MS: '20' },
    });
    try {
      await app.db.query(`CREATE TABLE test_grouped (user_id uuid NOT NULL, transaction_id xid8 NOT NULL)`);
      const users: string[] = [];
      for (let i = 0; i < 12; i += 1) users.push(await registerUser(app));
      GroupedRegistrations.refusedUser = users[3];
      await app.app.get(EventSequencer).sequencePending();
      await app.app.get(AfterListening).start();

      await eventually(async () => {
        const [{ behind }] = await app.db.query(
          `SELECT count(*)::int AS behind FROM subscription_checkpoints
           WHERE subscription_id = 'reaction:test.grouped' AND global_position < (SELECT max(global_position) FROM events)`,
        );
        expect(behind).toBe(0);
      });
      // Every registration but the refused one, once.
      const noted: Array<{ user_id: string }> = await app.db.query(`SELECT user_id FROM test_grouped`);
      expect(noted.map((row) => row.user_id).sort()).toEqual(users.filter((user) => user !== users[3]).sort());
      // 12 partitions, 2 at once: groups of 5, 5 and 2 events (chunk size 5), each one transaction;
      // the refused registration's group committed its 4 others.
      const transactions: Array<{ count: number }> = await app.db.query(
        `SELECT count(*)::int AS count FROM test_grouped GROUP BY transaction_id ORDER BY 1 DESC`,
      );
      expect(transactions.map(({ count }) => count)).toEqual([5, 4, 2]);
      const parked = await app.db.query(`SELECT step, attempts, event_id FROM parked_reactions WHERE reaction = 'reaction:test.grouped'`);
      expect(parked).toEqual([
        { step: 'handle', attempts: 2, event_id: (await app.db.query(`SELECT event_id FROM events WHERE stream_id = $1`, [users[3]]))[0].event_id },
      ]);
      const [{ receipts }] = await app.db.query(
        `SELECT count(*)::int AS receipts FROM reaction_receipts WHERE subscription_id = 'reaction:test.grouped' AND step = '*'`,
      );
      expect(receipts).toBe(12);
    } finally {
      await app.close();
    }
  });
});

describe('events a reaction step appends', () => {
  it('are numbered at once, alone or in a chunk, without waiting for the safety poll', async () => {
    // The safety poll would look again only in ten minutes: only the commit's own wake-up numbers the events.
    const app = await startTestApp({ startReaders: false, env: { EVENT_STORE_SAFETY_POLL_MS: '600000' } });
    try {
      const customer = await registerUser(app, { creditLimit: 1_000_000 });
      // A backlog of one customer's orders: the saga takes them in a chunk.
      const backlog = await Promise.all(Array.from({ length: 6 }, () => placeOrder(app, customer)));
      await app.app.get(EventSequencer).sequencePending();
      await app.app.get(AfterListening).start();
      const confirmed = async (orderIds: string[]) =>
        eventually(async () => {
          const [{ count }] = await app.db.query(`SELECT count(*)::int AS count FROM orders WHERE id = ANY($1) AND status = 'CONFIRMED'`, [orderIds]);
          expect(count).toBe(orderIds.length);
        }, 5_000);
      await confirmed(backlog);
      // And one order alone, taken in a transaction of its own.
      await confirmed([await placeOrder(app, customer)]);
    } finally {
      await app.close();
    }
  });
});
