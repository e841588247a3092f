import { Injectable, Module } from '@nestjs/common';
import { EventsHandler, IEventHandler } from '@nestjs/cqrs';
import { TransactionContext } from '../src/database/transaction-context';
import { DurableReaction, EventSequencer } from '../src/event-store';
import { UserRegisteredEvent } from '../src/modules/users/domain/user.events';
import { AfterListening } from '../src/shared/after-listening';
import { registerUser } from './support/fixtures';
import { eventually, startTestApp } from './support/test-app';

/** A partition key that cannot be computed for one event (a payload of an older shape, say). */
let unkeyable = '';

@Injectable()
@EventsHandler(UserRegisteredEvent)
@DurableReaction({
  id: 'test.unkeyable',
  replaysHistory: true,
  partitionBy: (event) => {
    if ((event as UserRegisteredEvent).userId === unkeyable) throw new Error('no key for this event');
    return (event as UserRegisteredEvent).userId;
  },
})
class NotingHandler implements IEventHandler<UserRegisteredEvent> {
  constructor(private readonly transactions: TransactionContext) {}

  async handle(event: UserRegisteredEvent): Promise<void> {
    await this.transactions.current()!.query(`INSERT INTO test_unkeyable (user_id) VALUES ($1)`, [event.userId]);
  }
}

@Module({ providers: [NotingHandler] })
class UnkeyableModule {}

describe('a reaction whose partition key throws for one event', () => {
  it("still takes every other event, and that one in its stream's order", async () => {
    const app = await startTestApp({
      extraModules: [UnkeyableModule],
      startReaders: false,
      env: { REACTION_MAX_ATTEMPTS: '2', REACTION_RETRY_BASE_MS: '20' },
    });
    try {
      await app.db.query(`CREATE TABLE test_unkeyable (user_id uuid NOT NULL)`);
      const users: string[] = [];
      for (let i = 0; i < 4; i += 1) users.push(await registerUser(app));
      unkeyable = users[1];
      await app.app.get(EventSequencer).sequencePending();
      await app.app.get(AfterListening).start();

      await eventually(async () => {
        const noted: Array<{ user_id: string }> = await app.db.query(`SELECT user_id FROM test_unkeyable`);
        expect(noted.map((row) => row.user_id).sort()).toEqual([...users].sort());
      }, 10_000);
    } finally {
      await app.close();
    }
  }, 30_000);
});
