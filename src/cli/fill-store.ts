import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { migrations } from '../../migrations';
import { loadEnvironment } from '../config/environment';
import { ensureDatabaseExists } from '../database/ensure-database';
import { MIGRATION_LOCKS, runMigrationsUnderLock } from '../database/migration-lock';
import { FILL_PROGRESS_TABLE, fillStore, FillProgress } from './store-filler';

export const USAGE = `Usage: npm run fill-store -- [--events <n>] [--chunk <n>] [--no-vacuum]

Fills the database at DATABASE_URL (created and migrated if needed) with a long history of
Users and Orders events through COPY, as if the API had taken the commands and every reader had
processed them: write models, projections and checkpoints match the events, so an API started
on it reads nothing old. Stop the API first; every reader must be at the head.

  --events <n>   events the fill writes in all, rounded up to whole customer histories (default 10000000)
  --chunk <n>    events per transaction (default 50000)
  --no-vacuum    skip the VACUUM ANALYZE at the end

Restartable: an interrupted fill rolls back its last chunk only, and the same command continues
from ${FILL_PROGRESS_TABLE}. A finished fill run again with the same --events does nothing.
Progress (events/s, time left) goes to stderr, a summary to stdout.`;

const VACUUMED_TABLES = ['events', 'users', 'credit_reservations', 'orders', 'order_summaries', 'subscription_checkpoints'];

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: { events: { type: 'string' }, chunk: { type: 'string' }, 'no-vacuum': { type: 'boolean' }, help: { type: 'boolean' } },
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const events = Number(values.events ?? 10_000_000);
  const chunkEvents = Number(values.chunk ?? 50_000);
  if (!Number.isSafeInteger(events) || events < 1 || !Number.isSafeInteger(chunkEvents) || chunkEvents < 1) {
    process.stderr.write(`--events and --chunk take positive integers\n\n${USAGE}\n`);
    return 2;
  }

  const { DATABASE_URL: url, MIGRATION_LOCK_WAIT_MS: waitMs } = loadEnvironment(process.env);
  await ensureDatabaseExists(url, { urlVariable: 'DATABASE_URL' });
  // Migrated exactly as the API does at start, under the same lock (an API starting meanwhile waits, or this does).
  const dataSource = new DataSource({ type: 'postgres', url, migrations, migrationsTransactionMode: 'each', logging: ['warn'] });
  await dataSource.initialize();
  try {
    await runMigrationsUnderLock(dataSource, { lock: MIGRATION_LOCKS.api, waitMs, logger: { log: (line: string) => process.stderr.write(`${line}\n`) } });
  } finally {
    await dataSource.destroy();
  }

  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const began = Date.now();
    let lastPrinted = 0;
    const result = await fillStore(client, {
      events,
      chunkEvents,
      onProgress: (progress) => {
        if (Date.now() - lastPrinted < 1000 && progress.events < progress.target) return;
        lastPrinted = Date.now();
        process.stderr.write(`${formatFillProgress(progress)}\n`);
      },
    });
    const fillMs = Date.now() - began;
    let vacuumMs = 0;
    if (!values['no-vacuum'] && result.eventsThisRun > 0) {
      const vacuumBegan = Date.now();
      for (const table of VACUUMED_TABLES) {
        process.stderr.write(`VACUUM ANALYZE ${table}\n`);
        await client.query(`VACUUM (ANALYZE) ${table}`);
      }
      vacuumMs = Date.now() - vacuumBegan;
    }
    const { rows } = await client.query(`SELECT pg_size_pretty(pg_database_size(current_database())) AS size`);
    process.stdout.write(
      `filled ${result.events.toLocaleString('en')} events of ${result.customers.toLocaleString('en')} customers` +
        ` (${result.eventsThisRun.toLocaleString('en')} this run in ${(fillMs / 1000).toFixed(1)} s` +
        `${vacuumMs ? `, VACUUM ANALYZE ${(vacuumMs / 1000).toFixed(1)} s` : ''}); database size ${rows[0].size}\n`,
    );
    return 0;
  } finally {
    await client.end();
  }
}

export function formatFillProgress({ events, target, eventsThisRun, elapsedMs }: FillProgress): string {
  const rate = eventsThisRun / Math.max(elapsedMs / 1000, 0.001);
  const left = Math.max(target - events, 0) / Math.max(rate, 1);
  const eta = left >= 90 ? `~${Math.round(left / 60)} min left` : `~${Math.round(left)} s left`;
  return `filled ${events.toLocaleString('en')} / ${target.toLocaleString('en')} events (${((100 * events) / target).toFixed(1)}%), ${Math.round(rate).toLocaleString('en')} ev/s, ${eta}`;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`fill failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
