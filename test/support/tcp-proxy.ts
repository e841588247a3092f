import { connect, createServer, type Server, type Socket } from 'node:net';
import { Transform } from 'node:stream';

interface Pair {
  client: Socket;
  upstream: Socket;
  /** Black-holed for good (blackHoleOpenConnections): `release()` leaves it silent. */
  stranded?: boolean;
}

/**
 * A TCP proxy in front of a real server (PostgreSQL, RabbitMQ) that a test can make refuse
 * connections, cut the open ones, hold the server's replies, or black-hole both directions. It
 * plays an outage, a stalled server or a vanished one for one process under test without touching
 * the server every other test shares.
 */
export class TcpProxy {
  private server?: Server;
  private readonly pairs = new Set<Pair>();
  private holding = false;
  private blackHoling = false;
  private latencyMs = 0;
  private connectionWaiters: Array<() => void> = [];

  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  /** Listens on a free port (or `port`) of 127.0.0.1 and forwards to `target`. */
  static async start(target: { host: string; port: number }, port = 0): Promise<TcpProxy> {
    const server = createServer();
    await listen(server, port);
    const proxy = new TcpProxy((server.address() as { port: number }).port, target);
    proxy.serve(server);
    return proxy;
  }

  /** `url` with its host and port replaced by this proxy's. */
  rewrite(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString();
  }

  /** New connections are refused (ECONNREFUSED) and open ones are cut, until `accept()`. */
  async refuse(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Accepts connections again on the same port. */
  async accept(): Promise<void> {
    if (this.server) return;
    const server = createServer();
    for (let attempt = 0; ; attempt++) {
      try {
        await listen(server, this.port);
        break;
      } catch (error) {
        if (attempt >= 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    this.serve(server);
  }

  /** The server's bytes stop reaching the clients (as behind a stalled server) until `release()`. */
  hold(): void {
    this.holding = true;
    for (const { upstream } of this.pairs) upstream.pause();
  }

  /**
   * Neither side's bytes reach the other, on open connections and new ones, until `release()`:
   * a server whose machine vanished or whose network was cut. Both sockets stay open (no FIN, no
   * RST), and this machine's kernel still acknowledges what is sent, so the client sees nothing
   * but silence (its TCP keepalive is answered too: only a bound of its own ends the wait). What
   * was sent meanwhile is delivered on `release()`, as TCP does once the network is back.
   */
  blackHole(): void {
    this.blackHoling = true;
    for (const { client, upstream } of this.pairs) {
      client.pause();
      upstream.pause();
    }
  }

  /**
   * Neither side's bytes reach the other on the connections open now, for good (`release()` does
   * not undo it), while new connections are served: a stateful firewall or a NAT that lost their
   * state, a failover to a standby at the same address. Both sockets stay open (no FIN, no RST),
   * and this machine's kernel still answers the client's TCP keepalive.
   */
  blackHoleOpenConnections(): void {
    for (const pair of this.pairs) {
      pair.stranded = true;
      pair.client.pause();
      pair.upstream.pause();
    }
  }

  /** Undoes `hold()` and `blackHole()`. */
  release(): void {
    const blackHoled = this.blackHoling;
    this.holding = false;
    this.blackHoling = false;
    for (const { client, upstream, stranded } of this.pairs) {
      if (stranded) continue;
      if (blackHoled) client.resume();
      upstream.resume();
    }
  }

  /** The server's bytes reach the clients `ms` later from now on (a slow or distant server); 0 undoes it. */
  latency(ms: number): void {
    this.latencyMs = ms;
  }

  /**
   * Resolves when a client next connects: the moment a process under test reached its first
   * connect, to time what follows from there rather than from a spawn whose start-up a busy
   * machine can make several times slower.
   */
  nextConnection(): Promise<void> {
    return new Promise((resolve) => this.connectionWaiters.push(resolve));
  }

  async close(): Promise<void> {
    await this.refuse();
  }

  private serve(server: Server): void {
    this.server = server;
    server.on('connection', (client) => {
      for (const connected of this.connectionWaiters.splice(0)) connected();
      const upstream = connect(this.target.port, this.target.host);
      const pair = { client, upstream };
      this.pairs.add(pair);
      client.pipe(upstream);
      const late = new Transform({
        transform: (chunk, _encoding, done) => (this.latencyMs > 0 ? setTimeout(() => done(null, chunk), this.latencyMs) : done(null, chunk)),
      });
      upstream.pipe(late).pipe(client);
      // After pipe(), which resumes its source: a connection opened while holding is held too.
      if (this.holding || this.blackHoling) upstream.pause();
      if (this.blackHoling) client.pause();
      const end = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}
