import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { dropDatabase } from '../src/database/ensure-database';
import { LeaderElection } from '../src/database/leader-election';
import { sessionAdvisoryLockCondition } from '../src/database/session-advisory-lock';
import { createTestDatabase } from './support/test-database';

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  for (const until = Date.now() + timeoutMs; !(await check()); ) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('leader election on a PostgreSQL advisory lock', () => {
  let url: string;
  let admin: Client;
  const elections: LeaderElection[] = [];

  const election = (key: string, hooks?: ConstructorParameters<typeof LeaderElection>[2]) => {
    const created = new LeaderElection(url, key, hooks);
    elections.push(created);
    return created;
  };

  beforeAll(async () => {
    url = await createTestDatabase();
    admin = new Client({ connectionString: url });
    await admin.connect();
  });

  afterEach(async () => {
    await Promise.all(elections.splice(0).map((candidate) => candidate.resign()));
  });

  afterAll(async () => {
    await admin.end();
    await dropDatabase(url);
  });

  it('elects one process per key, runs onElected once when it wins, and lets the others follow', async () => {
    const key = `work:${randomUUID()}`;
    let elected = 0;
    const first = election(key, { onElected: async () => void (elected += 1) });
    const second = election(key);
    const elsewhere = election(`other:${randomUUID()}`);

    expect(await first.campaign()).toBe(true);
    expect(await first.campaign()).toBe(true);
    expect(await second.campaign()).toBe(false);
    expect(await elsewhere.campaign()).toBe(true);
    expect({ elected, first: first.isLeader, second: second.isLeader }).toEqual({ elected: 1, first: true, second: false });
  });

  it('hands the lead over when the leader resigns', async () => {
    const key = `work:${randomUUID()}`;
    const first = election(key);
    let secondElected = 0;
    const second = election(key, { onElected: async () => void (secondElected += 1) });
    expect(await first.campaign()).toBe(true);
    expect(await second.campaign()).toBe(false);

    await first.resign();
    expect(first.isLeader).toBe(false);
    expect(await second.campaign()).toBe(true);
    expect(secondElected).toBe(1);
  });

  it('gives the lease up again when onElected fails, so that another process can lead', async () => {
    const key = `work:${randomUUID()}`;
    const failing = election(key, {
      onElected: () => Promise.reject(new Error('checkpoint table missing')),
    });
    const other = election(key);

    await expect(failing.campaign()).rejects.toThrow('checkpoint table missing');
    expect(failing.isLeader).toBe(false);
    expect(await other.campaign()).toBe(true);
  });

  it('tells the leader it was deposed when its session dies, and another process takes over', async () => {
    const key = `work:${randomUUID()}`;
    let deposed = 0;
    const leader = election(key, { onDeposed: () => void (deposed += 1) });
    const follower = election(key);
    expect(await leader.campaign()).toBe(true);
    expect(await follower.campaign()).toBe(false);

    await admin.query(`SELECT pg_terminate_backend(l.pid) FROM pg_locks l WHERE ${sessionAdvisoryLockCondition('$1')}`, [key]);
    await eventually(() => !leader.isLeader);

    expect(deposed).toBe(1);
    // The terminated backend reports its end to the client before it releases its locks, so the
    // leader may learn it is deposed a moment before the lease is free.
    await eventually(() => follower.campaign());
    expect(follower.isLeader).toBe(true);
  });

  it('runs onElected once when two campaigns of the same process race for the lease', async () => {
    const key = `work:${randomUUID()}`;
    let elected = 0;
    const candidate = election(key, { onElected: async () => void (elected += 1) });

    expect(await Promise.all([candidate.campaign(), candidate.campaign()])).toEqual([true, true]);
    expect(elected).toBe(1);
  });

  it('does not answer that it leads when its session died while onElected ran', async () => {
    const key = `work:${randomUUID()}`;
    const leader = election(key, {
      onElected: async () => {
        await admin.query(`SELECT pg_terminate_backend(l.pid) FROM pg_locks l WHERE ${sessionAdvisoryLockCondition('$1')}`, [key]);
        await eventually(() => !leader.isLeader);
      },
    });

    const leads = await leader.campaign();
    expect({ leads, isLeader: leader.isLeader }).toEqual({ leads: false, isLeader: false });
  });

  it('does not answer that it leads when it resigned while campaigning', async () => {
    const key = `work:${randomUUID()}`;
    const candidate = election(key);

    const campaigning = candidate.campaign();
    await candidate.resign();
    const leads = await campaigning;
    expect({ leads, isLeader: candidate.isLeader }).toEqual({ leads: false, isLeader: false });
  });
});
