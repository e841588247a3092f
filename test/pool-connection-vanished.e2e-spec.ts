import { Pool } from 'pg';
import { dropDatabase } from '../src/database/ensure-database';
import { pgPoolOptions } from '../src/database/pool-options';
import { createTestDatabase } from './support/test-database';

/**
 * The server's side of a pool connection whose client's host vanished (no FIN, no RST): the
 * server kept its backend, a connection slot, for the OS's 2 h 11 min of TCP keepalive. A
 * vanished host cannot be played here (the test's proxy, like any proxy, answers keepalive for its
 * client), so this checks what the server was told: its keepalive gives such a client up after
 * about 25 s. The test server is reached over TCP (on a Unix socket the settings read 0).
 */
let url: string;

beforeAll(async () => {
  url = await createTestDatabase();
});
afterAll(async () => {
  await dropDatabase(url);
});

it("sets the server's side of every pool connection: TCP keepalive and the connection check, and no idle session timeout (a rebuild lock sits idle on one)", async () => {
  const pool = new Pool({ connectionString: url, ...pgPoolOptions(1, { applicationName: 'pool-settings' }) });
  try {
    const { rows } = await pool.query<Record<string, string>>(
      `SELECT current_setting('tcp_keepalives_idle') AS idle, current_setting('tcp_keepalives_interval') AS interval,
         current_setting('tcp_keepalives_count') AS count, current_setting('idle_session_timeout') AS "idleSession",
         current_setting('client_connection_check_interval') AS "connectionCheck"`,
    );
    expect(rows[0]).toEqual({ idle: '10', interval: '5', count: '3', idleSession: '0', connectionCheck: '2s' });
  } finally {
    await pool.end();
  }
});
