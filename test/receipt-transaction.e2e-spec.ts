import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { ReceiptTransaction, TransactionAbortedError } from '../src/event-store/reactions/receipt-transaction';
import { createMigratedDataSource } from './support/test-database';

describe('a receipt transaction', () => {
  let dataSource: DataSource;
  let drop: () => Promise<void>;

  beforeAll(async () => ({ dataSource, drop } = await createMigratedDataSource()));
  afterAll(() => drop());

  const receiptsOf = async (eventId: string): Promise<string[]> =>
    (await dataSource.query(`SELECT step FROM reaction_receipts WHERE event_id = $1 ORDER BY step`, [eventId])).map((row: { step: string }) => row.step);

  it('commits its receipts with the work', async () => {
    const eventId = randomUUID();
    const { transaction, recorded } = await ReceiptTransaction.begin(dataSource, "reaction:test.o'dd", { receipt: { eventId, steps: ['*', 'handle'] } });
    expect(recorded.sort()).toEqual(['*', 'handle']);
    await transaction.commit();
    expect(await receiptsOf(eventId)).toEqual(['*', 'handle']);
  });

  // A single event's steps, taken one by one after another process took the event as a whole
  // (a chunk that lost its race to it falls back so): a step this process plans work for, but
  // that one did not, must not act on an event that has its whole-event receipt.
  it('records no step receipt for an event already taken as a whole', async () => {
    const eventId = randomUUID();
    const subscriptionId = 'reaction:test.taken';
    await dataSource.query(`INSERT INTO reaction_receipts (subscription_id, event_id, step) VALUES ($1, $2, '*')`, [subscriptionId, eventId]);
    const { transaction, recorded } = await ReceiptTransaction.begin(dataSource, subscriptionId, { receipt: { eventId, steps: ['first-step'] } });
    expect(recorded).toEqual([]);
    await transaction.commit();
    expect(await receiptsOf(eventId)).toEqual(['*']);
  });

  it('refuses to report a commit that PostgreSQL answered with ROLLBACK, even while pg still reports the transaction as open', async () => {
    const eventId = randomUUID();
    const { transaction } = await ReceiptTransaction.begin(dataSource, 'reaction:test.aborting', { receipt: { eventId, steps: ['*'] } });
    // Work that catches a failed statement and goes on: the transaction is aborted.
    await transaction.manager.query(`SELECT 1 / 0`).catch(() => undefined);
    // pg rejects a failed statement before it reads the server's next status ('E'); before that
    // read, it still says 'T'. The commit must not rely on it.
    const client = (transaction.manager.queryRunner as unknown as { databaseConnection: { _txStatus: string } }).databaseConnection;
    client._txStatus = 'T';
    await expect(transaction.commit()).rejects.toBeInstanceOf(TransactionAbortedError);
    expect(await receiptsOf(eventId)).toEqual([]);
  });
});
