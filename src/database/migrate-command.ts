import { parseArgs } from 'node:util';
import { AbstractLogger, DataSource, type LogLevel, type LogMessage } from 'typeorm';
import { urlWithoutSecrets } from '../logging/url-without-secrets';
import { ensureDatabaseExists } from './ensure-database';
import { processLabel } from './lease-session';
import { compareMigrations, migrationNames, readSchemaState, schemaAhead, type SchemaSet } from './migration-check';
import { runMigrationsUnderLock } from './migration-lock';
import { optionsNpmTook } from './options-npm-took';
import { pgPoolOptions } from './pool-options';

/** Where the command writes: its report (stdout) and its progress, waits and warnings (stderr). */
export interface CommandOutput {
  stdout(line: string): void;
  stderr(line: string): void;
}

export interface MigrateSettings {
  /** The set's database (DATABASE_URL, CONSUMER_DATABASE_URL). */
  url: string;
  /** MIGRATION_LOCK_WAIT_MS: how long the command waits for another process's run (0: no bound). */
  waitMs: number;
  /**
   * DATABASE_STATEMENT_REPLY_TIMEOUT_MS: how long each connect, and each statement but the
   * migrations' own, waits for PostgreSQL's answer (0: no bound). A server that accepts and never
   * answers, or that vanished, fails the command instead of holding a deploy step for ever.
   */
  replyTimeoutMs: number;
}

export function migrateUsage(set: SchemaSet): string {
  return `Usage: ${set.migrateCommand} [--check]

Applies the pending migrations of the ${set.lock.schema} schema to the database at ${set.urlVariable}
(created first if missing, as a start creates it), under the migration lock a start takes: a start
or another run on the same database meanwhile waits, or this does (MIGRATION_LOCK_WAIT_MS bounds
that wait). DATABASE_STATEMENT_REPLY_TIMEOUT_MS bounds each connect and each statement but the
migrations' own, so a server that never answers fails the command instead of hanging it. For deployments whose apps start with DATABASE_MIGRATIONS=check, under a role without
DDL rights: run this as the deploy step before them, with a role that has them.

Prints each migration it applied and a summary to stdout, TypeORM's progress and any warning to
stderr. Exit 0: every migration of this build is applied (a second run applies nothing); 1: the
run failed (the migrations it committed before stay applied; run it again once the cause is fixed);
2: bad arguments.

--check   applies and creates nothing: says which migrations of this build are pending, exit 0
          when none is, 1 when one is or the database does not exist (a deploy pipeline's gate).`;
}

const OPTIONS = { help: { type: 'boolean' }, check: { type: 'boolean' } } as const;

/**
 * The migrate command of `set`: creates the database if missing (ensureDatabaseExists, as a start
 * does), applies the pending migrations under the migration lock (runMigrationsUnderLock, as a
 * start does, each in its own transaction), prints what it applied; warns when the database
 * records migrations this build does not know. `settings` are read once the arguments are
 * taken (`--help` needs none). `environment` is searched for options npm kept for itself
 * (optionsNpmTook): such a command line is refused, as a bad argument is, since the run it would
 * make is not the one asked for (`npm run migrate:api --check` would migrate). Resolves with the
 * exit code; rejects with what failed (exit 1).
 */
