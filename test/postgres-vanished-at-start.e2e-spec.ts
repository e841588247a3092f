import { dropDatabase } from '../src/database/ensure-database';
import { ApiProcess } from './support/api-process';
import type { ExitStatus } from './support/exit-status';
import { createTestDatabase, startDatabaseProxy } from './support/test-database';
import type { TcpProxy } from './support/tcp-proxy';
import { TEST_RABBITMQ_URL, uniqueBrokerPrefix } from './support/test-broker';

/**
 * The API started while its PostgreSQL is gone without refusing connections (its machine
 * vanished, the network cut: a connection is accepted by nobody, or by a proxy that forwards
 * nothing). Its first connection (ensureDatabaseExists: the server's version, the database
 * created on a first start) had no bound of its own: the start hung for ever, silent, before the
 * HTTP port opened. It must fail like any other start failure, within the statement reply
 * timeout, with a line that says why, so that a supervisor restarts it.
 */
const REPLY_TIMEOUT_MS = 1500;

let proxy: TcpProxy;
let databaseUrl: string;

beforeAll(async () => {
  proxy = await startDatabaseProxy();
  databaseUrl = await createTestDatabase();
});
afterAll(async () => {
  proxy?.release();
  await proxy?.close();
  await dropDatabase(databaseUrl);
});

it('fails to start within DATABASE_STATEMENT_REPLY_TIMEOUT_MS (exit 1, saying why) instead of hanging', async () => {
  proxy.blackHole();
  const connected = proxy.nextConnection();
  const api = await ApiProcess.spawn({
    DATABASE_URL: proxy.rewrite(databaseUrl),
    DATABASE_STATEMENT_REPLY_TIMEOUT_MS: String(REPLY_TIMEOUT_MS),
    RABBITMQ_URL: TEST_RABBITMQ_URL,
    BROKER_PREFIX: uniqueBrokerPrefix(),
  });
  try {
    // Timed from its first connect, not from the spawn: loading the app took over 8 s on a busy CI machine.
    await Promise.race([connected, api.exited]);
    const ended = await Promise.race([api.exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), REPLY_TIMEOUT_MS + 8000))]);
    expect(ended).toEqual<ExitStatus>({ code: 1, signal: null });
    expect(api.output).toMatch(/PostgreSQL at 127\.0\.0\.1:\d+ could not be reached within 1500 ms \(DATABASE_STATEMENT_REPLY_TIMEOUT_MS\)/);
    // An expected failure: its line says why, with no stack trace (an operator's first sight of a missing database).
    expect(api.output).not.toMatch(/"stack"|\n\s+at /);
  } finally {
    await api.kill('SIGKILL');
  }
}, 90_000);
