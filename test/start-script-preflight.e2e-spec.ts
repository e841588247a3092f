import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { freePort } from './support/consumer-process';
import { exitOf, type ExitStatus } from './support/exit-status';

/**
 * `npm start` (scripts/start.mjs) with what makes an app fail at once: a port another process
 * holds (a second `npm start`), a PORT that is no port. It printed a working-looking token and a
 * curl line (`http://127.0.0.1:abc/orders`), then the app's failure. It must exit 1 with one line
 * saying what to change, before any token or app.
 */
const ROOT = path.resolve(__dirname, '..');
const NO_AUTH = { AUTH_MODE: undefined, AUTH_JWT_SECRET: undefined, AUTH_JWKS_URL: undefined, AUTH_ISSUER: undefined, AUTH_AUDIENCE: undefined };
// Were a check to let it through, the apps fail on this at once instead of touching a real database.
const NOWHERE = 'postgres://postgres@127.0.0.1:1/never';

async function startScript(env: Record<string, string | undefined>): Promise<ExitStatus & { stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['scripts/start.mjs'], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '', ...NO_AUTH, DATABASE_URL: NOWHERE, CONSUMER_DATABASE_URL: NOWHERE, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const hung = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const status = await exitOf(child);
  clearTimeout(hung);
  return { ...status, stdout, stderr };
}

async function twoFreePorts(): Promise<[number, number]> {
  const port = await freePort();
  let other = await freePort();
  while (other === port) other = await freePort();
  return [port, other];
}

async function holdPort(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

const PRINTED_TOKEN_OR_APP = /TOKEN=|started \(pid|\[api\]|\[consumer\]/;

describe('npm start refuses before it prints a token', () => {
  it.each([
    ['PORT', 'the API'],
    ['CONSUMER_PORT', 'the consumer'],
  ])('when %s (%s) is held by another process: exit 1, one line naming the port and the variable to set', async (variable) => {
    const [port, consumerPort] = await twoFreePorts();
    const held = await holdPort(variable === 'PORT' ? port : consumerPort);
    try {
      const started = await startScript({ PORT: String(port), CONSUMER_PORT: String(consumerPort) });
      const heldPort = variable === 'PORT' ? port : consumerPort;
      expect(started).toMatchObject({ code: 1, signal: null });
      expect(started.stderr).toBe(`port ${heldPort} is in use (another npm start?): set ${variable}, see README "If ports 3000/3001 are taken"\n`);
      expect(`${started.stdout}${started.stderr}`).not.toMatch(PRINTED_TOKEN_OR_APP);
    } finally {
      await new Promise((resolve) => held.close(resolve));
    }
  });

  it.each([
    ['PORT', 'abc'],
    ['CONSUMER_PORT', '70000'],
  ])('when %s=%s: exit 1 with the apps\' "Invalid configuration" line, and no URL made of it', async (variable, value) => {
    const [port, consumerPort] = await twoFreePorts();
    const started = await startScript({ PORT: String(port), CONSUMER_PORT: String(consumerPort), [variable]: value });
    expect(started).toMatchObject({ code: 1, signal: null });
    expect(started.stderr).toMatch(new RegExp(`^Invalid configuration: ${variable}: [^\\n]+\\n$`));
    expect(`${started.stdout}${started.stderr}`).not.toMatch(PRINTED_TOKEN_OR_APP);
    expect(started.stdout).not.toContain(`:${value}`);
  });

  it('when PORT and CONSUMER_PORT are the same: exit 1, saying so', async () => {
    const port = String(await freePort());
    const started = await startScript({ PORT: port, CONSUMER_PORT: port });
    expect(started).toMatchObject({ code: 1, signal: null });
    expect(started.stderr).toBe(`PORT and CONSUMER_PORT are both ${port} on 127.0.0.1: give each app its own port, see README "If ports 3000/3001 are taken"\n`);
    expect(`${started.stdout}${started.stderr}`).not.toMatch(PRINTED_TOKEN_OR_APP);
  });

  // The same address spelled two ways: the check of equal strings passes, the bind of the second
  // app then fails on the port the script itself holds for the first, and nothing else holds it.
  it.each([
    ['localhost', '127.0.0.1'],
    ['::1', '0:0:0:0:0:0:0:1'],
  ])('when PORT and CONSUMER_PORT are the same on HOST=%s and CONSUMER_HOST=%s: exit 1, saying so, not "in use"', async (host, consumerHost) => {
    const port = String(await freePort());
    const started = await startScript({ PORT: port, CONSUMER_PORT: port, HOST: host, CONSUMER_HOST: consumerHost });
    expect(started).toMatchObject({ code: 1, signal: null });
    expect(started.stderr).toBe(
      `PORT and CONSUMER_PORT are both ${port} on ${host} and ${consumerHost}: give each app its own port, see README "If ports 3000/3001 are taken"\n`,
    );
    expect(`${started.stdout}${started.stderr}`).not.toMatch(PRINTED_TOKEN_OR_APP);
  });
});
