import { boundPoolEnd } from './end-connection';

/**
 * A stand-in for pg-pool: end() resolves once no client is left, and a client leaves when its
 * socket closes (a connect in progress fails then), as pg-pool's do.
 */
function fakePool(clients: number) {
  const destroyed: number[] = [];
  let settle: () => void = () => undefined;
  const pool = {
    _clients: [] as unknown[],
    end: () => new Promise<void>((resolve) => (settle = resolve)).then(() => undefined),
  };
  const leave = (client: unknown) => {
    pool._clients = pool._clients.filter((other) => other !== client);
    if (pool._clients.length === 0) settle();
  };
  pool._clients = Array.from({ length: clients }, (_, index) => {
    const client: { connection: { stream: { destroy(): void } } } = {
      connection: { stream: { destroy: () => (destroyed.push(index), leave(client)) } },
    };
    return client;
  });
  return { pool, destroyed, leaveAll: () => [...pool._clients].forEach(leave) };
}

describe('boundPoolEnd', () => {
  it('leaves an end that settles within the bound alone', async () => {
    const { pool, destroyed, leaveAll } = fakePool(2);
    boundPoolEnd(pool, 50);
    const ended = pool.end();
    leaveAll();
    await ended;
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(destroyed).toEqual([]);
  });

  it('destroys the sockets of the clients still there past the bound, so that the end settles (promise and callback alike)', async () => {
    const first = fakePool(2);
    boundPoolEnd(first.pool, 20);
    const started = Date.now();
    await first.pool.end();
    expect(first.destroyed).toEqual([0, 1]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);

    const second = fakePool(1);
    boundPoolEnd(second.pool, 20);
    await new Promise<void>((resolve, reject) => (second.pool.end as (callback: (error?: Error) => void) => void)((error) => (error ? reject(error) : resolve())));
    expect(second.destroyed).toEqual([0]);
  });
});
