// `npm start`: runs the built API and the consumer app side by side, prefixing each line of
// their logs. Ctrl-C, SIGTERM or SIGHUP stops both gracefully and exits 0 once both exited 0. A child
// that exits on its own stops the other, and the exit status is 1. A child still running
// STOP_TIMEOUT_MS after it was asked to stop is SIGKILLed (status 1).
//
// Authentication: with none configured (no AUTH_MODE, AUTH_JWT_SECRET or AUTH_JWKS_URL), both
// apps run in development mode (AUTH_MODE=development) with one secret generated here, and this
// script prints a token with every scope for them. Configured otherwise, it passes that on as it is.
// Development mode listens on loopback addresses only: with HOST or CONSUMER_HOST set to any other
// (0.0.0.0 in a container) and no authentication configured, it exits 1 before printing a token.
//
// Before it prints a token or starts an app, it checks what would make either fail at once, and
// exits 1 with one line saying what to change: the configuration (both apps' own validation, as
// they would run it: PORT=abc) and their ports (bound and closed again on the apps' hosts: a
// second `npm start`). An app that fails later (its database, the broker) stops the other.
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import readline from 'node:readline';
import { signDevelopmentToken } from '../dist/src/auth/access-token-signer.js';
import { developmentModeOffLoopback, isLoopbackHost } from '../dist/src/auth/authentication-settings.js';
import { InvalidEnvironmentError, loadEnvironment } from '../dist/src/config/environment.js';
import { loadConsumerEnvironment } from '../dist/src/consumer/config/consumer-environment.js';

const STOP_TIMEOUT_MS = Number(process.env.START_STOP_TIMEOUT_MS ?? 15_000);
if (!Number.isInteger(STOP_TIMEOUT_MS) || STOP_TIMEOUT_MS < 1) {
  process.stderr.write(`Invalid configuration: START_STOP_TIMEOUT_MS: a positive number of ms\n`);
  process.exit(1);
}

function log(line) {
  process.stdout.write(`[start] ${line}\n`);
}

// The apps log JSON unless told otherwise and never guess from their own output (a container
// run with a TTY would switch a log shipper's input to text). This script is for a person: on a
// terminal, and unless LOG_FORMAT says otherwise, it asks them for readable lines.
const env = { ...process.env, LOG_FORMAT: process.env.LOG_FORMAT || (process.stdout.isTTY ? 'pretty' : 'json') };
const development = env.AUTH_MODE === 'development' || (env.AUTH_MODE === undefined && env.AUTH_JWT_SECRET === undefined && env.AUTH_JWKS_URL === undefined);
if (development) {
  const exposed = [env.HOST ?? '127.0.0.1', env.CONSUMER_HOST ?? '127.0.0.1'].find((host) => !isLoopbackHost(host));
  if (exposed !== undefined) {
    process.stderr.write(`Invalid configuration: ${developmentModeOffLoopback(exposed)}\n`);
    process.exit(1);
  }
  env.AUTH_MODE = 'development';
  env.AUTH_JWT_SECRET ??= randomBytes(32).toString('base64url');
}

const listeners = configuredListeners(env);
await refuseTakenPorts(listeners);

if (development) {
  const token = await signDevelopmentToken({ secret: env.AUTH_JWT_SECRET, issuer: env.AUTH_ISSUER, audience: env.AUTH_AUDIENCE });
  const api = `http://${hostInUrl(listeners.api.host)}:${listeners.api.port}`;
  log('development mode (AUTH_MODE=development): every endpoint but the health checks, /metrics, the API documents (/docs, /asyncapi) and the /flows page needs a bearer token. One with every scope, valid 24 h:');
  log(`export TOKEN=${token}`);
  log(`then: curl -H "Authorization: Bearer $TOKEN" ${api}/orders   (Swagger UI: ${api}/docs, button Authorize; a request's journey, in a browser: ${api}/flows)`);
}

/**
 * Where each app will listen, read from `environment` by the apps' own validation; exits 1 with
 * the apps' `Invalid configuration: …` line (once when both say the same) when either refuses it.
 */
function configuredListeners(environment) {
  const problems = new Set();
  const validated = (load) => {
    try {
      return load(environment);
    } catch (error) {
      if (!(error instanceof InvalidEnvironmentError)) throw error;
      problems.add(error.message);
      return undefined;
    }
  };
  const consumer = validated(loadConsumerEnvironment);
  // GET /flows/{correlationId} asks the consumer started here for its effects.
  if (consumer) environment.CONSUMER_URL ??= `http://${hostInUrl(consumer.CONSUMER_HOST)}:${consumer.CONSUMER_PORT}`;
  const api = validated(loadEnvironment);
  if (problems.size > 0) {
    process.stderr.write(`${[...problems].join('\n')}\n`);
    process.exit(1);
  }
  return {
    api: { host: api.HOST, port: api.PORT, variable: 'PORT', hostVariable: 'HOST' },
    consumer: { host: consumer.CONSUMER_HOST, port: consumer.CONSUMER_PORT, variable: 'CONSUMER_PORT', hostVariable: 'CONSUMER_HOST' },
  };
}

/**
 * Binds both apps' ports on their hosts, both at once, then lets them go; exits 1 with one line
 * when one cannot be bound. The apps bind them a moment later: a port taken in between fails
 * that app, which stops the other, as before.
 */
