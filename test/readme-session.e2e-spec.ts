import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ApiProcess } from './support/api-process';
import { type BuiltApiWithConsumer, startBuiltApiWithConsumer } from './support/api-with-consumer';
import { type ConsumerProcess, freePort } from './support/consumer-process';
import { testToken } from './support/test-auth';
import { TEST_RABBITMQ_URL } from './support/test-broker';

// The curl session of the README's "See it work", taken from README.md itself so that the two
// cannot drift apart, pasted into an interactive bash as a reader would, against the built API
// and consumer (`npm run build` first).

const MARKER = '<!-- test/readme-session.e2e-spec.ts pastes the next block into bash';

/** The ```bash block that follows the marker comment in README.md. */
function readmeSession(): string {
  const readme = readFileSync(path.resolve(__dirname, '../README.md'), 'utf8');
  const marker = readme.indexOf(MARKER);
  if (marker < 0) throw new Error(`README.md has no line starting with ${MARKER}`);
  const block = /```bash\n([\s\S]*?)\n```/.exec(readme.slice(marker));
  if (!block) throw new Error('no ```bash block after the marker in README.md');
  return block[1];
}

interface Paste {
  /** Shell lines typed before the paste, e.g. `export TOKEN=…`. */
  before?: string;
}

/**
 * Pastes the session into one interactive bash (no rc files), once per entry of `pastes`, each
 * followed by a line that prints its exit status, then a last line showing the shell is still there.
 */
function pasteIntoBash(session: string, pastes: Paste[], env: Record<string, string>): Promise<{ stdout: string; stderr: string; statuses: number[]; shellSurvived: boolean }> {
  const input = [
    ...pastes.flatMap(({ before }) => [...(before ? [before] : []), session, 'echo "session exit status: $?"']),
    'echo "the shell is still here"',
    'exit 0',
    '',
  ].join('\n');
  return new Promise((resolve, reject) => {
    // The reader's shell: none of the session's variables unless this test sets them.
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !['TOKEN', 'API', 'CONSUMER'].includes(name)));
    const bash = spawn('bash', ['--norc', '--noprofile', '-i'], { env: { ...inherited, PS1: '$ ', PS2: '> ', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    bash.stdout.on('data', (chunk) => (stdout += chunk));
    bash.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => bash.kill('SIGKILL'), 120_000);
    bash.on('error', reject);
    bash.on('close', () => {
      clearTimeout(timer);
      const statuses = [...stdout.matchAll(/^session exit status: (\d+)$/gm)].map((match) => Number(match[1]));
      resolve({ stdout, stderr, statuses, shellSurvived: /^the shell is still here$/m.test(stdout) });
    });
    bash.stdin.end(input);
  });
}

