import { Logger } from '@nestjs/common';
import { Client, Notification } from 'pg';
import { endConnection } from './end-connection';
import { sendKeepaliveQueries } from './keepalive-queries';
import { processLabel } from './lease-session';
import { POOL_KEEPALIVE_INITIAL_DELAY_MS } from './pool-options';
import { serializeQueries } from './serialized-queries';
import { connectWatched } from './stop-database-wait';
import { SERVER_KEEPALIVE_SETTINGS, setSessionSettingsSql } from './server-session-settings';
import { quoteIdentifier } from './sql-identifier';
import { boundStatementReplies } from './statement-reply-timeout';

type Listener = (payload: string) => void;

const RECONNECT_MIN_MS = 200;
const RECONNECT_MAX_MS = 10_000;
/** How long a connect, a LISTEN or a heartbeat waits for PostgreSQL's answer before the connection is given up. */
const REPLY_TIMEOUT_MS = 10_000;
/** How often the connection sends its heartbeat (`SELECT 1`, one round trip). */
export const LISTEN_HEARTBEAT_MS = 5_000;
/**
 * The server ends the LISTEN session once it has heard nothing from this process for this long
 * (`idle_session_timeout`): six heartbeats missed.
 */
export const LISTEN_SERVER_IDLE_TIMEOUT_MS = 6 * LISTEN_HEARTBEAT_MS;

/**
 * PostgreSQL `LISTEN` on one dedicated connection per process (a pooled connection would lose
 * its LISTENs when returned). Notifications are delivered at their transaction's commit, so a
 * listener never hears of anything it cannot read yet. When the connection breaks, notifications
 * sent meanwhile are lost: it reconnects with a growing delay and then calls every
 * `onReconnect` listener, whose job is to catch up by reading.
 *
 * A server that vanished without closing the connection (its machine gone, the network cut: no
 * FIN, no RST) is found out by a statement left unanswered for `replyTimeoutMs`
 * (boundStatementReplies), which ends the connection; then it reconnects. An idle connection
 * sends nothing (a LISTEN only when a channel is added), so it sends a heartbeat (`SELECT 1`)
 * every `heartbeatMs`: one whose server stopped answering is ended within
 * `heartbeatMs + replyTimeoutMs` (5 + 10 s), and the first reconnect is tried RECONNECT_MIN_MS
 * later. TCP keepalive (after POOL_KEEPALIVE_INITIAL_DELAY_MS idle, then 10 probes 1 s apart on
 * Linux) cannot do it alone: it is answered by whatever ends the TCP connection on the way (a
 * proxy, a pooler, a load balancer, a NAT that fakes it), whose server behind may be long gone,
 * and it only tells the kernel's connection is alive, not that PostgreSQL reads it. Until the
 * loss is found out every notification is lost, and readers fall back to their slow polls.
 *
 * The server's side of a process that vanished, or froze, is bounded too: the session sets
 * `idle_session_timeout` (`serverIdleTimeoutMs`, six heartbeats: PostgreSQL 14+) and the server's
 * TCP keepalive (SERVER_KEEPALIVE), as a lease session does. Otherwise the server kept its backend,
 * and so a connection slot, for as long as a proxy on the way went on answering keepalive (for
 * ever) or the OS's 2 h 11 min; and a listening backend that cannot deliver what it was notified
 * holds back the tail of the server's NOTIFY queue, which, once full, fails every commit that
 * notifies. A process that only froze finds its session ended when it runs again, and reconnects.
 */
export class DatabaseNotifications {
  private readonly logger = new Logger(DatabaseNotifications.name);
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly reconnectListeners = new Set<() => void>();
  private client?: Client;
  private stopped = true;
  private reconnectTimer?: NodeJS.Timeout;
  private failures = 0;
  private stopHeartbeat?: () => void;

  private readonly replyTimeoutMs: number;
  private readonly heartbeatMs: number;
  private readonly serverIdleTimeoutMs: number;

