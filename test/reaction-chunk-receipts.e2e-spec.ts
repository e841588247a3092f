import { Injectable, Module } from '@nestjs/common';
import { EventsHandler, IEventHandler } from '@nestjs/cqrs';
import { Client } from 'pg';
import { TransactionContext } from '../src/database/transaction-context';
import { DurableReaction, EventSequencer } from '../src/event-store';
import { ReceiptTransaction } from '../src/event-store/reactions/receipt-transaction';
import { UserRegisteredEvent } from '../src/modules/users/domain/user.events';
import { AfterListening } from '../src/shared/after-listening';
import { registerUser } from './support/fixtures';
import { captureStatements } from './support/statement-plans';
import { eventually, startTestApp, type TestApp } from './support/test-app';

const REACTION = 'reaction:test.optimistic-chunk';

/**
 * Notes every registration in the reaction's transaction (one partition: a backlog is taken in
 * chunks). For `refusedUser` it writes its note, then throws, every time. `meanwhile` runs once,
 * in the handler of its user's registration: what another process does while the chunk runs.
 */
@Injectable()
@EventsHandler(UserRegisteredEvent)
@DurableReaction({ id: 'test.optimistic-chunk', replaysHistory: true, partitionBy: () => 'everyone' })
class NoteRegistrations implements IEventHandler<UserRegisteredEvent> {
  static refusedUser = '';
  /** For this user it writes its note, then catches a failed statement and goes on (its transaction is aborted). */
  static swallowingUser = '';
  static meanwhile: { userId: string; run: () => Promise<void> } | undefined;

  constructor(private readonly transactions: TransactionContext) {}

  async handle(event: UserRegisteredEvent): Promise<void> {
    await this.transactions.current()!.query(`INSERT INTO test_noted (user_id, transaction_id) VALUES ($1, pg_current_xact_id())`, [event.userId]);
    if (event.userId === NoteRegistrations.refusedUser) throw new Error('refused after noting it');
    if (event.userId === NoteRegistrations.swallowingUser) await this.transactions.current()!.query('SELECT 1/0').catch(() => undefined);
    const meanwhile = NoteRegistrations.meanwhile;
    if (meanwhile?.userId === event.userId) {
      NoteRegistrations.meanwhile = undefined;
      await meanwhile.run();
    }
  }
}

@Module({ providers: [NoteRegistrations] })
class NoteRegistrationsModule {}

interface Registration {
  userId: string;
  eventId: string;
}

let app: TestApp | undefined;
let elsewhere: Client | undefined;

beforeEach(() => {
  NoteRegistrations.refusedUser = '';
  NoteRegistrations.swallowingUser = '';
  NoteRegistrations.meanwhile = undefined;
});

afterEach(async () => {
  await elsewhere?.end().catch(() => undefined);
  elsewhere = undefined;
  await app?.close();
  app = undefined;
});

/** An app whose reaction has not started, and `count` registrations waiting for it, in commit order. */
async function registrationsWaiting(count: number): Promise<{ app: TestApp; registrations: Registration[] }> {
  app = await startTestApp({
    extraModules: [NoteRegistrationsModule],
    startReaders: false,
    env: { REACTION_CHUNK_SIZE: '5', REACTION_MAX_ATTEMPTS: '2', REACTION_RETRY_BASE_MS: '20' },
  });
  await app.db.query(`CREATE TABLE test_noted (user_id uuid NOT NULL, transaction_id xid8 NOT NULL)`);
  for (let i = 0; i < count; i += 1) await registerUser(app);
  await app.app.get(EventSequencer).sequencePending();
  const registrations: Registration[] = await app.db.query(
    `SELECT payload->>'userId' AS "userId", event_id AS "eventId" FROM events WHERE event_type = 'UserRegistered' ORDER BY global_position`,
  );
  return { app, registrations };
}

/** A connection of the test's own: another process of the reaction. */
async function anotherProcess(test: TestApp): Promise<Client> {
  elsewhere = new Client({ connectionString: test.databaseUrl });
  await elsewhere.connect();
  return elsewhere;
}

