import { dropDatabase } from '../src/database/ensure-database';
import { ApiProcess } from './support/api-process';
import type { ExitStatus } from './support/exit-status';
import type { TcpProxy } from './support/tcp-proxy';
import { TEST_RABBITMQ_URL, uniqueBrokerPrefix } from './support/test-broker';
import { createTestDatabase, startDatabaseProxy } from './support/test-database';

/**
 * A stop (SIGTERM) of the API during its start while PostgreSQL is silent (its machine gone, the
 * network cut: no FIN, no RST, played by a proxy that black-holes both directions from before the
 * start): the start waits on its first connect (ensureDatabaseExists), which only
 * DATABASE_STATEMENT_REPLY_TIMEOUT_MS (30 s by default) would end. Nothing is in flight before
 * the app listens, so a stop then exits 0 at once (src/shared/graceful-shutdown.ts: "a signal during
 * start exits at once"), neither waiting for the reply timeout nor for SHUTDOWN_TIMEOUT_MS (10 s).
 * See test/api-stop-postgres-vanished.e2e-spec.ts for a stop while silent once started.
 */
/** What "at once" may take on a loaded machine: well below either bound. */
const STOP_WITHIN_MS = 5000;

let proxy: TcpProxy;
let databaseUrl: string;

beforeAll(async () => {
  proxy = await startDatabaseProxy();
  databaseUrl = await createTestDatabase();
});
afterAll(async () => {
  proxy?.release();
  await proxy?.close();
  if (databaseUrl) await dropDatabase(databaseUrl);
});

it('exits 0 within seconds of a SIGTERM sent while its first connect waits on a silent PostgreSQL, not after the reply or shutdown timeout', async () => {
  proxy.blackHole();
  const connected = proxy.nextConnection();
  // The production defaults of both bounds, which the stop must not wait for.
  const api = await ApiProcess.spawn({
    DATABASE_URL: proxy.rewrite(databaseUrl),
    DATABASE_STATEMENT_REPLY_TIMEOUT_MS: undefined,
    SHUTDOWN_TIMEOUT_MS: undefined,
    RABBITMQ_URL: TEST_RABBITMQ_URL,
    BROKER_PREFIX: uniqueBrokerPrefix(),
    LOG_LEVEL: 'log',
  });
  try {
    // Timed from its first connect, not from the spawn: loading the app took over 8 s on a busy CI machine.
    expect(await Promise.race([connected.then(() => 'connected'), api.exited])).toBe('connected');
    const signalledAt = Date.now();
    api.signal('SIGTERM');

    const ended = await Promise.race([api.exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), STOP_WITHIN_MS))]);
    const stopMs = Date.now() - signalledAt;
    process.stderr.write(`stopped ${stopMs} ms after SIGTERM: ${JSON.stringify(ended)}\n`);

    expect(ended).toEqual<ExitStatus>({ code: 0, signal: null });
    expect(api.output).toContain('SIGTERM received while starting: exiting');
    expect(api.output).not.toMatch(/failed to start|did not stop within/);
  } finally {
    await api.kill('SIGKILL');
  }
}, 90_000);
