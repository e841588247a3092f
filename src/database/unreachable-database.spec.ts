import { createServer, type Server, type Socket } from 'node:net';
import { CONSUMER_SCHEMA } from '../consumer/consumer-schema';
import { ensureDatabaseExists } from './ensure-database';
import { prepareDatabaseAtStart } from './migration-check';

/** A port of 127.0.0.1 nobody listens on: taken from the system, then given back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A server that resets every connection as it is accepted (something else than PostgreSQL listening there, a firewall's RST). */
async function resettingServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((socket) => socket.resetAndDestroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A server that accepts connections and never answers (a proxy to a host that vanished). */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function failureOf(work: Promise<unknown>): Promise<Error> {
  const outcome = await work.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error)) throw new Error(`expected a failure, got ${String(outcome)}`);
  return outcome;
}

describe('a start whose PostgreSQL cannot be reached', () => {
  it('says at once that nothing listens there, names the variable to check, and mentions no timeout that did not expire', async () => {
    const port = await closedPort();
    const startedAt = performance.now();
    const error = await failureOf(ensureDatabaseExists(`postgres://postgres:s3cret@127.0.0.1:${port}/x`, { replyTimeoutMs: 30_000, urlVariable: 'DATABASE_URL' }));
    expect(performance.now() - startedAt).toBeLessThan(5_000);
    expect(error.message).toBe(`PostgreSQL at 127.0.0.1:${port} refused the connection (ECONNREFUSED): is it running there? Check DATABASE_URL`);
  });

  it("names the consumer's own variable for the consumer's database", async () => {
    const port = await closedPort();
    const error = await failureOf(
      prepareDatabaseAtStart(CONSUMER_SCHEMA, { url: `postgres://postgres@127.0.0.1:${port}/x`, migrations: 'run', waitMs: 1000, replyTimeoutMs: 30_000 }),
    );
    expect(error.message).toBe(`PostgreSQL at 127.0.0.1:${port} refused the connection (ECONNREFUSED): is it running there? Check CONSUMER_DATABASE_URL`);
  });

  it('says a server reset the connection, at once, without a timeout', async () => {
    const resetting = await resettingServer();
    try {
      const error = await failureOf(ensureDatabaseExists(`postgres://postgres@127.0.0.1:${resetting.port}/x`, { replyTimeoutMs: 30_000, urlVariable: 'DATABASE_URL' }));
      expect(error.message).toBe(`PostgreSQL at 127.0.0.1:${resetting.port} cut the connection as it opened (ECONNRESET): is PostgreSQL what listens there? Check DATABASE_URL`);
    } finally {
      await resetting.close();
    }
  });

  it('names the timeout and its variable when a server that accepted the connection never answered within it', async () => {
    const silent = await silentServer();
    try {
      const error = await failureOf(ensureDatabaseExists(`postgres://postgres@127.0.0.1:${silent.port}/x`, { replyTimeoutMs: 300, urlVariable: 'DATABASE_URL' }));
        expect(error.message).toBe(
        `PostgreSQL at 127.0.0.1:${silent.port} could not be reached within 300 ms (DATABASE_STATEMENT_REPLY_TIMEOUT_MS): no answer; check DATABASE_URL, the host and the network`,
      );
    } finally {
      await silent.close();
    }
  });
});
