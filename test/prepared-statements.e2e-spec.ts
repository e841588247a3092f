import type { ClientBase } from 'pg';
import { DataSource } from 'typeorm';
import { dropDatabase } from '../src/database/ensure-database';
import { pgPoolOptions } from '../src/database/pool-options';
import { MAX_PREPARED_STATEMENTS_PER_CONNECTION } from '../src/database/prepared-statements';
import { createTestDatabase } from './support/test-database';

type PooledClient = ClientBase & { release(): void };

async function withPoolOf(preparedStatements: boolean, work: (client: PooledClient) => Promise<void>): Promise<void> {
  const url = await createTestDatabase();
  const dataSource = new DataSource({ type: 'postgres', url, extra: pgPoolOptions(1, { preparedStatements }) });
  await dataSource.initialize();
  try {
    // The pg pool TypeORM built from these options, and its one connection.
    const pool = (dataSource.driver as unknown as { master: { connect(): Promise<PooledClient> } }).master;
    const client = await pool.connect();
    try {
      await work(client);
    } finally {
      client.release();
    }
  } finally {
    await dataSource.destroy();
    await dropDatabase(url);
  }
}

/** What this session has prepared, as PostgreSQL reports it. */
async function preparedOn(client: ClientBase): Promise<Array<{ name: string; statement: string }>> {
  const { rows } = await client.query(`SELECT name, statement FROM pg_prepared_statements ORDER BY name`);
  return rows;
}

describe('pooled connections', () => {
  it('prepare each statement with parameters once and reuse it; statements without parameters stay unprepared', async () => {
    await withPoolOf(true, async (client) => {
      for (let i = 0; i < 3; i += 1) {
        expect((await client.query('SELECT $1::int + 1 AS next', [i])).rows).toEqual([{ next: i + 1 }]);
      }
      await client.query(`SELECT 'no parameters'`);
      await client.query('SELECT $1::text AS echoed', ['another text']);

      expect(await preparedOn(client)).toEqual([
        { name: 's0', statement: 'SELECT $1::int + 1 AS next' },
        { name: 's1', statement: 'SELECT $1::text AS echoed' },
      ]);
    });
  });

  it(`prepare at most ${MAX_PREPARED_STATEMENTS_PER_CONNECTION} texts per connection; later texts run unprepared and still work`, async () => {
    await withPoolOf(true, async (client) => {
      for (let i = 0; i <= MAX_PREPARED_STATEMENTS_PER_CONNECTION; i += 1) {
        expect((await client.query(`SELECT $1::int AS value, ${i} AS text_${i}`, [i])).rows[0].value).toBe(i);
      }
      const prepared = await preparedOn(client);
      expect(prepared).toHaveLength(MAX_PREPARED_STATEMENTS_PER_CONNECTION);
      expect(prepared.some(({ statement }) => statement.includes(`text_${MAX_PREPARED_STATEMENTS_PER_CONNECTION}`))).toBe(false);
    });
  });

  it('prepare nothing when turned off (for a transaction-mode pooler)', async () => {
    await withPoolOf(false, async (client) => {
      await client.query('SELECT $1::int AS value', [1]);
      await client.query('SELECT $1::int AS value', [2]);
      expect(await preparedOn(client)).toEqual([]);
    });
  });
});
