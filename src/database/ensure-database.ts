import { Client } from 'pg';
import { endConnection } from './end-connection';
import { unsupportedServerProblem } from './server-version';
import { boundStatementReplies } from './statement-reply-timeout';

/**
 * Creates the database named in `databaseUrl` when it does not exist yet (first start). On the
 * same connection, refuses a server older than the project supports (see server-version.ts), so
 * that a start fails with one clear line instead of a setting the server does not know.
 *
 * It connects to that database itself first, and to the `postgres` maintenance database only when
 * the server answers that it does not exist (SQLSTATE 3D000): a start of an existing database
 * needs nothing but that database, as behind a pooler that serves only it (PgBouncer answers
 * "no such database" for any other) or on a server where the role may connect to its own only.
 *
 * `replyTimeoutMs` (the apps: DATABASE_STATEMENT_REPLY_TIMEOUT_MS; 0 or undefined: no bound, as
 * the CLI has it) bounds each connect and each statement: a server that vanished without refusing
 * connections (no FIN, no RST) failed nothing, and the start hung for ever, silent, before the
 * HTTP port opened; now the start fails, and a supervisor can start it again.
 *
 * `create: false` (a start with DATABASE_MIGRATIONS=check, whose role may not create databases)
 * throws DatabaseMissingError instead of creating it, without connecting to `postgres`.
 *
 * `urlVariable`: the variable `databaseUrl` was read from (DATABASE_URL, CONSUMER_DATABASE_URL),
 * which the refusal of a URL that names no database names.
 */
export async function ensureDatabaseExists(
  databaseUrl: string,
  { replyTimeoutMs, create = true, urlVariable }: { replyTimeoutMs?: number; create?: boolean; urlVariable?: string } = {},
): Promise<void> {
  const url = new URL(databaseUrl);
  // Without one, pg would connect to the database named after the user.
  if (url.pathname.replace(/^\//, '') === '') throw new Error(namesNoDatabase(urlVariable));
  const name = databaseNameOf(databaseUrl, urlVariable);
  const existing = await connectUnlessMissing(url.toString(), replyTimeoutMs);
  if (existing) {
    try {
      await refuseUnsupportedServer(existing);
    } finally {
      await endConnection(existing);
    }
    return;
  }
  if (!create) throw new DatabaseMissingError(`database ${name} does not exist`);
  url.pathname = '/postgres';
  const client = boundedClient(url.toString(), replyTimeoutMs);
  await connectWithin(client, url, replyTimeoutMs);
  try {
    await refuseUnsupportedServer(client);
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return;
    await client.query(`CREATE DATABASE ${quoteIdentifier(name)}`).catch((error: { code?: string }) => {
      if (!CREATED_MEANWHILE.has(error.code ?? '')) throw error;
    });
  } finally {
    await endConnection(client);
  }
}

/** The database does not exist, and ensureDatabaseExists was told not to create it (`create: false`). */
export class DatabaseMissingError extends Error {}

/** A connected client of the database at `databaseUrl`, or undefined when the server says it does not exist. */
async function connectUnlessMissing(databaseUrl: string, replyTimeoutMs: number | undefined): Promise<Client | undefined> {
  const client = boundedClient(databaseUrl, replyTimeoutMs);
  try {
    await connectWithin(client, new URL(databaseUrl), replyTimeoutMs);
    return client;
  } catch (error) {
    if ((error as { code?: string }).code === INVALID_CATALOG_NAME) return undefined;
    throw error;
  }
}

/** A client whose connect and statements wait at most `replyTimeoutMs` for the server (0 or undefined: no bound). */
function boundedClient(connectionString: string, replyTimeoutMs: number | undefined): Client {
  const client = new Client({ connectionString, ...(replyTimeoutMs ? { connectionTimeoutMillis: replyTimeoutMs } : {}) });
  boundStatementReplies(client, replyTimeoutMs ?? 0);
  return client;
}

/**
 * Connects `client`. A server's refusal (an error with a SQLSTATE) is passed on as it is; a
 * failure to reach it says which server, and within what bound (its `cause`: pg's error).
 */
async function connectWithin(client: Client, url: URL, replyTimeoutMs: number | undefined): Promise<void> {
  try {
    await client.connect();
  } catch (error) {
    if (/^[0-9A-Z]{5}$/.test(String((error as { code?: unknown }).code))) throw error;
    throw new Error(
      `PostgreSQL at ${url.host} could not be reached${replyTimeoutMs ? ` within ${replyTimeoutMs} ms (DATABASE_STATEMENT_REPLY_TIMEOUT_MS)` : ''}: ${String(error)}`,
      { cause: error },
    );
  }
}

const INVALID_CATALOG_NAME = '3D000';

/**
 * What CREATE DATABASE answers when another process created the same database meanwhile (a
 * migrate step beside a start, two replicas): 42P04 (duplicate_database) when the other had
 * committed before the name was checked, 23505 (unique_violation on pg_database's name index)
 * when both were past that check, which PostgreSQL leaves to the index. Either way the database exists.
 */
const CREATED_MEANWHILE = new Set(['42P04', '23505']);

async function refuseUnsupportedServer(client: Client): Promise<void> {
  const { rows } = await client.query<{ num: number; version: string }>(`SELECT current_setting('server_version_num')::int AS num, current_setting('server_version') AS version`);
  const problem = unsupportedServerProblem(rows[0].num, rows[0].version);
  if (problem) throw new Error(problem);
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = databaseNameOf(databaseUrl);
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/**
 * The database `databaseUrl` names as the driver reads it, which every connection of the apps and
 * the CLIs makes: pg decodes the name with decodeURI, which leaves `%23`, `%3F`, `%2F` (and the
 * other reserved characters) as they are, so `eda%23x` is a database named `eda%23x`. Decoding it
 * otherwise here created a database none of them connects to (`eda#x`), and the run then failed
 * on the missing one.
 */
function databaseNameOf(databaseUrl: string, urlVariable?: string): string {
  const { database } = new Client({ connectionString: databaseUrl });
  if (!database) throw new Error(namesNoDatabase(urlVariable));
  return database;
}

function namesNoDatabase(urlVariable = 'the database URL'): string {
  return `${urlVariable} names no database`;
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