  constructor(
    private readonly url: string,
    {
      replyTimeoutMs = REPLY_TIMEOUT_MS,
      heartbeatMs = LISTEN_HEARTBEAT_MS,
      serverIdleTimeoutMs = LISTEN_SERVER_IDLE_TIMEOUT_MS,
    }: { replyTimeoutMs?: number; heartbeatMs?: number; serverIdleTimeoutMs?: number } = {},
  ) {
    this.replyTimeoutMs = replyTimeoutMs;
    this.heartbeatMs = heartbeatMs;
    this.serverIdleTimeoutMs = serverIdleTimeoutMs;
  }

  /** Calls `listener` with the payload of every notification on `channel`; LISTENs at once when connected. */
  on(channel: string, listener: Listener): void {
    const existing = this.listeners.get(channel);
    if (existing) {
      existing.add(listener);
      return;
    }
    this.listeners.set(channel, new Set([listener]));
    const client = this.client;
    if (!client) return;
    void client.query(`LISTEN ${quoteIdentifier(channel)}`).catch((error: unknown) => this.connectionLost(client, error));
  }

  /**
   * Called after the connection was lost and is back (not after the first connection): whatever
   * was notified meanwhile is lost, so a listener looks at once (reads) for what it missed.
   */
  onReconnect(listener: () => void): void {
    this.reconnectListeners.add(listener);
  }

  get connected(): boolean {
    return this.client !== undefined;
  }

  onModuleInit(): Promise<void> {
    return this.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.stop();
  }

  /** Connects and LISTENs; rejects when the first attempt fails (later losses reconnect on their own). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.stopHeartbeat?.();
    const client = this.client;
    this.client = undefined;
    if (client) await endConnection(client);
  }

  private async connect(): Promise<void> {
    const client = new Client({
      connectionString: this.url,
      application_name: `listen ${processLabel()}`.slice(0, 63),
      connectionTimeoutMillis: this.replyTimeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: POOL_KEEPALIVE_INITIAL_DELAY_MS,
    });
    // Innermost, so that a statement is timed from when it is sent, not while it waits behind another.
    boundStatementReplies(client, this.replyTimeoutMs, { bound: 'on the LISTEN connection' });
    // LISTENs and heartbeats one after another: pg 8 deprecates (and pg 9 refuses) a query on a client that is running one.
    serializeQueries(client);
    client.on('error', (error) => this.connectionLost(client, error));
    client.on('end', () => this.connectionLost(client, new Error('connection ended')));
    client.on('notification', (notification: Notification) => this.deliver(notification));
    try {
      await connectWatched(client);
      await client.query(setSessionSettingsSql({ idle_session_timeout: this.serverIdleTimeoutMs, ...SERVER_KEEPALIVE_SETTINGS }));
      for (const channel of this.listeners.keys()) await client.query(`LISTEN ${quoteIdentifier(channel)}`);
    } catch (error) {
      client.removeAllListeners('end');
      await endConnection(client);
      throw error;
    }
    if (this.stopped) {
      await endConnection(client);
      return;
    }
    this.client = client;
    this.stopHeartbeat = sendKeepaliveQueries(
      (sql) => client.query(sql).catch((error: unknown) => this.connectionLost(client, error)),
      this.heartbeatMs,
    );
  }

  private deliver({ channel, payload }: Notification): void {
    for (const listener of this.listeners.get(channel) ?? []) listener(payload ?? '');
  }

  private connectionLost(client: Client | undefined, error: unknown): void {
    if (!client || this.client !== client) return;
    this.client = undefined;
    this.stopHeartbeat?.();
    client.removeAllListeners('end');
    void endConnection(client);
    if (this.stopped) return;
    this.logger.warn(`LISTEN connection lost, reconnecting: ${String(error)}`);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.failures);
    this.reconnectTimer = setTimeout(() => {
      this.connect().then(
        () => {
          this.failures = 0;
          if (this.client) for (const listener of this.reconnectListeners) listener();
        },
        (error: unknown) => {
          this.failures += 1;
          if (this.stopped) return;
          this.logger.warn(`LISTEN connection failed (attempt ${this.failures}), retrying: ${String(error)}`);
          this.scheduleReconnect();
        },
      );
    }, delay);
    this.reconnectTimer.unref();
  }
}
