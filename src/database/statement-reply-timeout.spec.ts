import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import type { ClientBase } from 'pg';
import { serializeQueries } from './serialized-queries';
import { boundStatementReplies, StatementReplyTimeoutError, withoutStatementReplyTimeout } from './statement-reply-timeout';
import { DatabaseSilenceAtStop, DatabaseSilentAtStopError } from './stop-database-wait';

type Query = (text: string, ...rest: unknown[]) => Promise<{ rows: unknown[] }>;

/**
 * A stand-in for pg's client: `answer` is the statement's answer (or 'never'), after `afterMs`.
 * `end()` fails what is still unanswered, as pg does when it destroys the socket.
 */
function fakeClient(answers: Record<string, { afterMs: number; fail?: boolean } | 'never'>) {
  const pending = new Set<(error: Error) => void>();
  let ended = 0;
  const client = {
    query: (text: string, ...rest: unknown[]) => {
      if (rest.some((arg) => typeof arg === 'function')) return undefined;
      return new Promise((resolve, reject) => {
        pending.add(reject);
        const answer = answers[text];
        if (answer === 'never') return;
        setTimeout(() => {
          pending.delete(reject);
          if (answer.fail) reject(Object.assign(new Error(`${text} failed`), { code: '23505' }));
          else resolve({ rows: [{ text }] });
        }, answer.afterMs);
      });
    },
    end: () => {
      ended += 1;
      for (const reject of pending) reject(new Error('Connection terminated'));
      pending.clear();
      return Promise.resolve();
    },
  };
  return { client, query: () => client.query as Query, ended: () => ended };
}

function bound(client: object, timeoutMs: number): void {
  boundStatementReplies(client as unknown as ClientBase, timeoutMs);
}

