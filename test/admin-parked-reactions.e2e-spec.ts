import { randomUUID } from 'node:crypto';
import { Injectable, Module } from '@nestjs/common';
import { EventsHandler, IEventHandler } from '@nestjs/cqrs';
import type { Response } from 'supertest';
import { TransactionContext } from '../src/database/transaction-context';
import { DurableReaction } from '../src/event-store';
import { UserRegisteredEvent } from '../src/modules/users/domain/user.events';
import { runBuiltCli } from './support/built-cli';
import { registerUser } from './support/fixtures';
import { eventually, startTestApp, TestApp } from './support/test-app';

/** Parked reaction steps through the admin API: listed, retried one by one or all at once. */

const REACTION = 'reaction:test.welcome-mail';

/** Sends a welcome (a row) per registration, in the reaction's transaction; refuses the users listed in `test_refused_users`. */
@Injectable()
@EventsHandler(UserRegisteredEvent)
@DurableReaction({ id: 'test.welcome-mail', replaysHistory: true })
class WelcomeMail implements IEventHandler<UserRegisteredEvent> {
  constructor(private readonly transactions: TransactionContext) {}

  async handle({ userId }: UserRegisteredEvent): Promise<void> {
    const transaction = this.transactions.current()!;
    const refused: unknown[] = await transaction.query(`SELECT 1 FROM test_refused_users WHERE id = $1`, [userId]);
    if (refused.length > 0) throw new Error(`the mail server refuses ${userId} (test fault)`);
    await transaction.query(`INSERT INTO test_welcomes (user_id) VALUES ($1)`, [userId]);
  }
}

@Module({ providers: [WelcomeMail] })
class WelcomeMailModule {}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions walk arbitrary JSON
type Json = Record<string, any>;

function expectProblem(response: Response, status: number, code: string): void {
  expect({ status: response.status, contentType: response.headers['content-type'], code: response.body.code }).toEqual({
    status,
    contentType: expect.stringMatching(/^application\/problem\+json/),
    code,
  });
}

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ env: { REACTION_MAX_ATTEMPTS: '2', REACTION_RETRY_BASE_MS: '20' }, extraModules: [WelcomeMailModule] });
  await app.db.query(`CREATE TABLE test_refused_users (id uuid PRIMARY KEY)`);
  await app.db.query(`CREATE TABLE test_welcomes (user_id uuid PRIMARY KEY)`);
});
afterAll(() => app?.close());

/**
 * Registers a user whose welcome the mail server refuses until `test_refused_users` forgets it;
 * call it while the reaction is paused, so that the refusal is in place before it sees the user.
 */
async function registerRefusedUser(): Promise<string> {
  const userId = await registerUser(app);
  await app.db.query(`INSERT INTO test_refused_users (id) VALUES ($1)`, [userId]);
  return userId;
}

async function parked(query = ''): Promise<Json> {
  return (await app.http().get(`/admin/parked-reactions${query}`).expect(200)).body;
}

async function welcomed(userId: string): Promise<boolean> {
  return (await app.db.query(`SELECT 1 FROM test_welcomes WHERE user_id = $1`, [userId])).length > 0;
}

async function registrationOf(userId: string): Promise<string> {
  const [{ eventId }] = await app.db.query(`SELECT event_id AS "eventId" FROM events WHERE stream_id = $1 AND event_type = 'UserRegistered'`, [userId]);
  return eventId;
}

/** Holds the reaction back while `work` registers users, so that they are refused before it sees them. */
async function whileReactionPaused(work: () => Promise<void>): Promise<void> {
  await app.http().post(`/admin/subscriptions/${encodeURIComponent(REACTION)}/pause`).send({ reason: 'set up a refusal' }).expect(200);
  await work();
  await app.http().post(`/admin/subscriptions/${encodeURIComponent(REACTION)}/resume`).expect(200);
}

describe('parked reactions through the admin API', () => {
  it('lists a parked step with its event, attempts and error, as the CLI does', async () => {
    let refused = '';
    await whileReactionPaused(async () => {
      refused = await registerRefusedUser();
    });
    const eventId = await registrationOf(refused);
    const list = await eventually(async () => {
      const body = await parked();
      expect(body.total).toBe(1);
      return body;
    });
    expect(list.items).toEqual([
      {
        reaction: REACTION,
        step: 'handle',
        eventId,
        eventType: 'UserRegistered',
        streamId: refused,
        eventPosition: expect.stringMatching(/^\d+$/),
        attempts: 2,
        parkedAt: expect.any(String),
        retryRequestedAt: null,
        lastError: expect.stringContaining(`the mail server refuses ${refused} (test fault)`),
      },
    ]);
    const cli = await runBuiltCli('dist/src/cli/parked-reactions.js', app.databaseUrl, 'list');
    expect(cli.stdout).toContain(`${REACTION}\thandle\tUserRegistered ${eventId}\tstream ${refused}\t2 attempts`);
  });

  it('retries one parked step: a failure parks it again with one attempt more, a success removes it and applies the effect once', async () => {
    const [{ streamId: refused, eventId }] = (await parked()).items as Json[];
    const retryOne = () => app.http().post(`/admin/parked-reactions/${encodeURIComponent(REACTION)}/${eventId}/retry`);

    const stillBroken = await retryOne().expect(202);
    expect(stillBroken.body).toEqual({ requested: 1 });
    await eventually(async () => expect((await parked()).items).toEqual([expect.objectContaining({ eventId, attempts: 3, retryRequestedAt: null })]));
    expect(await welcomed(refused)).toBe(false);

    await app.db.query(`DELETE FROM test_refused_users WHERE id = $1`, [refused]);
    await retryOne().expect(202);
    await eventually(async () => expect(await parked()).toEqual({ total: 0, items: [] }));
    expect(await welcomed(refused)).toBe(true);
  });

  it('retries every parked step at once; the list pages with limit', async () => {
    const refused: string[] = [];
    await whileReactionPaused(async () => {
      refused.push(await registerRefusedUser(), await registerRefusedUser());
    });
    await eventually(async () => expect((await parked()).total).toBe(2));
    const page = await parked('?limit=1');
    expect({ total: page.total, items: page.items.length }).toEqual({ total: 2, items: 1 });

    await app.db.query(`DELETE FROM test_refused_users`);
    expect((await app.http().post('/admin/parked-reactions/retry').expect(202)).body).toEqual({ requested: 2 });
    await eventually(async () => expect((await parked()).total).toBe(0));
    for (const userId of refused) expect(await welcomed(userId)).toBe(true);
    // Nothing parked: nothing to retry, not an error.
    expect((await app.http().post('/admin/parked-reactions/retry').expect(202)).body).toEqual({ requested: 0 });
  });

  it('answers 404 for a step that is not parked and 400 for malformed input', async () => {
    expectProblem(await app.http().post(`/admin/parked-reactions/${encodeURIComponent(REACTION)}/${randomUUID()}/retry`), 404, 'PARKED_REACTION_NOT_FOUND');
    expectProblem(await app.http().post(`/admin/parked-reactions/${encodeURIComponent(REACTION)}/not-a-uuid/retry`), 400, 'BAD_REQUEST');
    expectProblem(await app.http().post(`/admin/parked-reactions/${encodeURIComponent('reaction one')}/${randomUUID()}/retry`), 400, 'VALIDATION_FAILED');
    for (const query of ['?limit=0', '?limit=1001', '?limit=many', '?other=1']) {
      expectProblem(await app.http().get(`/admin/parked-reactions${query}`), 400, 'VALIDATION_FAILED');
    }
  });
});
