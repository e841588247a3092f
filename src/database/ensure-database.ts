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
  const bound = { replyTimeoutMs, urlVariable: urlVariable ?? UNNAMED_URL_VARIABLE };
  const existing = await connectUnlessMissing(url.toString(), bound);
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
  await connectWithin(client, url, bound);
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
async function connectUnlessMissing(databaseUrl: string, bound: ConnectBound): Promise<Client | undefined> {
  const client = boundedClient(databaseUrl, bound.replyTimeoutMs);
  try {
    await connectWithin(client, new URL(databaseUrl), bound);
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

interface ConnectBound {
  /** DATABASE_STATEMENT_REPLY_TIMEOUT_MS; 0 or undefined: no bound. */
  replyTimeoutMs: number | undefined;
  /** The variable the URL was read from, for the advice. */
  urlVariable: string;
}

/** PostgreSQL could not be reached: nothing listens there, no such host, no route, or no answer within the bound. */
export class DatabaseUnreachableError extends Error {}

/**
 * Connects `client`. A server's refusal (an error with a SQLSTATE) is passed on as it is; a
 * failure to reach it becomes a DatabaseUnreachableError saying which server and why (its
 * `cause`: pg's error).
 */
async function connectWithin(client: Client, url: URL, { replyTimeoutMs, urlVariable }: ConnectBound): Promise<void> {
  const startedAt = performance.now();
  try {
    await client.connect();
  } catch (error) {
    if (/^[0-9A-Z]{5}$/.test(String((error as { code?: unknown }).code))) throw error;
    const waitedMs = performance.now() - startedAt;
    throw new DatabaseUnreachableError(unreachableProblem(error, { url, urlVariable, replyTimeoutMs, waitedMs }), { cause: error });
  }
}

/** Socket errors of a connect that failed at once: what each says about the server named in the URL, and what to ask. */
const FAILED_AT_ONCE: Record<string, (url: URL) => { what: string; question?: string }> = {
  ECONNREFUSED: (url) => ({ what: `PostgreSQL at ${url.host} refused the connection (ECONNREFUSED)`, question: 'is it running there?' }),
  ENOTFOUND: (url) => ({ what: `PostgreSQL's host ${url.hostname} was not found (ENOTFOUND)` }),
  EAI_AGAIN: (url) => ({ what: `PostgreSQL's host ${url.hostname} could not be looked up (EAI_AGAIN: DNS did not answer)` }),
  EHOSTUNREACH: (url) => ({ what: `PostgreSQL at ${url.host} cannot be reached (EHOSTUNREACH: no route to the host)` }),
  ENETUNREACH: (url) => ({ what: `PostgreSQL at ${url.host} cannot be reached (ENETUNREACH: no route to its network)` }),
  ECONNRESET: (url) => ({ what: `PostgreSQL at ${url.host} cut the connection as it opened (ECONNRESET)`, question: 'is PostgreSQL what listens there?' }),
};

/**
 * Why a connect to PostgreSQL failed, in one line that names the variable to check and
 * mentions the reply timeout only when it expired (a refusal comes at once, whatever the bound).
 */
export function unreachableProblem(
  error: unknown,
  { url, urlVariable, replyTimeoutMs, waitedMs }: { url: URL; urlVariable: string; replyTimeoutMs: number | undefined; waitedMs: number },
): string {
  const code = String((error as { code?: unknown }).code ?? '');
  const atOnce = FAILED_AT_ONCE[code]?.(url);
  if (atOnce) return `${atOnce.what}: ${atOnce.question ? `${atOnce.question} Check` : 'check'} ${urlVariable}`;
  // pg gives up the connect after replyTimeoutMs (connectionTimeoutMillis); a timer never fires early.
  if (replyTimeoutMs && waitedMs >= replyTimeoutMs - 1) {
    return `PostgreSQL at ${url.host} could not be reached within ${replyTimeoutMs} ms (DATABASE_STATEMENT_REPLY_TIMEOUT_MS): no answer; check ${urlVariable}, the host and the network`;
  }
  const message = error instanceof Error ? error.message : String(error);
  return `PostgreSQL at ${url.host} could not be reached: ${message}${code && !message.includes(code) ? ` (${code})` : ''}; check ${urlVariable}`;
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

/** How messages name the URL when the caller did not say which variable it came from (tests, scripts). */
const UNNAMED_URL_VARIABLE = 'the database URL';

function namesNoDatabase(urlVariable = UNNAMED_URL_VARIABLE): string {
  return `${urlVariable} names no database`;
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
