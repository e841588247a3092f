import { Client, type ClientBase } from 'pg';
import { DataSource } from 'typeorm';
import { classifyFailure } from '../src/shared/failure-classification';
import { dropDatabase } from '../src/database/ensure-database';
import { pgPoolOptions } from '../src/database/pool-options';
import { createTestDatabase } from './support/test-database';

// pg_terminate_backend on the consumer mid-burst ended the whole process: a pooled client checked
// out between two statements of a transaction got PostgreSQL's FATAL with no 'error' listener.
describe('a pooled connection PostgreSQL terminates while a transaction holds it', () => {
  let url: string;
  let dataSource: DataSource;
  let admin: Client;

  beforeAll(async () => {
    url = await createTestDatabase();
    dataSource = new DataSource({ type: 'postgres', url, extra: pgPoolOptions(2) });
    await dataSource.initialize();
    admin = new Client({ connectionString: url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin.end();
    await dataSource.destroy();
    await dropDatabase(url);
  });

  it('does not end the process: the next statement fails as an infrastructure failure and the pool goes on', async () => {
    // The pg pool TypeORM built from these options; a client checked out of it, as TypeORM does
    // for a query runner or transaction, between two statements.
    const pool = (dataSource.driver as unknown as { master: { connect(): Promise<ClientBase & { release(error?: Error): void }> } }).master;
    const client = await pool.connect();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const ended = new Promise((resolve) => client.once('end', resolve));

    // No statement runs on it now: the FATAL arrives as an 'error' event of the client.
    await admin.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
    await ended;

    const failure: unknown = await client.query('SELECT 1').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    expect(classifyFailure(failure)).toBe('infrastructure');
    client.release(failure as Error);
    expect(await dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('never hands out again a connection whose statement was terminated, even released at once without the error (as TypeORM releases)', async () => {
    await dataSource.query('CREATE TABLE IF NOT EXISTS locked_for_test (id int)');
    const runner = dataSource.createQueryRunner();
    const [{ pid }] = await runner.query('SELECT pg_backend_pid() AS pid');
    await admin.query('BEGIN');
    await admin.query('LOCK TABLE locked_for_test IN ACCESS EXCLUSIVE MODE');
    const waiting = runner.query('SELECT count(*) FROM locked_for_test').then(
      () => undefined,
      (error: unknown) => error,
    );
    for (let waited = 0; ; waited += 10) {
      // Inside its transaction a session sees one snapshot of pg_stat_activity until told to forget it.
      await admin.query('SELECT pg_stat_clear_snapshot()');
      const { rows } = await admin.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'`, [pid]);
      if (rows.length > 0) break;
      if (waited > 5000) throw new Error('the statement never waited for the lock');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await admin.query('COMMIT');
    const failure = await waiting;
    expect(classifyFailure(failure)).toBe('infrastructure');
    // Released in the same turn as the failure, before the socket's close can reach the client.
    await runner.release();

    const pids = await Promise.all([0, 1].map(() => dataSource.query('SELECT pg_backend_pid() AS pid').then(([row]) => row.pid)));
    expect(pids).not.toContain(pid);
  });
});