/** What another process does when it takes the event: its receipts and its effect. */
async function takeElsewhere(client: Client, { eventId, userId }: Registration): Promise<void> {
  await client.query(`INSERT INTO reaction_receipts (subscription_id, event_id, step) VALUES ($1, $2, '*'), ($1, $2, 'handle')`, [REACTION, eventId]);
  await client.query(`INSERT INTO test_noted (user_id, transaction_id) VALUES ($1, pg_current_xact_id())`, [userId]);
}

async function caughtUp(test: TestApp): Promise<void> {
  await eventually(async () => {
    const [{ behind }] = await test.db.query(
      `SELECT count(*)::int AS behind FROM subscription_checkpoints
       WHERE subscription_id = $1 AND global_position < (SELECT max(global_position) FROM events)`,
      [REACTION],
    );
    expect(behind).toBe(0);
  }, 15_000);
}

/** How many times each registration was noted (effects applied), by its index in commit order. */
async function notedTimes(test: TestApp, registrations: Registration[]): Promise<number[]> {
  const rows: Array<{ user_id: string; times: number }> = await test.db.query(`SELECT user_id, count(*)::int AS times FROM test_noted GROUP BY user_id`);
  return registrations.map(({ userId }) => rows.find((row) => row.user_id === userId)?.times ?? 0);
}

/** The registrations noted together, one transaction each, by their indexes in commit order. */
async function notedTogether(test: TestApp, registrations: Registration[]): Promise<number[][]> {
  const rows: Array<{ users: string[] }> = await test.db.query(`SELECT array_agg(user_id::text) AS users FROM test_noted GROUP BY transaction_id`);
  return rows
    .map(({ users }) => users.map((user) => registrations.findIndex(({ userId }) => userId === user)).sort((a, b) => a - b))
    .sort((a, b) => a[0] - b[0]);
}

async function wholeEventReceipts(test: TestApp): Promise<number> {
  const [{ receipts }] = await test.db.query(`SELECT count(*)::int AS receipts FROM reaction_receipts WHERE subscription_id = $1 AND step = '*'`, [REACTION]);
  return receipts;
}