function count(text: string, pattern: RegExp): number {
  return [...text.matchAll(new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`))].length;
}

describe("the README's curl session (See it work)", () => {
  const session = readmeSession();
  let apps: BuiltApiWithConsumer | undefined;
  let api: ApiProcess | undefined;
  let consumer: ConsumerProcess | undefined;
  let token = '';

  beforeAll(async () => {
    token = await testToken();
    ({ api, consumer } = apps = await startBuiltApiWithConsumer({ apiEnv: { RABBITMQ_URL: TEST_RABBITMQ_URL } }));
  }, 90_000);

  afterAll(() => apps?.close());

  it('runs twice in a row in one shell: order confirmed, the 412 and the 202, the credit released, the consumer notified', async () => {
    const run = await pasteIntoBash(session, [{}, {}], { TOKEN: token, API: api!.url, CONSUMER: consumer!.url });

    expect(run.stderr).not.toMatch(/^STOPPED/m);
    expect(run.statuses).toEqual([0, 0]);
    expect(run.shellSurvived).toBe(true);
    const done = [...run.stdout.matchAll(/^Done: USER_ID=(\S+) ORDER_ID=(\S+) CORRELATION_ID=(\S+)$/gm)];
    expect(done).toHaveLength(2);
    const [first, second] = done.map(([, userId, orderId, correlationId]) => ({ userId, orderId, correlationId }));
    expect(second.userId).not.toBe(first.userId);
    expect(second.correlationId).not.toBe(first.correlationId);

    for (const { userId, orderId, correlationId } of [first, second]) {
      const orderUrl = `${api!.url}/orders/${orderId}`;
      expect(run.stdout).toContain(`POST ${api!.url}/users: 201  ETag: W/"1"`);
      expect(run.stdout).toMatch(new RegExp(`GET ${orderUrl}: 200  ETag: W/"2"\\n.*"status":"CONFIRMED"`));
      expect(run.stdout).toMatch(new RegExp(`GET ${api!.url}/users/${userId}: 200.*\\n.*"creditReserved":2500`));
      expect(run.stdout).toMatch(new RegExp(`POST ${orderUrl}/cancel: 412\\n.*"status":412`));
      expect(run.stdout).toContain(`POST ${orderUrl}/cancel: 202  ETag: W/"3"`);
      expect(run.stdout).toMatch(new RegExp(`GET ${api!.url}/users/${userId}: 200.*\\n.*"creditReserved":0[,}]`));
      expect(run.stdout).toMatch(new RegExp(`POST ${orderUrl}/ship: 409\\n.*"status":409`));
      expect(run.stdout).toMatch(new RegExp(`GET ${api!.url}/streams/${orderId}/events: 200.*\\n.*"correlationId":"${correlationId}"`));
      expect(run.stdout).toMatch(new RegExp(`GET ${consumer!.url}/notifications\\?customerId=${userId}: 200\\n.*ORDER_CANCELLED`));

      // What the session printed is what the servers hold.
      const stats = await consumer!.get(`/customers/${userId}/stats`);
      expect(stats.body).toMatchObject({ ordersPlaced: 1, ordersConfirmed: 1, ordersCancelled: 1 });
      const user = await fetch(`${api!.url}/users/${userId}`, { headers: { authorization: `Bearer ${token}` } });
      expect(await user.json()).toMatchObject({ creditReserved: 0 });
    }
    expect(count(run.stdout, /^GET .*\/health: 200$/m)).toBe(4);
  }, 120_000);

  it('stops at the failing step with its message, and leaves the shell running', async () => {
    const closedPort = await freePort();
    const run = await pasteIntoBash(
      session,
      [
        { before: 'export TOKEN=not-a-token' },
        { before: `export TOKEN=${token} API=http://127.0.0.1:${closedPort}` },
        { before: `export API=${api!.url} CONSUMER=http://127.0.0.1:${closedPort}` },
        { before: 'unset TOKEN' },
      ],
      { API: api!.url, CONSUMER: consumer!.url },
    );

    expect(run.statuses).toHaveLength(4);
    expect(run.statuses.every((status) => status !== 0)).toBe(true);
    expect(run.shellSurvived).toBe(true);
    // Its stderr also holds the pasted lines, echoed after the prompts ($ and >).
    const stops = run.stderr.split('\n').filter((line) => /^STOPPED at|^bash: TOKEN: is not set/.test(line));
    expect(stops).toEqual([
      // A refused POST: its problem+json, and no id taken from it for the next steps.
      expect.stringMatching(new RegExp(`^STOPPED at POST ${api!.url}/users: expected 201, got 401: \\{.*"status":401`)),
      expect.stringMatching(new RegExp(`^STOPPED at POST http://127.0.0.1:${closedPort}/users: no answer`)),
      // The API's steps ran; the consumer's first one stops the session.
      expect.stringMatching(new RegExp(`^STOPPED at GET http://127.0.0.1:${closedPort}/notifications\\?customerId=\\S+: no answer`)),
      expect.stringMatching(/^bash: TOKEN: is not set: paste the export TOKEN=\.\.\. line that npm start printed/),
    ]);
    // Nothing ran after a failed step: one session of four got past its first request.
    expect(count(run.stdout, /^POST \S+\/orders: 202/m)).toBe(1);
    expect(run.stdout).not.toContain('Done:');
  }, 120_000);
});
