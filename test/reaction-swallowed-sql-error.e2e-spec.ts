import { Injectable, Module } from '@nestjs/common';
import { EventsHandler, IEventHandler } from '@nestjs/cqrs';
import { TransactionContext } from '../src/database/transaction-context';
import { DurableReaction, EventSequencer } from '../src/event-store';
import { UserRegisteredEvent } from '../src/modules/users/domain/user.events';
import { AfterListening } from '../src/shared/after-listening';
import { registerUser } from './support/fixtures';
import { eventually, startTestApp } from './support/test-app';

/**
 * A step that catches an SQL error of its own (an optional lookup) and goes on: the transaction is
 * aborted, and its commit is refused. Like any failing step it must be retried and parked, and
 * the reaction must go on to the events after it.
 */
@Injectable()
@EventsHandler(UserRegisteredEvent)
@DurableReaction({ id: 'test.swallowing', replaysHistory: true })
class SwallowingHandler implements IEventHandler<UserRegisteredEvent> {
  static swallowingFor = '';

  constructor(private readonly transactions: TransactionContext) {}

  async handle(event: UserRegisteredEvent): Promise<void> {
    const transaction = this.transactions.current()!;
    if (event.userId === SwallowingHandler.swallowingFor) {
      await transaction.query(`SELECT 1 / 0`).catch(() => undefined);
      return;
    }
    await transaction.query(`INSERT INTO test_swallowing (user_id) VALUES ($1)`, [event.userId]);
  }
}

@Module({ providers: [SwallowingHandler] })
class SwallowingModule {}

describe('a reaction step that swallows an SQL error', () => {
  it('is retried and parked, and the reaction goes on to the later events', async () => {
    const app = await startTestApp({
      extraModules: [SwallowingModule],
      startReaders: false,
      // Small batches: the later events are read in batches after the swallowing one's.
      // warn: the retries show in the output should this ever take long.
      env: { REACTION_MAX_ATTEMPTS: '2', REACTION_RETRY_BASE_MS: '20', REACTION_BATCH_SIZE: '2', LOG_LEVEL: 'warn' },
    });
    try {
      await app.db.query(`CREATE TABLE test_swallowing (user_id uuid NOT NULL)`);
      const users: string[] = [];
      for (let i = 0; i < 5; i += 1) users.push(await registerUser(app));
      SwallowingHandler.swallowingFor = users[0];
      await app.app.get(EventSequencer).sequencePending();
      await app.app.get(AfterListening).start();

      // The other partitions go on while the swallowing one waits for its retries, so the two
      // outcomes come in either order.
      await eventually(async () => {
        const noted: Array<{ user_id: string }> = await app.db.query(`SELECT user_id FROM test_swallowing`);
        expect(noted.map((row) => row.user_id).sort()).toEqual(users.slice(1).sort());
        const parked = await app.db.query(`SELECT step FROM parked_reactions WHERE reaction = 'reaction:test.swallowing'`);
        expect(parked).toEqual([{ step: 'handle' }]);
      }, 15_000).catch(async (error: unknown) => {
        const state = {
          checkpoint: await app.db.query(`SELECT * FROM subscription_checkpoints WHERE subscription_id = 'reaction:test.swallowing'`),
          receipts: await app.db.query(`SELECT event_id, step FROM reaction_receipts WHERE subscription_id = 'reaction:test.swallowing'`),
          connections: await app.db.query(`SELECT count(*)::int AS n FROM pg_stat_activity`),
        };
        throw new Error(`${String(error)}\nstate: ${JSON.stringify(state)}`);
      });
    } finally {
      await app.close();
    }
  }, 40_000);
});