describe('boundStatementReplies', () => {
  it('hands an answer that comes within the bound to the caller as it is, and leaves the connection open', async () => {
    const fake = fakeClient({ fast: { afterMs: 5 } });
    bound(fake.client, 200);
    await expect(fake.query()('fast')).resolves.toEqual({ rows: [{ text: 'fast' }] });
    expect(fake.ended()).toBe(0);
  });

  it('hands a failure that comes within the bound to the caller as it is, and leaves the connection open', async () => {
    const fake = fakeClient({ refused: { afterMs: 5, fail: true } });
    bound(fake.client, 200);
    await expect(fake.query()('refused')).rejects.toMatchObject({ message: 'refused failed', code: '23505' });
    expect(fake.ended()).toBe(0);
  });

  it('fails a statement with no answer within the bound with StatementReplyTimeoutError, and ends its connection', async () => {
    const fake = fakeClient({ lost: 'never' });
    bound(fake.client, 50);
    const started = Date.now();
    const failure = await fake.query()('lost').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StatementReplyTimeoutError);
    expect(failure).toMatchObject({ name: 'StatementReplyTimeoutError', timeoutMs: 50, message: expect.stringContaining('DATABASE_STATEMENT_REPLY_TIMEOUT_MS') });
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    // Ended once: pg-pool discards it on release. The statement's own failure after the end
    // ('Connection terminated') reaches nobody, and is no unhandled rejection either.
    expect(fake.ended()).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
  });

  it('times each statement from when it is sent, not from when it waited behind the one before (serializeQueries)', async () => {
    const fake = fakeClient({ first: { afterMs: 120 }, second: { afterMs: 120 } });
    bound(fake.client, 200);
    serializeQueries(fake.client as unknown as ClientBase);
    const answers = await Promise.all([fake.query()('first'), fake.query()('second')]);
    expect(answers.map(({ rows }) => rows)).toEqual([[{ text: 'first' }], [{ text: 'second' }]]);
    expect(fake.ended()).toBe(0);
  });

  it('does not bound statements sent within withoutStatementReplyTimeout, serialized ones included', async () => {
    const fake = fakeClient({ migration: { afterMs: 80 }, backfill: { afterMs: 80 }, request: 'never' });
    bound(fake.client, 50);
    serializeQueries(fake.client as unknown as ClientBase);
    const answers = await withoutStatementReplyTimeout(() => Promise.all([fake.query()('migration'), fake.query()('backfill')]));
    expect(answers.map(({ rows }) => rows)).toEqual([[{ text: 'migration' }], [{ text: 'backfill' }]]);
    expect(fake.ended()).toBe(0);
    // Outside it, the bound holds again.
    await expect(fake.query()('request')).rejects.toBeInstanceOf(StatementReplyTimeoutError);
  });

  it('bounds nothing with a bound of 0 (only a stop then: see below), and passes callback-style calls through', async () => {
    const fake = fakeClient({ slow: { afterMs: 80 } });
    bound(fake.client, 0);
    await expect(fake.query()('slow')).resolves.toEqual({ rows: [{ text: 'slow' }] });
    bound(fake.client, 50);
    expect((fake.client.query as (text: string, callback: () => void) => unknown)('cb', () => undefined)).toBeUndefined();
    expect(fake.ended()).toBe(0);
  });

  it('takes an answer that came while the event loop was blocked past the bound, instead of timing it out with it', async () => {
    // A connected socket pair stands in for the connection: the server's answer is in this
    // process's socket buffer at once, while this process is busy for 300 ms. When it is free
    // again, the bound's timer and the answer are both due, and the timers' phase of the event
    // loop comes before the reading of sockets. The statement was answered in time; only this
    // process was late to read it.
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const clientSide = connect((server.address() as AddressInfo).port, '127.0.0.1');
    const [[serverSide]] = await Promise.all([once(server, 'connection'), once(clientSide, 'connect')]);
    const ended: string[] = [];
    const client = {
      query: () =>
        new Promise((resolve) => {
          clientSide.once('data', (data) => resolve({ rows: [{ text: String(data) }] }));
          (serverSide as Socket).write('answer');
        }),
      end: () => {
        ended.push('end');
        return Promise.resolve();
      },
    };
    try {
      bound(client, 100);
      const answer = (client.query as unknown as Query)('select');
      const busyUntil = Date.now() + 300;
      while (Date.now() < busyUntil); // a stalled event loop: GC, a long synchronous task, a descheduled process
      await expect(answer).resolves.toEqual({ rows: [{ text: 'answer' }] });
      expect(ended).toEqual([]);
    } finally {
      clientSide.destroy();
      (serverSide as Socket).destroy();
      server.close();
    }
  });

  describe('during a stop', () => {
    function stopped(waitMs: number) {
      const stopping = new AbortController();
      const silence = new DatabaseSilenceAtStop(stopping.signal, waitMs);
      return { silence, stop: () => stopping.abort() };
    }

    it('fails a statement waiting on a silent PostgreSQL once the stop gave up on it, and ends its connection, though unbounded itself (0)', async () => {
      const fake = fakeClient({ lost: 'never' });
      const { silence, stop } = stopped(50);
      boundStatementReplies(fake.client as unknown as ClientBase, 0, { silence });
      const failure = fake.query()('lost').catch((error: unknown) => error);
      stop();
      expect(await failure).toBeInstanceOf(DatabaseSilentAtStopError);
      expect(fake.ended()).toBe(1);
    });

    it('refuses a statement at once, without sending it, once the stop found PostgreSQL silent', async () => {
      const fake = fakeClient({ lost: 'never', fast: { afterMs: 1 } });
      const { silence, stop } = stopped(30);
      boundStatementReplies(fake.client as unknown as ClientBase, 1000, { silence });
      const first = fake.query()('lost').catch((error: unknown) => error);
      stop();
      await first;
      const sent = jest.spyOn(fake.client, 'query');
      await expect(fake.query()('fast')).rejects.toBeInstanceOf(DatabaseSilentAtStopError);
      expect(sent).toHaveBeenCalledTimes(1); // the wrapper's call, not pg's
    });

    it('leaves a slow statement alone while the other statements are answered', async () => {
      const fake = fakeClient({ slow: { afterMs: 150 }, fast: { afterMs: 1 } });
      const { silence, stop } = stopped(50);
      boundStatementReplies(fake.client as unknown as ClientBase, 0, { silence });
      stop();
      const slow = fake.query()('slow');
      for (let i = 0; i < 6; i++) {
        await fake.query()('fast');
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      await expect(slow).resolves.toEqual({ rows: [{ text: 'slow' }] });
      expect(silence.isSilent).toBe(false);
    });
  });
});
