import { Client } from 'pg';
import { ensureDatabaseExists } from '../src/database/ensure-database';
import type { TcpProxy } from './support/tcp-proxy';
import { startDatabaseProxy, TEST_SERVER_URL } from './support/test-database';

/**
 * ensureDatabaseExists bounds its connect and its statements (DATABASE_STATEMENT_REPLY_TIMEOUT_MS),
 * but it ended its connection with pg's end(), which waits for the server to close its side: a
 * server that vanished after its last answer (no FIN, no RST) never does, and the start hung
 * there for ever, as it did before the bound. The server here vanishes just as the connection
 * is ended (an existing database: the `postgres` one, so nothing is created).
 */
let proxy: TcpProxy;

beforeAll(async () => {
  proxy = await startDatabaseProxy();
});
afterAll(async () => {
  jest.restoreAllMocks();
  proxy?.release();
  await proxy?.close();
});

it('returns even when the server vanishes as its connection is ended', async () => {
  const end = Client.prototype.end;
  jest.spyOn(Client.prototype, 'end').mockImplementation(function (this: Client, ...args: unknown[]) {
    proxy.blackHole();
    return (end as (...a: unknown[]) => unknown).apply(this, args);
  } as never);
  const url = proxy.rewrite(`${TEST_SERVER_URL}/postgres`);
  const outcome = await Promise.race([
    ensureDatabaseExists(url, { replyTimeoutMs: 1500 }).then(() => 'returned'),
    new Promise<string>((resolve) => setTimeout(() => resolve('still waiting after 8 s'), 8000).unref()),
  ]);
  expect(outcome).toBe('returned');
}, 20_000);
