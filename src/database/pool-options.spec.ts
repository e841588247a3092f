import type { ClientBase } from 'pg';
import { pgPoolOptions, POOL_KEEPALIVE_INITIAL_DELAY_MS } from './pool-options';
import { StatementReplyTimeoutError } from './statement-reply-timeout';

/** A stand-in for a new pool client: the connection's setup statement is answered, `SELECT lost` never is. */
function newClient() {
  let ended = false;
  const client = {
    on: () => client,
    query: (text: string) => (text === 'SELECT lost' ? new Promise(() => undefined) : Promise.resolve({ rows: [] })),
    end: () => {
      ended = true;
      return Promise.resolve();
    },
  };
  return { client: client as unknown as ClientBase, ended: () => ended };
}

describe('pgPoolOptions', () => {
  it('turns TCP keepalive on for every pool, so that an idle connection to a vanished server is found dead', () => {
    expect(pgPoolOptions(3)).toMatchObject({ max: 3, keepAlive: true, keepAliveInitialDelayMillis: POOL_KEEPALIVE_INITIAL_DELAY_MS });
  });

  it('bounds the wait for an answer on each new connection with statementReplyTimeoutMs, and ends the connection when it passes', async () => {
    const { client, ended } = newClient();
    await pgPoolOptions(3, { statementReplyTimeoutMs: 30 }).onConnect(client);
    await expect(client.query('SELECT lost')).rejects.toBeInstanceOf(StatementReplyTimeoutError);
    expect(ended()).toBe(true);
  });

  it('leaves the wait unbounded without statementReplyTimeoutMs (the CLIs)', async () => {
    const { client } = newClient();
    await pgPoolOptions(3).onConnect(client);
    const outcome = await Promise.race([client.query('SELECT lost').then(() => 'answered'), new Promise((resolve) => setTimeout(() => resolve('still waiting'), 60))]);
    expect(outcome).toBe('still waiting');
  });
});
