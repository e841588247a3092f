import { Logger, type LoggerService } from '@nestjs/common';
import type { MigrationInterface } from 'typeorm';
import { urlWithoutSecrets } from '../logging/url-without-secrets';
import { DatabaseMissingError, ensureDatabaseExists } from './ensure-database';
import { type MigrationLockKey, readRecordedMigrationsUnderLock } from './migration-lock';

/** One app's schema: its migrations, their lock, and how an operator applies them apart from a start. */
export interface SchemaSet {
  lock: MigrationLockKey;
  /** Every migration of the set, as the DataSource's `migrations` lists them. */
  migrations: ReadonlyArray<new () => MigrationInterface>;
  /** The variable that names the set's database. */
  urlVariable: string;
  /** The command that applies the set's migrations apart from a start (src/database/migrate-command.ts). */
  migrateCommand: string;
}

/** What a start does with its database's migrations (DATABASE_MIGRATIONS). */
export type MigrationsAtStart = 'run' | 'check';

/** A start with DATABASE_MIGRATIONS=check found its schema behind the build (or no database at all). */
export class PendingMigrationsError extends Error {}

/**
 * The names of `migrations` in the order a run applies them: by the 13-digit timestamp that ends
 * each name, as TypeORM sorts them (a name is the instance's `name`, else the class's).
 */
export function migrationNames(migrations: SchemaSet['migrations']): string[] {
  return migrations
    .map((Migration) => new Migration().name ?? Migration.name)
    .map((name, index) => ({ name, index, timestamp: Number(name.slice(-13)) }))
    .sort((a, b) => a.timestamp - b.timestamp || a.index - b.index)
    .map(({ name }) => name);
}

/**
 * The build's migrations (`known`, in run order) against those the database records: which are
 * `pending` (known, not recorded; in run order) and which are `unknown` (recorded, not known:
 * applied by another build, a newer one as a rule; in the order of `recorded`). Compared by name, as
 * TypeORM decides what is pending.
 */
export function compareMigrations(known: readonly string[], recorded: readonly string[]): { pending: string[]; unknown: string[] } {
  const recordedNames = new Set(recorded);
  const knownNames = new Set(known);
  return { pending: known.filter((name) => !recordedNames.has(name)), unknown: recorded.filter((name) => !knownNames.has(name)) };
}

/** Why a start with DATABASE_MIGRATIONS=check refuses a schema that misses `pending`, and what to run. */
export function schemaBehindProblem(set: SchemaSet, url: string, pending: readonly string[]): string {
  return (
    `the ${set.lock.schema} schema of database ${urlWithoutSecrets(url)} is behind this build: ${count(pending.length, 'migration')} pending ` +
    `(${pending.join(', ')}); DATABASE_MIGRATIONS=check applies none at start: ${runCommand(set, 'apply them')}`
  );
}

/** Why a start with DATABASE_MIGRATIONS=check refuses a database that does not exist, and what to run. */
export function databaseMissingProblem(set: SchemaSet, url: string): string {
  return `database ${urlWithoutSecrets(url)} does not exist; DATABASE_MIGRATIONS=check creates nothing at start: ${runCommand(set, 'create it and apply its migrations')}`;
}

/**
 * That the database records migrations this build does not know (`unknown`), and where they come
 * from: a newer version's, when their timestamp is past the build's latest migration; otherwise
 * (older than it, or with no timestamp ending the name) not a newer version's, which would hold
 * every migration of this build: one renamed or removed since it was applied, or a row recorded by hand.
 */
export function schemaAhead(set: SchemaSet, url: string, unknown: readonly string[]): string {
  const latest = migrationNames(set.migrations).at(-1);
  const newer = unknown.filter((name) => isNewerThan(name, latest));
  const other = unknown.filter((name) => !isNewerThan(name, latest));
  const records = `the ${set.lock.schema} schema of database ${urlWithoutSecrets(url)} records ${count(unknown.length, 'migration')} this build does not know`;
  const newerOrigin = 'applied by a newer version';
  const otherKind = [
    ...(other.some((name) => timestampOf(name) !== undefined) ? [`older than its latest (${latest})`] : []),
    ...(other.some((name) => timestampOf(name) === undefined) ? ['without a timestamp'] : []),
  ].join(' or ');
  const otherOrigin = 'renamed or removed since it was applied, or recorded by hand';
  if (other.length === 0) return `${records} (${newer.join(', ')}), ${newerOrigin}`;
  if (newer.length === 0) return `${records} (${other.join(', ')}), ${otherKind}: ${otherOrigin}`;
  return `${records}: ${newer.length} ${newerOrigin} (${newer.join(', ')}); ${other.length} ${otherKind} (${other.join(', ')}): ${otherOrigin}`;
}

