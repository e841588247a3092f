import { Client } from 'pg';
import { DatabaseNotifications } from '../src/database/database-notifications';
import { dropDatabase } from '../src/database/ensure-database';
import { POOL_KEEPALIVE_INITIAL_DELAY_MS } from '../src/database/pool-options';
import { eventually } from './support/test-app';
import { createTestDatabase, startDatabaseProxy } from './support/test-database';
import type { TcpProxy } from './support/tcp-proxy';

/**
 * The LISTEN connection (DatabaseNotifications) whose PostgreSQL vanished without closing it (no
 * FIN, no RST), played by a proxy that stops forwarding both ways. A LISTEN sent then had no
 * answer and no bound: the next LISTENs queued behind it, and the connection was never given up
 * (in the real world until the kernel gave up retransmitting, ~15 min; idle, with the OS's TCP
 * keepalive of 2 h 11 min), so no notification came, nor the catch-up read that a reconnect
 * triggers, while the rest of the process worked on new pool connections.
 *
 * An idle LISTEN connection sends nothing, so a server that vanished meanwhile was found out only
 * by TCP keepalive, which whatever ends TCP on the way answers (a proxy, a pooler, a load
 * balancer; here the test's proxy): the connection sat connected and deaf for ever, every
 * notification lost. Its heartbeat (a `SELECT 1` every few seconds, bounded like a LISTEN) finds
 * it out.
 */
let url: string;
let proxy: TcpProxy;
let observer: Client;

beforeAll(async () => {
  url = await createTestDatabase();
  proxy = await startDatabaseProxy();
  observer = new Client({ connectionString: url });
  await observer.connect();
});
afterAll(async () => {
  proxy?.release();
  await proxy?.close();
  await observer?.end();
  await dropDatabase(url);
});

it('gives a LISTEN with no answer up within its bound, reconnects once PostgreSQL is back, and hears notifications again', async () => {
  const notifications = new DatabaseNotifications(proxy.rewrite(url), { replyTimeoutMs: 1000 });
  await notifications.start();
  const heard: string[] = [];
  let reconnects = 0;
  notifications.onReconnect(() => (reconnects += 1));
  notifications.on('before_cut', (payload) => heard.push(`before_cut ${payload}`));
  try {
    await eventually(async () => {
      await observer.query(`SELECT pg_notify('before_cut', '1')`);
      expect(heard).toContain('before_cut 1');
    });
    proxy.blackHole();
    notifications.on('after_cut', (payload) => heard.push(`after_cut ${payload}`));
    await eventually(async () => expect(notifications.connected).toBe(false), 3000);
    proxy.release();
    await eventually(async () => expect(reconnects).toBe(1), 15_000);
    await eventually(async () => {
      await observer.query(`SELECT pg_notify('after_cut', '2')`);
      expect(heard).toContain('after_cut 2');
    });
  } finally {
    proxy.release();
    await notifications.stop();
  }
}, 30_000);

it('finds an idle LISTEN connection whose server vanished within its heartbeat and reply bound (no LISTEN sent), reconnects once PostgreSQL is back, and hears notifications again', async () => {
  const HEARTBEAT_MS = 500;
  const REPLY_TIMEOUT_MS = 1000;
  const notifications = new DatabaseNotifications(proxy.rewrite(url), { replyTimeoutMs: REPLY_TIMEOUT_MS, heartbeatMs: HEARTBEAT_MS });
  const heard: string[] = [];
  let reconnects = 0;
  notifications.on('idle_cut', (payload) => heard.push(payload));
  notifications.onReconnect(() => (reconnects += 1));
  await notifications.start();
  try {
    await eventually(async () => {
      await observer.query(`SELECT pg_notify('idle_cut', 'before')`);
      expect(heard).toContain('before');
    });
    // Idle for a few heartbeats (nothing notified, no channel added): they keep it connected.
    await new Promise((resolve) => setTimeout(resolve, 3 * HEARTBEAT_MS));
    expect({ connected: notifications.connected, reconnects }).toEqual({ connected: true, reconnects: 0 });

    proxy.blackHole();
    const cutAt = Date.now();
    // The proxy's kernel answers TCP keepalive (as any proxy, pooler or load balancer on the way
    // would): only an unanswered statement tells. Slack for a loaded machine.
    await eventually(async () => expect(notifications.connected).toBe(false), HEARTBEAT_MS + REPLY_TIMEOUT_MS + 2000);
    const foundOutInMs = Date.now() - cutAt;
    process.stderr.write(`an idle LISTEN connection behind a black hole was given up after ${foundOutInMs} ms\n`);
    proxy.release();
    await eventually(async () => expect(reconnects).toBe(1), 15_000);
    await eventually(async () => {
      await observer.query(`SELECT pg_notify('idle_cut', 'after')`);
      expect(heard).toContain('after');
    });
  } finally {
    proxy.release();
    await notifications.stop();
  }
}, 30_000);

it("has the server end the LISTEN session of a process that vanished (or froze) once it missed its heartbeats, so its backend and the NOTIFY queue's tail are not held for ever", async () => {
  const notifications = new DatabaseNotifications(proxy.rewrite(url), { replyTimeoutMs: 60_000, heartbeatMs: 500, serverIdleTimeoutMs: 2000 });
  await notifications.start();
  const listenSessions = async (): Promise<number> => {
    const { rows } = await observer.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'listen host=%' AND pid <> pg_backend_pid()`,
    );
    return rows[0].n;
  };
  try {
    expect(await listenSessions()).toBe(1);
    // Heartbeats keep it: idle well past the server's timeout.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await listenSessions()).toBe(1);
    // The process's side goes silent (the proxy answers the server's TCP keepalive, as any proxy
    // on the way would); this side's bound is a minute, so only the server can end it now.
    proxy.blackHole();
    const cutAt = Date.now();
    await eventually(async () => expect(await listenSessions()).toBe(0), 8000);
    process.stderr.write(`the server ended a silent LISTEN session ${Date.now() - cutAt} ms after the cut\n`);
  } finally {
    proxy.release();
    await notifications.stop();
  }
}, 30_000);

it('finds an idle LISTEN connection to a vanished server dead as the pool does (TCP keepalive after 10 s idle), not after the OS default of 2 h', async () => {
  const notifications = new DatabaseNotifications(url);
  await notifications.start();
  try {
    const connection = (notifications as unknown as { client: { connection: { _keepAlive: boolean; _keepAliveInitialDelayMillis: number } } }).client.connection;
    expect({ keepAlive: connection._keepAlive, initialDelayMs: connection._keepAliveInitialDelayMillis }).toEqual({ keepAlive: true, initialDelayMs: POOL_KEEPALIVE_INITIAL_DELAY_MS });
  } finally {
    await notifications.stop();
  }
});

it('stops at once while PostgreSQL is gone, not waiting for a goodbye that never comes', async () => {
  const notifications = new DatabaseNotifications(proxy.rewrite(url));
  await notifications.start();
  proxy.blackHole();
  try {
    const stopped = await Promise.race([notifications.stop().then(() => 'stopped'), new Promise((resolve) => setTimeout(() => resolve('still waiting after 5 s'), 5000))]);
    expect(stopped).toBe('stopped');
  } finally {
    proxy.release();
    await notifications.stop();
  }
}, 30_000);
