import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { urlWithoutSecrets } from './url-without-secrets';

const logger = new Logger('Start');

/**
 * Says which database the process uses (its URL without the password) and that its migrations
 * ran: how many the schema has in all (not only this run's) and the latest. They ran while the app was built, under the
 * migration lock (src/database/migration-lock.ts, which says when this process waited for another's
 * run), each one applied now on a line of its own. With DATABASE_MIGRATIONS=check (`migrations`)
 * none ran: the start checked that none is pending (src/database/migration-check.ts).
 */
export async function logDatabase(url: string, dataSource: DataSource, migrations: 'run' | 'check' = 'run'): Promise<void> {
  const table = dataSource.options.migrationsTableName ?? 'migrations';
  const [{ applied, latest }]: Array<{ applied: number; latest: string | null }> = await dataSource.query(
    `SELECT count(*)::int AS applied, (SELECT name FROM "${table}" ORDER BY timestamp DESC, id DESC LIMIT 1) AS latest FROM "${table}"`,
  );
  const what = migrations === 'check' ? 'migrations checked (DATABASE_MIGRATIONS=check), none pending' : 'migrations ran';
  logger.log(`database ${urlWithoutSecrets(url)}: ${what}, ${applied} applied in all, latest ${latest ?? 'none'}`);
}

/** Says which broker the process uses (its URL without the password) and under which names. */
export function logBroker(url: string, names: string): void {
  logger.log(`broker ${urlWithoutSecrets(url)}: ${names}`);
}