/** The 13-digit timestamp ending a migration's name, as TypeORM reads it; undefined when the name has none. */
function timestampOf(name: string): number | undefined {
  const digits = name.slice(-13);
  return /^\d{13}$/.test(digits) ? Number(digits) : undefined;
}

function isNewerThan(name: string, latest: string | undefined): boolean {
  const timestamp = timestampOf(name);
  return timestamp !== undefined && (latest === undefined || timestamp > (timestampOf(latest) ?? 0));
}

/** The warning of a start whose database records migrations this build does not know. */
export function schemaAheadWarning(set: SchemaSet, url: string, unknown: readonly string[]): string {
  return (
    `${schemaAhead(set, url, unknown)}: starting anyway, as a previous version must during a rolling deploy or a rollback ` +
    '(a migration the previous version cannot run beside refuses while it runs)'
  );
}

function runCommand(set: SchemaSet, what: string): string {
  return `${what} with \`${set.migrateCommand}\` (same ${set.urlVariable}), then start again`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

export interface StartMigrationSettings {
  /** The set's database (DATABASE_URL, CONSUMER_DATABASE_URL). */
  url: string;
  /** DATABASE_MIGRATIONS. */
  migrations: MigrationsAtStart;
  /** MIGRATION_LOCK_WAIT_MS: how long a check waits for another process's run. */
  waitMs: number;
  /** DATABASE_STATEMENT_REPLY_TIMEOUT_MS: bounds each connect and statement (0: no bound). */
  replyTimeoutMs: number;
  /** Where the lock's wait and the schema-ahead warning are told; the `Migrations` Nest logger unless given. */
  logger?: Pick<LoggerService, 'log' | 'warn'>;
}

/**
 * What a start does with its database before the app is built. `run`: creates it if missing (the
 * migrations then run as the DataSource is made, under the migration lock: migratedDataSourceFactory).
 * `check`: creates and applies nothing, and refuses to start while a migration of the build is not
 * recorded, or the database is missing, saying what to run; it waits first, like a run, for
 * another process's run in progress (the migration lock), so a start beside the deploy's migrate
 * step starts once it ended instead of failing halfway through it.
 *
 * With `check`, a database that records migrations the build does not know (a newer version's)
 * is warned about and started on (a run applies what it has pending and, as TypeORM does, says
 * nothing of the others): during a rolling deploy the previous version keeps running on
 * the schema the new version migrated (its replicas restart, reschedule, scale), as it does after
 * a rollback of the code; the migrations that the previous version cannot run beside refuse
 * while it runs (migrations/previous-version-running.ts). Refusing here would fail those starts
 * and gain nothing those migrations do not already guard.
 *
 * @throws PendingMigrationsError with `check`, when a migration is pending or the database is missing
 * @throws what ensureDatabaseExists and the lock's wait throw (MigrationLockTimeoutError)
 */
export async function prepareDatabaseAtStart(set: SchemaSet, settings: StartMigrationSettings): Promise<void> {
  const { url, replyTimeoutMs } = settings;
  if (settings.migrations === 'run') {
    await ensureDatabaseExists(url, { replyTimeoutMs, urlVariable: set.urlVariable });
    return;
  }
  const logger = settings.logger ?? new Logger('Migrations');
  const state = await readSchemaState(set, { url, waitMs: settings.waitMs, replyTimeoutMs, logger });
  if (!state.exists) throw new PendingMigrationsError(databaseMissingProblem(set, url));
  if (state.pending.length > 0) throw new PendingMigrationsError(schemaBehindProblem(set, url, state.pending));
  if (state.unknown.length > 0) logger.warn(schemaAheadWarning(set, url, state.unknown));
}

/** Where a database stands against the build's migrations: missing, or what it records, lacks and has beyond them (compareMigrations). */
export type SchemaState = { exists: false } | { exists: true; recorded: string[]; pending: string[]; unknown: string[] };

/**
 * Reads `set`'s schema state at `url`, creating and applying nothing: whether the database
 * exists, and the migrations it records, read under the migration lock (readRecordedMigrationsUnderLock),
 * against the build's. What a start with DATABASE_MIGRATIONS=check and `migrate --check` decide on.
 */
export async function readSchemaState(
  set: SchemaSet,
  { url, waitMs, replyTimeoutMs = 0, logger }: { url: string; waitMs: number; replyTimeoutMs?: number; logger: Pick<LoggerService, 'log'> },
): Promise<SchemaState> {
  try {
    await ensureDatabaseExists(url, { replyTimeoutMs, create: false, urlVariable: set.urlVariable });
  } catch (error) {
    if (error instanceof DatabaseMissingError) return { exists: false };
    throw error;
  }
  const recorded = await readRecordedMigrationsUnderLock(url, { lock: set.lock, waitMs, replyTimeoutMs, logger });
  return { exists: true, recorded, ...compareMigrations(migrationNames(set.migrations), recorded) };
}
