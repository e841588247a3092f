import { Injectable, Module } from '@nestjs/common';
import { CommandHandler, ICommand, ICommandHandler, ofType, Saga } from '@nestjs/cqrs';
import { Observable } from 'rxjs';
import { mergeMap } from 'rxjs/operators';
import { DurableReaction, DurableReactions, EventSequencer } from '../src/event-store';
import { SubscriptionLeases } from '../src/event-store/segments/subscription-leases';
import { UserRegisteredEvent } from '../src/modules/users/domain/user.events';
import { registerUser } from './support/fixtures';
import { eventually, startTestApp } from './support/test-app';

class NoteRegistrationCommand implements ICommand {
  constructor(readonly userId: string) {}
}

@CommandHandler(NoteRegistrationCommand)
class NoteRegistrationHandler implements ICommandHandler<NoteRegistrationCommand> {
  static readonly executed: string[] = [];
  execute(command: NoteRegistrationCommand): Promise<void> {
    NoteRegistrationHandler.executed.push(command.userId);
    return Promise.resolve();
  }
}

/**
 * A saga whose planning fails transiently in the first process that plans an event (it reads state
 * that was briefly unavailable there), and only once the other process has taken that event.
 */
@Injectable()
@DurableReaction({ id: 'test.flaky-plan', events: [UserRegisteredEvent], replaysHistory: true })
class FlakyPlanSaga {
  static calls = 0;
  static releaseFirst: () => void = () => undefined;
  static readonly firstFails = new Promise<void>((resolve) => (FlakyPlanSaga.releaseFirst = resolve));

  @Saga()
  noteRegistration = (events$: Observable<object>): Observable<ICommand> =>
    events$.pipe(
      ofType(UserRegisteredEvent),
      mergeMap(async (registered) => {
        FlakyPlanSaga.calls += 1;
        if (FlakyPlanSaga.calls === 1) {
          await FlakyPlanSaga.firstFails;
          throw new Error('state briefly unavailable');
        }
        return new NoteRegistrationCommand(registered.userId);
      }),
    );
}

@Module({ providers: [FlakyPlanSaga, NoteRegistrationHandler] })
class FlakyPlanModule {}

const REACTION = 'reaction:test.flaky-plan';

describe('a reaction step failing in a process that lost its lease while another took the event', () => {
  it('is not parked when the other process took the event meanwhile, so no operator retry acts on it again', async () => {
    const first = await startTestApp({ env: { REACTION_MAX_ATTEMPTS: '1' }, extraModules: [FlakyPlanModule], startReaders: false });
    const second = await startTestApp({
      databaseUrl: first.databaseUrl,
      brokerPrefix: first.brokerPrefix,
      extraModules: [FlakyPlanModule],
      startReaders: false,
    });
    try {
      const userId = await registerUser(first);
      await first.app.get(EventSequencer).sequencePending();
      const inFirst = first.app.get(DurableReactions).get(REACTION);
      const inSecond = second.app.get(DurableReactions).get(REACTION);

      // The first process leases the reaction and plans the event; its planning hangs, then fails.
      const firstTakes = inFirst.processNextBatch();
      await eventually(async () => expect(FlakyPlanSaga.calls).toBe(1));
      // Its lease ends with the session that held it (a cut connection), and the second process
      // takes the reaction over and the event with it.
      const [{ cut }] = await first.db.query(
        `SELECT count(pg_terminate_backend(pid))::int AS cut FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = $1`,
        [first.app.get(SubscriptionLeases).applicationName],
      );
      expect(cut).toBe(1);
      await eventually(async () => {
        await inSecond.processNextBatch();
        expect(NoteRegistrationHandler.executed).toEqual([userId]);
      });
      FlakyPlanSaga.releaseFirst();
      await firstTakes;

      expect(await first.db.query(`SELECT step, last_error FROM parked_reactions WHERE reaction = $1`, [REACTION])).toEqual([]);
      // Nothing for an operator to retry, so the registration is noted once.
      await first.db.query(`UPDATE parked_reactions SET retry_requested_at = now() WHERE reaction = $1`, [REACTION]);
      await inFirst.retryRequested();
      expect(NoteRegistrationHandler.executed).toEqual([userId]);
    } finally {
      FlakyPlanSaga.releaseFirst();
      await second.close({ keepDatabase: true });
      await first.close();
    }
  });
});
