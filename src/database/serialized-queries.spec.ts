import type { ClientBase } from 'pg';
import { serializeQueries } from './serialized-queries';

/** A stand-in for pg's client that records how many of its queries run at once. */
function recordingClient() {
  const calls: string[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const client = {
    query: (text: string, ...rest: unknown[]) => {
      calls.push(text);
      if (rest.some((arg) => typeof arg === 'function')) return undefined;
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      return new Promise((resolve, reject) =>
        setTimeout(() => {
          running -= 1;
          if (text === 'fail') reject(new Error('failed'));
          else resolve({ rows: [{ text }] });
        }, 5),
      );
    },
  };
  return { client, calls, mostAtOnce: () => mostAtOnce };
}

describe('serializeQueries', () => {
  it('runs promise-style queries one after another, in call order, each with its own answer', async () => {
    const { client, calls, mostAtOnce } = recordingClient();
    serializeQueries(client as unknown as ClientBase);
    const answers = await Promise.all(['a', 'b', 'c'].map((text) => (client.query as (text: string) => Promise<{ rows: unknown[] }>)(text)));
    expect(answers.map(({ rows }) => rows)).toEqual([[{ text: 'a' }], [{ text: 'b' }], [{ text: 'c' }]]);
    expect(calls).toEqual(['a', 'b', 'c']);
    expect(mostAtOnce()).toBe(1);
  });

  it('goes on after a failed query, which fails for its caller alone', async () => {
    const { client } = recordingClient();
    serializeQueries(client as unknown as ClientBase);
    const query = client.query as (text: string) => Promise<{ rows: unknown[] }>;
    const [failed, next] = await Promise.allSettled([query('fail'), query('after')]);
    expect(failed.status).toBe('rejected');
    expect(next).toEqual({ status: 'fulfilled', value: { rows: [{ text: 'after' }] } });
  });

  it('hands callback-style calls to the client as they are', () => {
    const { client, calls } = recordingClient();
    serializeQueries(client as unknown as ClientBase);
    (client.query as (text: string, values: unknown[], callback: () => void) => unknown)('cb', [], () => undefined);
    expect(calls).toEqual(['cb']);
  });
});