async function refuseTakenPorts({ api, consumer }) {
  if (api.port === consumer.port && api.host === consumer.host) refuse(samePort(api, consumer));
  const held = [];
  const release = () => Promise.all(held.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  try {
    for (const listener of [api, consumer]) {
      const server = createServer();
      const failure = await bindFailure(server, listener);
      if (failure) {
        // One address spelled two ways (localhost and 127.0.0.1, or :: and any IPv4 one): what
        // holds the consumer's port is the API's, bound here a moment ago, not another process.
        if (failure.code === 'EADDRINUSE' && listener === consumer && api.port === consumer.port) {
          await release();
          const alone = createServer();
          if ((await bindFailure(alone, consumer)) === undefined) {
            await new Promise((resolve) => alone.close(resolve));
            refuse(samePort(api, consumer));
          }
        }
        refuse(cannotListen(listener, failure));
      }
      held.push(server);
    }
  } finally {
    await release();
  }
}

/** Listens on the listener's host and port: undefined once it listens, else the error. */
function bindFailure(server, { host, port }) {
  return new Promise((resolve) => {
    server.once('error', resolve);
    server.listen({ port, host }, () => resolve(undefined));
  });
}

function samePort(api, consumer) {
  const hosts = api.host === consumer.host ? api.host : `${api.host} and ${consumer.host}`;
  return `PORT and CONSUMER_PORT are both ${api.port} on ${hosts}: give each app its own port, see README "If ports 3000/3001 are taken"`;
}

function cannotListen({ host, port, variable, hostVariable }, error) {
  switch (error.code) {
    case 'EADDRINUSE':
      return `port ${port} is in use (another npm start?): set ${variable}, see README "If ports 3000/3001 are taken"`;
    case 'EACCES':
      return `port ${port} needs privileges this process does not have (EACCES): set ${variable} to 1024 or above`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${hostVariable}=${host} is not an address of this machine (${error.code}): set ${hostVariable}`;
    default:
      return `cannot listen on ${host}:${port} (${error.code ?? error.message}): check ${hostVariable} and ${variable}`;
  }
}

/** An IPv6 address in brackets, as a URL needs it. */
function hostInUrl(host) {
  return host.includes(':') ? `[${host}]` : host;
}

function refuse(line) {
  process.stderr.write(`${line}\n`);
  process.exit(1);
}

// Each with its tracing preload, as `npm run start:api` / `start:consumer` (off unless OTEL_* asks).
const children = [
  { name: 'api', entry: 'dist/src/main.js', preload: './dist/src/tracing/preload-api.js' },
  { name: 'consumer', entry: 'dist/src/consumer/main.js', preload: './dist/src/tracing/preload-consumer.js' },
].map(({ name, entry, preload }) => {
  // Own process group: a Ctrl-C in the terminal reaches only this script, which forwards it
  // once (a second signal would make the apps give up their graceful stop).
  const child = spawn(process.execPath, ['--import', preload, entry], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env });
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on('line', (line) => process.stdout.write(`[${name}] ${line}\n`));
  }
  log(`${name} started (pid ${child.pid})`);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { name, child, exited, diedOnItsOwn: false };
});

let stopping;

/** Asks every running child to stop with `signal`, waits, and exits with `status` or 1 if any child failed. */
function stopAll(signal, status) {
  if (stopping) return stopping;
  stopping = (async () => {
    const results = await Promise.all(children.map((child) => stopChild(child, signal)));
    process.exit(results.every((ok) => ok) ? status : 1);
  })();
  return stopping;
}

async function stopChild({ name, child, exited, diedOnItsOwn }, signal) {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  let timer;
  const deadline = new Promise((resolve) => (timer = setTimeout(resolve, STOP_TIMEOUT_MS, 'deadline')));
  const outcome = await Promise.race([exited, deadline]);
  clearTimeout(timer);
  if (outcome === 'deadline') {
    log(`${name} did not stop within ${STOP_TIMEOUT_MS} ms: SIGKILL`);
    child.kill('SIGKILL');
    await exited;
    return false;
  }
  const { code, signal: killedBy } = outcome;
  if (code === 0) return true;
  if (!diedOnItsOwn) log(`${name} exited with ${killedBy ?? `status ${code}`}`);
  return false;
}

for (const entry of children) {
  const { name, child, exited } = entry;
  void exited.then(({ code, signal }) => {
    if (stopping) return;
    entry.diedOnItsOwn = true;
    log(`${name} exited on its own (${signal ?? `status ${code}`}); stopping the other process`);
    void stopAll('SIGTERM', 1);
  });
  child.on('error', (error) => {
    log(`${name} could not run: ${error.message}`);
    void stopAll('SIGTERM', 1);
  });
}

// SIGHUP (the terminal closed, the SSH session dropped) stops both like SIGTERM: the apps live in
// their own process groups, so the hang-up does not reach them, and this script dying of it
// would leave them running with nobody to stop them. Its output may be gone by then.
process.stdout.on('error', () => undefined);
const FORWARDED = { SIGINT: 'SIGINT', SIGTERM: 'SIGTERM', SIGHUP: 'SIGTERM' };
// Under `npm start` a terminal's Ctrl-C reaches this script twice: once through the process
// group and once forwarded by npm. A repeat within a second is that same request.
const REPEATED_SIGNAL_MS = 1000;
let firstSignalAt;

for (const [received, forwarded] of Object.entries(FORWARDED)) {
  process.on(received, () => {
    if (firstSignalAt !== undefined && performance.now() - firstSignalAt < REPEATED_SIGNAL_MS) return;
    firstSignalAt ??= performance.now();
    if (stopping) {
      // A second Ctrl-C: pass it on, the apps then exit at once.
      log(`second ${received}: forcing the apps to exit`);
      for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill(forwarded);
      return;
    }
    log(`${received} received: stopping both processes`);
    void stopAll(forwarded, 0);
  });
}

// However this script ends, it leaves no app behind (they live in their own process groups).
process.on('exit', () => {
  for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
