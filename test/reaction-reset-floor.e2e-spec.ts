import { EventsHandler, IEventHandler } from '@nestjs/cqrs';
import { Module } from '@nestjs/common';
import { DurableReaction, EventSequencer } from '../src/event-store';
import { UserRegisteredEvent } from '../src/modules/users/domain/user.events';
import { registerUser } from './support/fixtures';
import { eventually, startTestApp } from './support/test-app';

@EventsHandler(UserRegisteredEvent)
@DurableReaction({ id: 'test.welcome-from-now' })
class WelcomeFromNow implements IEventHandler<UserRegisteredEvent> {
  static readonly seen: string[] = [];
  handle(event: UserRegisteredEvent): void {
    WelcomeFromNow.seen.push(event.userId);
  }
}
@Module({ providers: [WelcomeFromNow] })
class WelcomeModule {}

describe('a reaction that started at the head, reset to the beginning', () => {
  it('acts on nothing from before it existed', async () => {
    const first = await startTestApp();
    await registerUser(first);
    await first.app.get(EventSequencer).sequencePending();
    await first.close({ keepDatabase: true });
    const second = await startTestApp({
      databaseUrl: first.databaseUrl,
      brokerPrefix: first.brokerPrefix,
      extraModules: [WelcomeModule],
      env: { EVENT_STORE_SAFETY_POLL_MS: '200' },
    });
    try {
      const later = await registerUser(second);
      await eventually(async () => expect(WelcomeFromNow.seen).toEqual([later]));
      await second.db.query(`UPDATE subscription_checkpoints SET global_position = 0 WHERE subscription_id = 'reaction:test.welcome-from-now'`);
      await eventually(async () => {
        const [{ at }] = await second.db.query(`SELECT global_position::int AS at FROM subscription_checkpoints WHERE subscription_id = 'reaction:test.welcome-from-now'`);
        expect(at).toBeGreaterThan(0);
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(WelcomeFromNow.seen).toEqual([later]);
    } finally {
      await second.close();
    }
  });
});
