import pg from 'pg';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const progress = (message) => process.stderr.write(`bench: ${message}\n`);

export async function connect(connectionString) {
  const client = new pg.Client({ connectionString });
  client.on('error', () => {}); // the final DROP DATABASE … WITH (FORCE) ends it if a step failed
  await client.connect();
  return client;
}

/** SIGTERM, then SIGKILL after 20 s. */
export async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  if ((await Promise.race([exited, sleep(20_000).then(() => 'late')])) === 'late') {
    child.kill('SIGKILL');
    await exited;
  }
}

export async function waitForHealth(url) {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`${url} did not answer`);
}

/** A sleep that `wake()` ends early: a sampler switching to a shorter period should not finish its longer pause first. */
export function wakeableSleep() {
  let wake = () => {};
  return {
    sleep: (ms) =>
      new Promise((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      }),
    wake: () => wake(),
  };
}
