import type { MigrationInterface } from 'typeorm';
import { compareMigrations, databaseMissingProblem, type SchemaChecker, migrationNames, schemaAheadWarning, schemaBehindProblem, type SchemaSet } from './migration-check';
import { MIGRATION_LOCKS } from './migration-lock';

const migration = (name: string, instanceName?: string) =>
  ({
    [name]: class implements MigrationInterface {
      name = instanceName;
      async up(): Promise<void> {}
      async down(): Promise<void> {}
    },
  })[name];

const SET: SchemaSet = { lock: MIGRATION_LOCKS.api, migrations: [], urlVariable: 'DATABASE_URL', migrateCommand: 'npm run migrate:api' };
const URL_WITH_PASSWORD = 'postgres://app:s3cret@db.internal:5432/orders';

describe('migrationNames', () => {
  it('lists the migrations in the order a run applies them, by the timestamp ending each name, whatever the order of the list', () => {
    const names = migrationNames([migration('Second1700000000002'), migration('First1700000000001'), migration('Third1700000000003')]);
    expect(names).toEqual(['First1700000000001', 'Second1700000000002', 'Third1700000000003']);
  });

  it("takes the instance's name where it has one, as TypeORM does, else the class's", () => {
    expect(migrationNames([migration('Renamed1700000000001', 'Given1700000000001'), migration('Plain1700000000002')])).toEqual(['Given1700000000001', 'Plain1700000000002']);
  });
});

describe('compareMigrations', () => {
  const known = ['A1700000000001', 'B1700000000002', 'C1700000000003'];

  it('has nothing pending or unknown when the database records exactly the known migrations', () => {
    expect(compareMigrations(known, [...known].reverse())).toEqual({ pending: [], unknown: [] });
  });

  it('finds every known migration pending on a database that records none', () => {
    expect(compareMigrations(known, [])).toEqual({ pending: known, unknown: [] });
  });

  it('finds pending a known migration older than the latest recorded one (a branch merged late), as a run applies it', () => {
    expect(compareMigrations(known, ['A1700000000001', 'C1700000000003'])).toEqual({ pending: ['B1700000000002'], unknown: [] });
  });

  it('tells the recorded migrations this build does not know apart, in the order they were recorded', () => {
    expect(compareMigrations(known, [...known, 'E1700000000005', 'D1700000000004'])).toEqual({ pending: [], unknown: ['E1700000000005', 'D1700000000004'] });
    expect(compareMigrations(known, ['A1700000000001', 'D1700000000004'])).toEqual({ pending: ['B1700000000002', 'C1700000000003'], unknown: ['D1700000000004'] });
  });
});

describe('the messages of a check', () => {
  it('names the schema, the database without its password, every pending migration and the command that applies them', () => {
    expect(schemaBehindProblem(SET, URL_WITH_PASSWORD, ['A1700000000001', 'B1700000000002'])).toBe(
      'the api schema of database postgres://app:***@db.internal:5432/orders is behind this build: 2 migrations pending (A1700000000001, B1700000000002); ' +
        'DATABASE_MIGRATIONS=check applies none at start: apply them with `npm run migrate:api` (same DATABASE_URL), then start again',
    );
    expect(schemaBehindProblem(SET, URL_WITH_PASSWORD, ['A1700000000001'])).toContain('1 migration pending (A1700000000001)');
  });

  it('names who refuses and what to do after, for a command that applies no migration', () => {
    const command: SchemaChecker = { name: '`npm run rebuild-projections`', when: '', retry: 'run it again' };
    expect(schemaBehindProblem(SET, URL_WITH_PASSWORD, ['A1700000000001'], command)).toBe(
      'the api schema of database postgres://app:***@db.internal:5432/orders is behind this build: 1 migration pending (A1700000000001); ' +
        '`npm run rebuild-projections` applies none: apply them with `npm run migrate:api` (same DATABASE_URL), then run it again',
    );
    expect(databaseMissingProblem(SET, URL_WITH_PASSWORD, command)).toBe(
      'database postgres://app:***@db.internal:5432/orders does not exist; `npm run rebuild-projections` creates nothing: ' +
        'create it and apply its migrations with `npm run migrate:api` (same DATABASE_URL), then run it again',
    );
  });

  it('says a missing database is created by the same command', () => {
    expect(databaseMissingProblem(SET, URL_WITH_PASSWORD)).toBe(
      'database postgres://app:***@db.internal:5432/orders does not exist; DATABASE_MIGRATIONS=check creates nothing at start: ' +
        'create it and apply its migrations with `npm run migrate:api` (same DATABASE_URL), then start again',
    );
  });

  it('warns of a schema ahead of the build, naming the migrations it does not know, and starts', () => {
    expect(schemaAheadWarning(SET, URL_WITH_PASSWORD, ['D1700000000004'])).toMatch(
      /^the api schema of database postgres:\/\/app:\*\*\*@db\.internal:5432\/orders records 1 migration this build does not know \(D1700000000004\), applied by a newer version: starting anyway/,
    );
    expect(schemaAheadWarning(SET, URL_WITH_PASSWORD, ['D1700000000004', 'E1700000000005'])).toContain('records 2 migrations this build does not know (D1700000000004, E1700000000005)');
  });

  it("does not call a recorded migration older than the build's latest a newer version's: says it was renamed, removed or recorded by hand", () => {
    const set = { ...SET, migrations: [migration('A1700000000001'), migration('C1700000000003')] };
    expect(schemaAheadWarning(set, URL_WITH_PASSWORD, ['ByHand1700000000002'])).toMatch(
      /records 1 migration this build does not know \(ByHand1700000000002\), older than its latest \(C1700000000003\): renamed or removed since it was applied, or recorded by hand: starting anyway/,
    );
    expect(schemaAheadWarning(set, URL_WITH_PASSWORD, ['ByHand1700000000002', 'NoTimestamp', 'D1700000000004'])).toContain(
      'records 3 migrations this build does not know: 1 applied by a newer version (D1700000000004); 2 older than its latest (C1700000000003) or without a timestamp (ByHand1700000000002, NoTimestamp): renamed or removed since it was applied, or recorded by hand',
    );
  });
});
