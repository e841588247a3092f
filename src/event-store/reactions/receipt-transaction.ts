import type { ClientBase } from 'pg';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { isPostgresError, UNIQUE_VIOLATION } from '../../database/postgres-errors';
import { WHOLE_EVENT } from './reaction-receipts';

/** The primary key of reaction_receipts (subscription_id, event_id, step), as PostgreSQL named it. */
const RECEIPTS_KEY = 'reaction_receipts_pkey';
/** `in_failed_sql_transaction`: a statement sent after one failed in the same transaction. */
export const IN_FAILED_TRANSACTION = '25P02';

/** A statement of the transaction failed and was caught: PostgreSQL would roll it back at COMMIT. */
export class TransactionAbortedError extends Error {
  constructor() {
    super('a statement of the transaction failed and was caught, so the transaction cannot commit (it was rolled back)');
  }
}

/**
 * A receipt of the reaction found recorded already when the chunk's receipts were written: another
 * process took that event meanwhile (or in a transaction this one waited for). Nothing of the
 * transaction committed.
 */
export class ReceiptRecordedElsewhereError extends Error {
  constructor(readonly detail: string | undefined) {
    super(`a receipt of the transaction was recorded elsewhere meanwhile, so it was rolled back${detail ? ` (${detail})` : ''}`);
  }
}

/** The receipts of one event: the steps of the reaction that took it. */
export interface EventReceipts {
  eventId: string;
  steps: readonly string[];
}

/**
 * A transaction in which a reaction records its receipts (`reaction_receipts`) together with
 * the effects they stand for, on a connection of the pool.
 *
 * Every round trip costs a socket write and read on both sides, so the statements that need no
 * answer in between travel together: `BEGIN` with its settings and, for one event, its receipts'
 * `INSERT`; for a chunk of events, their receipts' `INSERT` with the `COMMIT` (PostgreSQL's simple
 * query protocol runs several statements per message; it binds no parameters, so values are
 * quoted with pg's `escapeLiteral`). TypeORM's own `transaction()` would send `START TRANSACTION`
 * on a round trip of its own. The query runner is marked as inside a transaction, so repositories
 * that join it (TransactionContext), TypeORM's nested savepoints, and its commit and rollback
 * work as if TypeORM had begun it.
 */
export class ReceiptTransaction {
  private constructor(
    private readonly runner: QueryRunner,
    private readonly client: ClientBase,
    private readonly subscriptionId: string,
  ) {}

  /**
   * Begins a transaction for the reaction `subscriptionId`. `lockTimeoutMs`: a statement that
   * waits longer than this for a lock fails (`SET LOCAL lock_timeout`); undefined waits as long as
   * it takes. `receipt`: records it in the same round trip; `recorded` are the steps recorded now.
   * A step missing from the answer was recorded before, or by a transaction in flight that this
   * one waited for: it must not act again.
   */
  static async begin(
    dataSource: DataSource,
    subscriptionId: string,
    { lockTimeoutMs, receipt }: { lockTimeoutMs?: number; receipt?: EventReceipts } = {},
  ): Promise<{ transaction: ReceiptTransaction; recorded: string[] }> {
    const runner = dataSource.createQueryRunner();
    const client = (await runner.connect()) as ClientBase;
    const transaction = new ReceiptTransaction(runner, client, subscriptionId);
    const statements = ['BEGIN'];
    if (lockTimeoutMs !== undefined) statements.push(`SET LOCAL lock_timeout = ${Math.round(lockTimeoutMs)}`);
    if (receipt) statements.push(transaction.receiptInsert(receipt.eventId, receipt.steps));
    let results: unknown[];
    try {
      results = (await client.query(statements.join('; '))) as unknown as unknown[];
    } catch (error) {
      // The BEGIN may have gone through: the connection must not go back to the pool inside it.
      await client.query('ROLLBACK').catch(() => undefined);
      await runner.release();
      throw error;
    }
    const begun = runner as unknown as { isTransactionActive: boolean; transactionDepth: number };
    begun.isTransactionActive = true;
    begun.transactionDepth = 1;
    return { transaction, recorded: receipt ? stepsOf(results[results.length - 1]) : [] };
  }

  /** For repositories and the writer (TransactionContext.run). */
  get manager(): EntityManager {
    return this.runner.manager;
  }

