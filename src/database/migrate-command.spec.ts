import { migrateCommand } from './migrate-command';
import type { SchemaSet } from './migration-check';
import { MIGRATION_LOCKS } from './migration-lock';

const SET: SchemaSet = { lock: MIGRATION_LOCKS.consumer, migrations: [], urlVariable: 'CONSUMER_DATABASE_URL', migrateCommand: 'npm run migrate:consumer' };
// Read only after the arguments: --help needs no valid setting, and a refused argument connects to nothing.
const SETTINGS = () => {
  throw new Error('the settings were read');
};

function output(): { stdout: string[]; stderr: string[]; out: { stdout(line: string): void; stderr(line: string): void } } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: { stdout: (line) => stdout.push(line), stderr: (line) => stderr.push(line) } };
}

describe('the migrate command', () => {
  it('prints its usage on --help, naming the command, the variable and the schema, and exits 0', async () => {
    const { stdout, stderr, out } = output();
    expect(await migrateCommand(SET, SETTINGS, ['--help'], out)).toBe(0);
    expect(stdout.join('\n')).toMatch(/^Usage: npm run migrate:consumer \[--check\]\n/);
    expect(stdout.join('\n')).toMatch(/--check +applies and creates nothing/);
    expect(stdout.join('\n')).toContain('the consumer schema to the database at CONSUMER_DATABASE_URL');
    expect(stderr).toEqual([]);
  });

  it.each([['--all'], ['now'], ['--help=yes']])('refuses the argument %s with its usage on stderr, exit 2, connecting to nothing', async (argument) => {
    const { stdout, stderr, out } = output();
    expect(await migrateCommand(SET, SETTINGS, [argument], out)).toBe(2);
    expect(stderr.join('\n')).toContain('Usage: npm run migrate:consumer');
    expect(stdout).toEqual([]);
  });

  // `npm run migrate:api --check` (no `--`): npm keeps `--check` as its own setting, warns
  // `Unknown cli config "--check"`, sets npm_config_check=true and runs the script without it.
  it.each([
    [{ npm_config_check: 'true' }, '--check'],
    [{ npm_config_chek: 'true' }, '--chek'],
    [{ npm_config_dry_run: 'true' }, '--dry-run'],
  ])('refuses to run when npm took an option meant for it (%j), saying where it goes, exit 2, connecting to nothing', async (environment, option) => {
    const { stdout, stderr, out } = output();
    expect(await migrateCommand(SET, SETTINGS, [], out, environment)).toBe(2);
    expect(stderr.join('\n')).toContain(`npm took ${option} as a setting of its own`);
    expect(stderr.join('\n')).toContain('npm run migrate:consumer -- --check');
    expect(stdout).toEqual([]);
  });

  it("runs whatever npm settings it is given that are npm's own (cache, shell, a registry)", async () => {
    const { out } = output();
    await expect(migrateCommand(SET, SETTINGS, [], out, { npm_config_cache: '/root/.npm', npm_config_shell: '/bin/sh', npm_config_registry: 'https://registry.npmjs.org/' })).rejects.toThrow(
      'the settings were read',
    );
  });
});
