import type { Client, PoolClient } from 'pg';
import { connectWatched, DatabaseSilenceAtStop, DatabaseSilentAtStopError, type WatchedPool } from './stop-database-wait';

const WAIT_MS = 150;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function silenceWithStop(): { silence: DatabaseSilenceAtStop; stop(): void } {
  const stopping = new AbortController();
  return { silence: new DatabaseSilenceAtStop(stopping.signal, WAIT_MS), stop: () => stopping.abort() };
}

/** Watches a wait; resolves with what it was given up with (undefined: not given up). */
function waitOn(silence: DatabaseSilenceAtStop): { givenUp: () => Error | undefined; forget: () => void } {
  let error: Error | undefined;
  const forget = silence.watch((reason) => (error = reason));
  return { givenUp: () => error, forget };
}

describe('DatabaseSilenceAtStop', () => {
  it('gives up on nothing before the stop, however long it waits', async () => {
    const { silence } = silenceWithStop();
    const wait = waitOn(silence);
    await sleep(WAIT_MS * 2);
    expect(wait.givenUp()).toBeUndefined();
    expect(silence.isSilent).toBe(false);
  });

  it('gives up on what waits, once PostgreSQL answered nothing for the wait since the stop began, and on what comes later at once', async () => {
    const { silence, stop } = silenceWithStop();
    const waitingBefore = waitOn(silence);
    await sleep(WAIT_MS); // counts from the stop's beginning, not from its own
    stop();
    const startedAt = performance.now();
    const waitingAfter = waitOn(silence);
    await sleep(WAIT_MS / 3);
    expect(waitingBefore.givenUp()).toBeUndefined();
    await sleep(WAIT_MS * 2);
    expect(waitingBefore.givenUp()).toBeInstanceOf(DatabaseSilentAtStopError);
    expect(waitingAfter.givenUp()).toBeInstanceOf(DatabaseSilentAtStopError);
    expect(waitingBefore.givenUp()?.name).toBe('DatabaseSilentAtStopError');
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(WAIT_MS);
    expect(silence.isSilent).toBe(true);
    expect(waitOn(silence).givenUp()).toBeInstanceOf(DatabaseSilentAtStopError);
  });

  it('leaves a slow statement alone while PostgreSQL answers others: slowness is not silence', async () => {
    const { silence, stop } = silenceWithStop();
    stop();
    const slow = waitOn(silence);
    for (let i = 0; i < 6; i++) {
      await sleep(WAIT_MS / 3);
      silence.answered();
    }
    expect(slow.givenUp()).toBeUndefined();
    expect(silence.isSilent).toBe(false);
    slow.forget();
  });

  it('judges nothing while nothing waits: a wait that begins later counts from its own beginning', async () => {
    const { silence, stop } = silenceWithStop();
    stop();
    await sleep(WAIT_MS * 2);
    const late = waitOn(silence);
    await sleep(WAIT_MS / 3);
    expect(late.givenUp()).toBeUndefined();
    await sleep(WAIT_MS * 2);
    expect(late.givenUp()).toBeInstanceOf(DatabaseSilentAtStopError);
  });

  it("gives a pool's connect up once silent, and hands back to the pool the connection it gets later", async () => {
    const { silence, stop } = silenceWithStop();
    let hand: ((error: Error | undefined, client?: PoolClient, release?: () => void) => void) | undefined;
    const released = jest.fn();
    const pool: WatchedPool = { connect: (callback) => void (hand = callback) };
    silence.watchPool(pool);
    const connected = pool.connect() as Promise<PoolClient>;
    const failure = connected.catch((error: unknown) => error);
    stop();
    await sleep(WAIT_MS * 2);
    expect(await failure).toBeInstanceOf(DatabaseSilentAtStopError);
    hand?.(undefined, { release: released } as unknown as PoolClient, released);
    expect(released).toHaveBeenCalledTimes(1);
    // Callback style (TypeORM's), refused at once now.
    const callback = jest.fn();
    void pool.connect(callback);
    await sleep(0);
    expect(callback).toHaveBeenCalledWith(expect.any(DatabaseSilentAtStopError));
  });

  it("passes a pool's connect through as it is when it completes", async () => {
    const { silence, stop } = silenceWithStop();
    const client = { release: jest.fn() } as unknown as PoolClient;
    const pool: WatchedPool = { connect: (callback) => void setTimeout(() => callback?.(undefined, client, client.release), 5) };
    silence.watchPool(pool);
    stop();
    await expect(pool.connect() as Promise<PoolClient>).resolves.toBe(client);
    await sleep(WAIT_MS * 2);
    expect(silence.isSilent).toBe(false);
  });

  it('connectWatched destroys the socket of a connect PostgreSQL never answers, and refuses at once once silent', async () => {
    const { silence, stop } = silenceWithStop();
    let fail: (error: Error) => void = () => undefined;
    const destroy = jest.fn(() => fail(new Error('Connection terminated unexpectedly')));
    const client = { connect: () => new Promise<void>((_, reject) => (fail = reject)), connection: { stream: { destroy } } } as unknown as Client;
    stop();
    await expect(connectWatched(client, silence)).rejects.toThrow('Connection terminated unexpectedly');
    expect(destroy).toHaveBeenCalledTimes(1);
    await expect(connectWatched(client, silence)).rejects.toBeInstanceOf(DatabaseSilentAtStopError);
  });
});
