import { Logger } from '@nestjs/common';
import { Client, Notification } from 'pg';
import { endConnection } from './end-connection';
import { POOL_KEEPALIVE_INITIAL_DELAY_MS } from './pool-options';
import { quoteIdentifier } from './sql-identifier';
import { boundStatementReplies } from './statement-reply-timeout';

type Listener = (payload: string) => void;

const RECONNECT_MIN_MS = 200;
const RECONNECT_MAX_MS = 10_000;
/** How long a connect, or a LISTEN, waits for PostgreSQL's answer before the connection is given up. */
const REPLY_TIMEOUT_MS = 10_000;

/**
 * PostgreSQL `LISTEN` on one dedicated connection per process (a pooled connection would lose
 * its LISTENs when returned). Notifications are delivered at their transaction's commit, so a
 * listener never hears of anything it cannot read yet. When the connection breaks, notifications
 * sent meanwhile are lost: it reconnects with a growing delay and then calls every
 * `onReconnect` listener, whose job is to catch up by reading.
 *
 * A server that vanished without closing the connection (its machine gone, the network cut: no
 * FIN, no RST) is found out as on a pool connection: a LISTEN unanswered within `replyTimeoutMs`
 * ends the connection (boundStatementReplies), and an idle one is found dead by TCP keepalive
 * after POOL_KEEPALIVE_INITIAL_DELAY_MS (about 20 s) instead of the OS's default (2 h 11 min);
 * either way it reconnects.
 */
export class DatabaseNotifications {
  private readonly logger = new Logger(DatabaseNotifications.name);
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly reconnectListeners = new Set<() => void>();
  private client?: Client;
  private stopped = true;
  private reconnectTimer?: NodeJS.Timeout;
  private failures = 0;
  /** LISTENs one after another: pg 8 deprecates (and pg 9 refuses) a query on a client that is running one. */
  private listening: Promise<unknown> = Promise.resolve();

  private readonly replyTimeoutMs: number;

  constructor(
    private readonly url: string,
    { replyTimeoutMs = REPLY_TIMEOUT_MS }: { replyTimeoutMs?: number } = {},
  ) {
    this.replyTimeoutMs = replyTimeoutMs;
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
    this.listening = this.listening.then(() =>
      client.query(`LISTEN ${quoteIdentifier(channel)}`).catch((error: unknown) => this.connectionLost(client, error)),
    );
  }

  /** Called after the connection was lost and is back (not after the first connection). */
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
    const client = this.client;
    this.client = undefined;
    if (client) await endConnection(client);
  }

  private async connect(): Promise<void> {
    const client = new Client({
      connectionString: this.url,
      connectionTimeoutMillis: this.replyTimeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: POOL_KEEPALIVE_INITIAL_DELAY_MS,
    });
    boundStatementReplies(client, this.replyTimeoutMs, { bound: 'on the LISTEN connection' });
    client.on('error', (error) => this.connectionLost(client, error));
    client.on('end', () => this.connectionLost(client, new Error('connection ended')));
    client.on('notification', (notification: Notification) => this.deliver(notification));
    try {
      await client.connect();
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
  }

  private deliver({ channel, payload }: Notification): void {
    for (const listener of this.listeners.get(channel) ?? []) listener(payload ?? '');
  }

  private connectionLost(client: Client | undefined, error: unknown): void {
    if (!client || this.client !== client) return;
    this.client = undefined;
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
