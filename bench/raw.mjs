// The hand-written reference pipeline (/work/shared/bench/raw-pipeline: node:http + pg +
// amqplib, one event per order) run by the bench in the same sitting: copied to a temp folder
// (installed once per content, its own pinned dependencies), its own throwaway database and
// queue, its app and consumer as child processes.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import amqp from 'amqplib';
import { histogramOf } from './histogram.mjs';
import { connect, progress, sleep, stop, waitForHealth, wakeableSleep } from './support.mjs';

export function rawPipelineAt(folder) {
  return existsSync(path.join(folder, 'app.cjs')) && existsSync(path.join(folder, 'consumer.cjs')) ? folder : null;
}

/** A copy with its node_modules, reused while the reference's files stay the same. */
function installedCopy(folder) {
  const hash = createHash('sha256');
  for (const name of readdirSync(folder).sort()) hash.update(name).update(readFileSync(path.join(folder, name)));
  const copy = path.join(os.tmpdir(), `bench-raw-pipeline-${hash.digest('hex').slice(0, 12)}`);
  if (!existsSync(path.join(copy, 'node_modules'))) {
    progress(`raw pipeline: npm install in ${copy}`);
    cpSync(folder, copy, { recursive: true });
    execFileSync('chmod', ['-R', 'u+w', copy]);
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock'], { cwd: copy, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return copy;
}

export async function startRaw({ folder, admin, server, rabbitmqUrl, port, suffix, owned, loadSampleMs, drainSampleMs }) {
  const copy = installedCopy(folder);
  const database = `bench_raw_${suffix}`;
  const queue = `bench-raw-${suffix}`;
  owned.databases.push(database);
  owned.tasks.push(async () => {
    const connection = await amqp.connect(rabbitmqUrl);
    const channel = await connection.createChannel();
    await channel.deleteQueue(queue);
    await connection.close();
  });
  await admin.query(`CREATE DATABASE ${database}`);
  const db = await connect(`${server}/${database}`);
  await db.query(readFileSync(path.join(copy, 'schema.sql'), 'utf8'));

  const { hostname, port: pgPort, username } = new URL(server);
  const env = { ...process.env, PGHOST: hostname, PGPORT: pgPort || '5432', PGUSER: decodeURIComponent(username), PGDATABASE: database, RABBITMQ_URL: rabbitmqUrl, QUEUE: queue };
  const consumer = spawn(process.execPath, ['consumer.cjs'], { cwd: copy, env, stdio: ['ignore', 'ignore', 'inherit'] });
  owned.children.push(consumer);
  // the consumer declares the queue; the app's relay would too, but let the consumer be there first
  await waitForQueue(rabbitmqUrl, queue);
  const app = spawn(process.execPath, ['app.cjs'], { cwd: copy, env: { ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] });
  owned.children.push(app);
  const origin = `http://127.0.0.1:${port}`;
  await waitForHealth(origin);

  const customers = Array.from({ length: 50 }, () => randomUUID());
  const bodies = customers.map((customerId) =>
    JSON.stringify({ customerId, currency: 'EUR', lines: [{ sku: 'BENCH-1', quantity: 2, unitPrice: 1250 }, { sku: 'BENCH-2', quantity: 1, unitPrice: 99 }] }),
  );

  return {
    label: 'raw pipeline',
    saga: false,
    origin,
    path: '/orders',
    bodiesForStep: async () => bodies,
    databases: [database],
    processes: () => ({ API: app.pid, consumer: consumer.pid }),

    async watch() {
      const probe = await connect(`${server}/${database}`);
      let periodMs = loadSampleMs;
      let stopped = false;
      let last = null;
      let stoppedAt = null;
      const pause = wakeableSleep();
      const running = (async () => {
        while (!stopped) {
          const began = performance.now();
          const { rows } = await probe.query(
            `SELECT (SELECT count(*) FROM orders)::int AS orders, (SELECT count(*) FROM order_view)::int AS viewed,
               (SELECT count(*) FROM outbox WHERE published_at IS NULL)::int AS unpublished`,
          );
          last = { t: began, ...rows[0] };
          await pause.sleep(Math.max(0, periodMs - (performance.now() - began)));
        }
        await probe.end();
      })();
      running.catch(() => {});
      return {
        lag: () => (last ? `outbox ${last.unpublished} unpublished, consumer ${last.orders - last.viewed} orders behind` : '–'),
        loadStopped() {
          stoppedAt = performance.now();
          periodMs = drainSampleMs;
          pause.wake();
        },
        async drained(timeoutMs) {
          try {
            for (;;) {
              if (last && last.t > stoppedAt && last.orders === last.viewed && last.unpublished === 0) return { drainedMs: last.t - stoppedAt };
              if (performance.now() - stoppedAt > timeoutMs) throw new Error(`raw pipeline: not drained within ${timeoutMs / 1000} s of the load stopping: ${this.lag()}`);
              await Promise.race([sleep(5), running]);
            }
          } finally {
            stopped = true;
            await running.catch(() => {});
          }
        },
      };
    },

    /** Its README's measures: order_view.projected_at − created_at (one database clock); lost: accepted, not in order_view. */
    async measure(load) {
      const { rows: viewed } = await db.query(
        `SELECT extract(epoch FROM projected_at - created_at)::float8 * 1000 AS ms FROM order_view WHERE id = ANY($1::uuid[])`,
        [load.ids],
      );
      const { rows: written } = await db.query(`SELECT count(*)::int AS n FROM orders WHERE id = ANY($1::uuid[])`, [load.ids]);
      return {
        missingFromWriteModel: load.ids.length - written[0].n,
        lost: load.ids.length - viewed.length,
        duplicated: null, // its consumer writes with ON CONFLICT DO NOTHING: a second delivery leaves no trace
        e2e: histogramOf(viewed.map((row) => row.ms)),
        decisions: null,
      };
    },

    async finish() {
      await db.end();
      await stop(app);
      await stop(consumer);
      return {};
    },
  };
}

async function waitForQueue(rabbitmqUrl, queue) {
  const connection = await amqp.connect(rabbitmqUrl);
  try {
    for (let i = 0; i < 100; i++) {
      const channel = await connection.createChannel();
      channel.on('error', () => {});
      try {
        await channel.checkQueue(queue);
        await channel.close();
        return;
      } catch {
        // not declared yet; a failed check closes the channel
      }
      await sleep(100);
    }
    throw new Error(`raw pipeline: its consumer did not declare ${queue}`);
  } finally {
    await connection.close();
  }
}
