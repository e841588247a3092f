import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadEnvironment } from '../config/environment';
import { EventStoreManifests, type ProjectionDefinition, ProjectionRebuilder, type RebuildProgress, type RebuildResult } from '../event-store';
import { EVENT_STORE_MANIFESTS } from '../modules/manifests';
import { parseRebuildArguments, USAGE } from './rebuild-arguments';
import { formatProgress, formatResult } from './rebuild-report';
import { pgPoolOptions } from '../database/pool-options';
import { API_SCHEMA } from '../database/api-schema';
import { refuseSchemaBehind, schemaAhead, type SchemaChecker } from '../database/migration-check';

const PROGRESS_INTERVAL_MS = 1000;

/** This command, as its refusal of a schema behind the build names it: it applies no migration, and a rebuild needs them all. */
const REBUILD_COMMAND: SchemaChecker = { name: '`npm run rebuild-projections`', when: '', retry: 'run it again' };

async function main(): Promise<number> {
  const manifests = new EventStoreManifests(EVENT_STORE_MANIFESTS);
  const command = parseRebuildArguments(process.argv.slice(2), manifests.projections);
  switch (command.kind) {
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    case 'usage-error':
      process.stderr.write(`${command.message}\n\n${USAGE}\n`);
      return 2;
    case 'list':
      for (const { name, table, subscriptionId } of manifests.projections) {
        process.stdout.write(`${name}\ttable ${table}\tsubscription ${subscriptionId}\n`);
      }
      return 0;
  }

  const environment = loadEnvironment(process.env);
  const url = environment.DATABASE_URL;
  // Refused before anything is written, as a start with DATABASE_MIGRATIONS=check refuses it: a
  // rebuild on a schema behind the build failed deep inside (at sequence_events, when its
  // migration was missing), after it had written a checkpoint and a table.
  const { unknown } = await refuseSchemaBehind(
    API_SCHEMA,
    {
      url,
      waitMs: environment.MIGRATION_LOCK_WAIT_MS,
      replyTimeoutMs: environment.DATABASE_STATEMENT_REPLY_TIMEOUT_MS,
      logger: { log: (line) => process.stderr.write(`${line}\n`) },
    },
    REBUILD_COMMAND,
  );
  if (unknown.length > 0) process.stderr.write(`warning: ${schemaAhead(API_SCHEMA, url, unknown)}; rebuilding anyway\n`);
  const dataSource = new DataSource({ type: 'postgres', url, extra: pgPoolOptions(3) });
  await dataSource.initialize();
  try {
    const rebuilder = new ProjectionRebuilder(dataSource, manifests.eventUpcasters());
    let allSwapped = true;
    for (const projection of command.projections) {
      const result = await rebuildWithProgress(rebuilder, projection, command);
      process.stdout.write(`${formatResult(result)}\n`);
      allSwapped &&= result.swapped;
    }
    return allSwapped ? 0 : 1;
  } finally {
    await dataSource.destroy();
  }
}

/** Rebuilds one projection, printing its progress to stderr about once a second and when the replay is done. */
async function rebuildWithProgress(
  rebuilder: ProjectionRebuilder,
  projection: ProjectionDefinition,
  options: { batchSize: number; acceptDifferences: boolean },
): Promise<RebuildResult> {
  let unprinted: RebuildProgress | undefined;
  let printedAt = Date.now();
  const print = (progress: RebuildProgress) => {
    process.stderr.write(`${formatProgress(progress)}\n`);
    printedAt = Date.now();
    unprinted = undefined;
  };
  const result = await rebuilder.rebuild(projection, {
    ...options,
    onProgress: (progress) => {
      unprinted = progress;
      if (Date.now() - printedAt >= PROGRESS_INTERVAL_MS) print(progress);
    },
  });
  if (unprinted) print(unprinted);
  return result;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`rebuild failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