  /**
   * Commits and returns the connection; TypeORM's subscribers hear of it as of any commit
   * (AppendedOnCommit wakes the sequencer). Rejects with TransactionAbortedError when an error had
   * aborted the transaction (some code caught a failed statement and went on): PostgreSQL then
   * answers COMMIT with `ROLLBACK` and no error, which TypeORM's commitTransaction passes over.
   * The answer's command tag is the only sure sign: pg rejects a failed statement before it reads
   * the server's next transaction status, so a status check can still say "in transaction".
   *
   * `receipts`: recorded in one INSERT sent with the COMMIT, in the same round trip. A plain
   * INSERT, not `ON CONFLICT DO NOTHING`: a receipt already there, or recorded by a transaction
   * in flight (the INSERT waits for its end, within `lock_timeout`) and committed, fails it with
   * a unique violation, and PostgreSQL skips the rest of the message, the COMMIT: all of them are
   * recorded, or nothing commits (ReceiptRecordedElsewhereError; the transaction is rolled back).
   */
  async commit(receipts: readonly EventReceipts[] = []): Promise<void> {
    try {
      await this.runner.broadcaster.broadcast('BeforeTransactionCommit');
      const result = await this.sendCommit(receipts);
      const state = this.runner as unknown as { isTransactionActive: boolean; transactionDepth: number };
      state.isTransactionActive = false;
      state.transactionDepth = 0;
      if (result.command !== 'COMMIT') throw new TransactionAbortedError();
      await this.runner.broadcaster.broadcast('AfterTransactionCommit');
    } finally {
      await this.end();
    }
  }

  /** Rolls back (if still open) and returns the connection; never throws, and does nothing the second time. */
  async end(): Promise<void> {
    if (this.runner.isReleased) return;
    if (this.runner.isTransactionActive) await this.runner.rollbackTransaction().catch(() => undefined);
    await this.runner.release().catch(() => undefined);
  }

  /** Sends the COMMIT, after the receipts' INSERT when there are any (see commit); COMMIT's answer. */
  private async sendCommit(receipts: readonly EventReceipts[]): Promise<{ command: string }> {
    const rows = receipts.flatMap(({ eventId, steps }) => steps.map((step) => [eventId, step] as const));
    if (rows.length === 0) return (await this.client.query('COMMIT')) as unknown as { command: string };
    try {
      const [, committed] = (await this.client.query(`${this.receiptsInsert(rows)}; COMMIT`)) as unknown as [unknown, { command: string }];
      return committed;
    } catch (error) {
      if (isPostgresError(error) && error.code === UNIQUE_VIOLATION && error.constraint === RECEIPTS_KEY) {
        throw new ReceiptRecordedElsewhereError((error as { detail?: string }).detail);
      }
      if (isPostgresError(error) && error.code === IN_FAILED_TRANSACTION) throw new TransactionAbortedError();
      throw error;
    }
  }

  private receiptsInsert(steps: ReadonlyArray<readonly [eventId: string, step: string]>): string {
    const literal = (value: string) => this.client.escapeLiteral(value);
    const subscriptionId = literal(this.subscriptionId);
    const rows = steps.map(([eventId, step]) => `(${subscriptionId}, ${literal(eventId)}, ${literal(step)})`);
    return `INSERT INTO reaction_receipts (subscription_id, event_id, step) VALUES ${rows.join(', ')}`;
  }

  /**
   * Records the receipts of `steps` of the event, unless the reaction took the event as a whole
   * already (its `*` receipt): a step whose plan had no work in the process that took it, but has
   * now, must not act on a done event (a chunk that lost its race for the event to another process
   * falls back to taking it step by step).
   */
  private receiptInsert(eventId: string, steps: readonly string[]): string {
    const literal = (value: string) => this.client.escapeLiteral(value);
    const [subscriptionId, event] = [literal(this.subscriptionId), literal(eventId)];
    return `INSERT INTO reaction_receipts (subscription_id, event_id, step)
      SELECT ${subscriptionId}, ${event}, unnest(ARRAY[${steps.map(literal).join(', ')}]::text[])
      WHERE NOT EXISTS (SELECT 1 FROM reaction_receipts WHERE subscription_id = ${subscriptionId} AND event_id = ${event} AND step = '${WHOLE_EVENT}')
      ON CONFLICT DO NOTHING RETURNING step`;
  }
}

function stepsOf(result: unknown): string[] {
  return (result as { rows: Array<{ step: string }> }).rows.map(({ step }) => step);
}

/**
 * Runs `work` in a ReceiptTransaction that opens by recording the receipts of `steps` of the
 * event, and commits them together. `work` gets the steps recorded now (see ReceiptTransaction.begin).
 */
export async function inReceiptTransaction(
  dataSource: DataSource,
  receipt: { subscriptionId: string; eventId: string; steps: readonly string[]; lockTimeoutMs?: number },
  work: (recorded: readonly string[], transaction: EntityManager) => Promise<void>,
): Promise<void> {
  const { transaction, recorded } = await ReceiptTransaction.begin(dataSource, receipt.subscriptionId, { receipt, lockTimeoutMs: receipt.lockTimeoutMs });
  try {
    await work(recorded, transaction.manager);
    await transaction.commit();
  } finally {
    await transaction.end();
  }
}