export async function migrateCommand(
  set: SchemaSet,
  settings: () => MigrateSettings,
  args: readonly string[],
  out: CommandOutput,
  environment: Readonly<Record<string, string | undefined>> = {},
): Promise<number> {
  const tookByNpm = optionsNpmTook(environment, Object.keys(OPTIONS));
  if (tookByNpm.length > 0) {
    out.stderr(
      `npm took ${tookByNpm.join(' ')} as a setting of its own, not as an argument of this command, which would have run without it; nothing done. ` +
        `The command's arguments go after \`--\`: \`${set.migrateCommand} -- --check\``,
    );
    return 2;
  }
  let check: boolean | undefined;
  try {
    const { values } = parseArgs({ args: [...args], options: OPTIONS });
    if (values.help) {
      out.stdout(migrateUsage(set));
      return 0;
    }
    check = values.check;
  } catch (error) {
    out.stderr(`${(error as Error).message}\n\n${migrateUsage(set)}`);
    return 2;
  }
  if (check) return checkCommand(set, settings(), out);

  const { url, waitMs, replyTimeoutMs } = settings();
  const where = `the ${set.lock.schema} schema of ${urlWithoutSecrets(url)}`;
  await ensureDatabaseExists(url, { replyTimeoutMs, urlVariable: set.urlVariable });
  const dataSource = new DataSource({
    type: 'postgres',
    url,
    migrations: [...set.migrations],
    migrationsTransactionMode: 'each',
    logger: new ProgressLogger(out),
    connectTimeoutMS: replyTimeoutMs || undefined,
    // As the apps' pools: a run killed mid-statement (a deploy job's deadline, Ctrl-C) has its
    // statement cancelled by the server within 2 s (client_connection_check_interval), so the
    // next run or start does not wait behind its locks. The migrations run unbounded (runMigrationsUnderLock).
    extra: pgPoolOptions(2, { applicationName: `migrate:${set.lock.schema} ${processLabel()}`, statementReplyTimeoutMs: replyTimeoutMs }),
  });
  await dataSource.initialize();
  try {
    const applied = await runMigrationsUnderLock(dataSource, { lock: set.lock, waitMs, replyTimeoutMs, logger: { log: (line) => out.stderr(line) } });
    const recorded: Array<{ name: string }> = await dataSource.query(`SELECT name FROM migrations ORDER BY timestamp, id`);
    const recordedNames = recorded.map(({ name }) => name);
    for (const { name } of applied) out.stdout(`applied ${name}`);
    const total = `${recordedNames.length} applied in all, latest ${recordedNames.at(-1) ?? 'none'}`;
    out.stdout(applied.length > 0 ? `${where}: ${applied.length} applied now, ${total}` : `${where}: up to date, nothing to apply; ${total}`);
    const { pending, unknown } = compareMigrations(migrationNames(set.migrations), recordedNames);
    if (unknown.length > 0) out.stderr(`warning: ${schemaAhead(set, url, unknown)}; this build leaves them as they are`);
    // A run applies every pending migration or throws: anything still pending is a bug of the run.
    if (pending.length > 0) throw new Error(`${where} still misses ${pending.join(', ')} after the run`);
    return 0;
  } finally {
    await dataSource.destroy();
  }
}

/**
 * `--check`: what is pending, applying and creating nothing. Reads the `migrations` table under
 * the migration lock, as a start with DATABASE_MIGRATIONS=check does (never halfway through a
 * run), and without creating it. Resolves with 0 when nothing is pending, 1 when a migration is
 * or the database does not exist.
 */
async function checkCommand(set: SchemaSet, { url, waitMs, replyTimeoutMs }: MigrateSettings, out: CommandOutput): Promise<number> {
  const where = `the ${set.lock.schema} schema of ${urlWithoutSecrets(url)}`;
  const state = await readSchemaState(set, { url, waitMs, replyTimeoutMs, logger: { log: (line) => out.stderr(line) } });
  if (!state.exists) {
    out.stdout(`${where}: the database does not exist; ${set.migrateCommand} creates it and applies all ${set.migrations.length} migrations`);
    return 1;
  }
  const { recorded, pending, unknown } = state;
  if (unknown.length > 0) out.stderr(`warning: ${schemaAhead(set, url, unknown)}`);
  if (pending.length > 0) {
    out.stdout(`${where}: ${pending.length} pending (${pending.join(', ')}); ${set.migrateCommand} applies them`);
    return 1;
  }
  out.stdout(`${where}: up to date, nothing pending; ${recorded.length} applied in all, latest ${recorded.at(-1) ?? 'none'}`);
  return 0;
}

/**
 * Runs `migrateCommand` as a process: `settings` read from the environment (a bad variable fails
 * with its name), the exit code its own, 1 after an error (`migrate failed: <why>` on stderr).
 */
export function runMigrateCli(set: SchemaSet, settings: () => MigrateSettings): void {
  const out: CommandOutput = { stdout: (line) => process.stdout.write(`${line}\n`), stderr: (line) => process.stderr.write(`${line}\n`) };
  Promise.resolve()
    .then(() => migrateCommand(set, settings, process.argv.slice(2), out, process.env))
    .then(
      (code) => process.exit(code),
      (error: unknown) => {
        out.stderr(`migrate failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
}

/** TypeORM's lines of a run (each migration as it is applied, a failed one's error, warnings), as plain text on stderr. */
class ProgressLogger extends AbstractLogger {
  constructor(private readonly out: CommandOutput) {
    super(['warn', 'error', 'schema', 'migration']);
  }

  protected writeLog(level: LogLevel, logMessage: LogMessage | string | number | Array<LogMessage | string | number>): void {
    for (const message of this.prepareLogMessages(logMessage, { highlightSql: false, appendParameterAsComment: false })) {
      this.out.stderr(message.prefix ? `${message.prefix} ${message.message}` : String(message.message));
    }
  }
}
