// BENCH_STORE_EVENTS=<n>: the bench runs on a store that already holds n events (issue 10: cost
// that stays flat as the store grows). The filled store is kept between runs as a template
// database, `eda_bench_store_<n>`, filled once by `npm run fill-store` (COPY; restartable, so an
// interrupted fill continues); each run copies it (CREATE DATABASE … TEMPLATE, STRATEGY
// FILE_COPY: a file copy, no WAL per row) into its own throwaway database, so every run starts
// from the same store and the template never sees the load. Drop the template by hand when done:
// DROP DATABASE eda_bench_store_<n>.
import { spawn } from 'node:child_process';
import pg from 'pg';
import { progress } from './support.mjs';

/** The template database holding `events` filled events (filled now if it is not yet), and its head. */
export async function prefilledStore({ admin, server, events }) {
  if (!Number.isSafeInteger(events) || events < 1) throw new Error(`BENCH_STORE_EVENTS is a positive integer, not ${events}`);
  const template = `eda_bench_store_${events}`;
  let filled = await fillState(admin, server, template);
  if (filled === null || filled.events < events) {
    progress(`filling ${template} with ${events.toLocaleString('en')} events (once; later runs reuse it)`);
    const began = performance.now();
    await run(process.execPath, ['dist/src/cli/fill-store.js', '--events', String(events)], { DATABASE_URL: `${server}/${template}` });
    progress(`${template} filled in ${Math.round((performance.now() - began) / 1000)} s`);
    filled = await fillState(admin, server, template);
  }
  const { rows } = await admin.query(`SELECT pg_size_pretty(pg_database_size($1)) AS size`, [template]);
  progress(`store: ${template}, ${filled.events.toLocaleString('en')} events, head ${filled.head}, ${rows[0].size}`);
  return { template, events: filled.events, head: Number(filled.head) };
}

/** What the fill recorded in the template, or null when it does not exist or was never filled. */
async function fillState(admin, server, template) {
  const { rowCount } = await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [template]);
  if (!rowCount) return null;
  const client = new pg.Client({ connectionString: `${server}/${template}` });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT events::float8 AS events, head::text AS head FROM store_fill_progress`).catch(() => ({ rows: [] }));
    return rows[0] ?? null;
  } finally {
    await client.end();
  }
}

/** `CREATE DATABASE` options that copy the filled store (nothing for an empty one). */
export function copyOf(store) {
  return store ? ` TEMPLATE ${store.template} STRATEGY FILE_COPY` : '';
}

function run(command, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))));
  });
}
