import { ensureDatabaseExists, unreachableProblem } from './ensure-database';

// A stand-in for pg's Client on a server that holds `databases`; `reachable` are those a client
// may connect to (a pooler that serves only the application's database, for one).
const server = {
  databases: new Set<string>(),
  reachable: new Set<string>(),
  versionNum: 160004,
  connected: [] as string[],
  statements: [] as string[],
  open: 0,
  /** What CREATE DATABASE fails with (another process creating the same database meanwhile), if anything. */
  createFails: undefined as { code: string; message: string } | undefined,
};

jest.mock('pg', () => ({
  Client: class {
    private readonly database: string;
    constructor({ connectionString }: { connectionString: string }) {
      this.database = decodeURIComponent(new URL(connectionString).pathname.slice(1));
    }
    async connect(): Promise<void> {
      if (!server.reachable.has(this.database)) throw Object.assign(new Error(`no such database: ${this.database}`), { code: '08P01' });
      if (!server.databases.has(this.database)) throw Object.assign(new Error(`database "${this.database}" does not exist`), { code: '3D000' });
      server.connected.push(this.database);
      server.open += 1;
    }
    async query(text: string): Promise<{ rows: unknown[]; rowCount: number }> {
      server.statements.push(`${this.database}: ${text.split(' ').slice(0, 2).join(' ')}`);
      if (text.includes('server_version_num')) return { rows: [{ num: server.versionNum, version: String(server.versionNum) }], rowCount: 1 };
      if (text.startsWith('SELECT 1 FROM pg_database')) return { rows: [], rowCount: 0 };
      if (text.startsWith('CREATE DATABASE')) {
        if (server.createFails) throw Object.assign(new Error(server.createFails.message), { code: server.createFails.code });
        return { rows: [], rowCount: 0 };
      }
      throw new Error(`unexpected statement ${text}`);
    }
    async end(): Promise<void> {
      server.open -= 1;
    }
  },
}));

describe('ensureDatabaseExists', () => {
  beforeEach(() => {
    Object.assign(server, {
      databases: new Set(['postgres']),
      reachable: new Set(['postgres', 'app']),
      versionNum: 160004,
      connected: [],
      statements: [],
      open: 0,
      createFails: undefined,
    });
  });

  it('starts on an existing database through that database alone, without the postgres maintenance database', async () => {
    server.databases.add('app');
    server.reachable = new Set(['app']); // a pooler that serves only the application's database
    await ensureDatabaseExists('postgres://u:p@db:6432/app');
    expect(server.connected).toEqual(['app']);
    expect(server.statements).toEqual(['app: SELECT current_setting(\'server_version_num\')::int']);
    expect(server.open).toBe(0);
  });

  it('creates a missing database through the postgres maintenance database', async () => {
    await ensureDatabaseExists('postgres://u:p@db:5432/app');
    expect(server.connected).toEqual(['postgres']);
    expect(server.statements.at(-1)).toBe('postgres: CREATE DATABASE');
    expect(server.open).toBe(0);
  });

  it('refuses a server older than PostgreSQL 14 on either path, and closes its connection', async () => {
    server.versionNum = 130016;
    await expect(ensureDatabaseExists('postgres://u:p@db:5432/app')).rejects.toThrow('PostgreSQL 130016 is too old');
    server.databases.add('app');
    await expect(ensureDatabaseExists('postgres://u:p@db:5432/app')).rejects.toThrow('PostgreSQL 130016 is too old');
    expect(server.statements.some((statement) => statement.includes('CREATE'))).toBe(false);
    expect(server.open).toBe(0);
  });

  it('passes on a failure to connect other than a missing database', async () => {
    server.reachable = new Set(['postgres']);
    await expect(ensureDatabaseExists('postgres://u:p@db:5432/app')).rejects.toThrow('no such database: app');
    expect(server.connected).toEqual([]);
  });

  // Two processes creating one database at once (a migrate step beside a start with
  // DATABASE_MIGRATIONS=run, two replicas): both found it missing; PostgreSQL answers the one that
  // loses with 42P04, or with 23505 on pg_database's unique index when they meet inside CREATE DATABASE.
  it.each([
    ['42P04', 'database "app" already exists'],
    ['23505', 'duplicate key value violates unique constraint "pg_database_datname_index"'],
  ])('takes a CREATE DATABASE that lost the race to another process (%s) for the database created', async (code, message) => {
    server.createFails = { code, message };
    await expect(ensureDatabaseExists('postgres://u:p@db:5432/app')).resolves.toBeUndefined();
    expect(server.open).toBe(0);
  });

  it('passes on any other failure of CREATE DATABASE', async () => {
    server.createFails = { code: '42501', message: 'permission denied to create database' };
    await expect(ensureDatabaseExists('postgres://u:p@db:5432/app')).rejects.toThrow('permission denied to create database');
  });

  it('refuses a URL that names no database, naming the variable it was read from, before connecting', async () => {
    await expect(ensureDatabaseExists('postgres://u:p@db:5432', { urlVariable: 'CONSUMER_DATABASE_URL' })).rejects.toThrow(/^CONSUMER_DATABASE_URL names no database$/);
    await expect(ensureDatabaseExists('postgres://u:p@db:5432/', { urlVariable: 'DATABASE_URL' })).rejects.toThrow(/^DATABASE_URL names no database$/);
    await expect(ensureDatabaseExists('postgres://u:p@db:5432')).rejects.toThrow(/^the database URL names no database$/);
    expect(server.connected).toEqual([]);
  });
});

describe('unreachableProblem', () => {
  const url = new URL('postgres://u:p@db.example:5433/app');
  const failed = (code: string, message = `connect ${code} 10.0.0.7:5433`) => Object.assign(new Error(message), { code });
  const problem = (error: unknown, waitedMs = 3) => unreachableProblem(error, { url, urlVariable: 'DATABASE_URL', replyTimeoutMs: 30_000, waitedMs });

  it.each([
    ['ECONNREFUSED', 'PostgreSQL at db.example:5433 refused the connection (ECONNREFUSED): is it running there? Check DATABASE_URL'],
    ['ENOTFOUND', "PostgreSQL's host db.example was not found (ENOTFOUND): check DATABASE_URL"],
    ['EHOSTUNREACH', 'PostgreSQL at db.example:5433 cannot be reached (EHOSTUNREACH: no route to the host): check DATABASE_URL'],
    ['ECONNRESET', 'PostgreSQL at db.example:5433 cut the connection as it opened (ECONNRESET): is PostgreSQL what listens there? Check DATABASE_URL'],
  ])('%s: says what happened, once, and no timeout', (code, expected) => {
    expect(problem(failed(code))).toBe(expected);
  });

  it('says the error once when it is none of those, with no timeout unless it expired', () => {
    expect(problem(new Error('Connection terminated unexpectedly'))).toBe('PostgreSQL at db.example:5433 could not be reached: Connection terminated unexpectedly; check DATABASE_URL');
    expect(problem(new Error('timeout expired'), 30_000)).toMatch(/^PostgreSQL at db\.example:5433 could not be reached within 30000 ms \(DATABASE_STATEMENT_REPLY_TIMEOUT_MS\): no answer;/);
  });
});