describe('a chunk of a reaction', () => {
  it('records the receipts of all its events in one INSERT that travels with its COMMIT, and takes no savepoint', async () => {
    // From before the app starts: a pooled connection wraps the query it had when it connected.
    const capture = captureStatements();
    let started: Awaited<ReturnType<typeof registrationsWaiting>>;
    let before: Map<string, number>;
    try {
      started = await registrationsWaiting(5);
      // Sent from here on: the migrations' statements before are not the reaction's.
      before = new Map(capture.statements().map(({ text, count }) => [text, count]));
      await started.app.app.get(AfterListening).start();
      await caughtUp(started.app);
    } finally {
      capture.stop();
    }
    const { app: test, registrations } = started;
    const statements = capture
      .statements()
      .map((statement) => ({ ...statement, count: statement.count - (before.get(statement.text) ?? 0) }))
      .filter(({ count }) => count > 0);
    expect(statements.filter(({ text }) => /SAVEPOINT/i.test(text)).map(({ text }) => text)).toEqual([]);
    const receipts = statements.filter(({ text }) => text.includes(REACTION) && /INSERT INTO reaction_receipts/i.test(text));
    expect(receipts.map(({ text, count }) => ({ count, withCommit: /;\s*COMMIT$/.test(text) }))).toEqual([{ count: 1, withCommit: true }]);
    expect(await notedTogether(test, registrations)).toEqual([[0, 1, 2, 3, 4]]);
    expect(await wholeEventReceipts(test)).toBe(5);
  }, 40_000);

  it('rolls back whole when another process took one of its events meanwhile; each event is handled once', async () => {
    const { app: test, registrations } = await registrationsWaiting(5);
    const other = await anotherProcess(test);
    // While the chunk runs the first event, another process takes the third one, and commits.
    NoteRegistrations.meanwhile = { userId: registrations[0].userId, run: () => takeElsewhere(other, registrations[2]) };
    await test.app.get(AfterListening).start();
    await caughtUp(test);

    expect(await notedTimes(test, registrations)).toEqual([1, 1, 1, 1, 1]);
    // Nothing of the chunk committed: each event was then taken on its own (the third one by the other process).
    expect(await notedTogether(test, registrations)).toEqual([[0], [1], [2], [3], [4]]);
    expect(await wholeEventReceipts(test)).toBe(5);
  }, 40_000);

  it('waits for a transaction in flight that records a receipt of one of its events, then rolls back when it commits', async () => {
    const { app: test, registrations } = await registrationsWaiting(5);
    const other = await anotherProcess(test);
    await other.query('BEGIN');
    await takeElsewhere(other, registrations[2]);
    await test.app.get(AfterListening).start();
    // The chunk's receipts wait on the other process's, not committed yet.
    await eventually(async () => {
      const [{ waiting }] = await test.db.query(
        `SELECT count(*)::int AS waiting FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%INSERT INTO reaction_receipts%'`,
      );
      expect(waiting).toBe(1);
    }, 10_000);
    await other.query('COMMIT');
    await caughtUp(test);

    expect(await notedTimes(test, registrations)).toEqual([1, 1, 1, 1, 1]);
    expect(await wholeEventReceipts(test)).toBe(5);
  }, 40_000);

  // The same outcome whether the failing step throws or catches its failed statement and goes on:
  // in the second case 2 is blamed, not 3 (whose first statement met the aborted transaction),
  // so 0–1 commit together before it and 3–6 after it, instead of each event on its own.
  it.each([
    ['a step failing after its write', 'refusedUser'],
    ['a step that catches a failed statement and goes on', 'swallowingUser'],
  ] as const)(
    'with %s in the middle: that one is retried and parked, its write never commits; the others are handled once, together',
    async (_fault, faultyUser) => {
      const { app: test, registrations } = await registrationsWaiting(7);
      NoteRegistrations[faultyUser] = registrations[2].userId;
      await test.app.get(AfterListening).start();
      await caughtUp(test);

      expect(await notedTimes(test, registrations)).toEqual([1, 1, 0, 1, 1, 1, 1]);
      // 0–1 committed together when 2 failed in their chunk; 2 alone (retried, parked); then 3–6.
      expect(await notedTogether(test, registrations)).toEqual([
        [0, 1],
        [3, 4, 5, 6],
      ]);
      const parked = await test.db.query(`SELECT step, attempts, event_id AS "eventId" FROM parked_reactions WHERE reaction = $1`, [REACTION]);
      expect(parked).toEqual([{ step: 'handle', attempts: 2, eventId: registrations[2].eventId }]);
      expect(await wholeEventReceipts(test)).toBe(7);
    },
    40_000,
  );

  it('whose COMMIT went through but whose answer was lost (the connection cut): its events are not handled again, the reaction goes on', async () => {
    const { app: test, registrations } = await registrationsWaiting(5);
    const prototype = ReceiptTransaction.prototype as unknown as { sendCommit(receipts: readonly unknown[]): Promise<unknown> };
    const sendCommit = prototype.sendCommit;
    let cut = false;
    const spy = jest.spyOn(prototype, 'sendCommit').mockImplementation(async function (this: unknown, receipts: readonly unknown[]) {
      const answer = await sendCommit.call(this, receipts);
      if (receipts.length > 1 && !cut) {
        cut = true;
        throw new Error('Connection terminated unexpectedly');
      }
      return answer;
    });
    try {
      await test.app.get(AfterListening).start();
      await caughtUp(test);
    } finally {
      spy.mockRestore();
    }

    expect(cut).toBe(true);
    expect(await notedTimes(test, registrations)).toEqual([1, 1, 1, 1, 1]);
    expect(await notedTogether(test, registrations)).toEqual([[0, 1, 2, 3, 4]]);
    expect(await wholeEventReceipts(test)).toBe(5);
  }, 40_000);
});
