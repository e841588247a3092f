import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { loadEnvironment } from '../config/environment';
import { pgPoolOptions } from '../database/pool-options';
import { listParkedReactions, requestParkedReactionRetry } from '../event-store';

const USAGE = `Usage: npm run parked-reactions -- <command>

  list                                     every parked reaction step: reaction, step, event, attempts, when, last error
  retry --all                              ask the running API to try every parked reaction again
  retry --reaction <name> --event <id>     ask it to try the steps of that reaction parked on that event again

A running API (REACTIONS_ENABLED=true) picks requested retries up within seconds: a success
removes the parked row, a failure parks it again with the new error. Reads DATABASE_URL.
The API offers the same as GET /admin/parked-reactions and POST /admin/parked-reactions/.../retry.`;

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { all: { type: 'boolean' }, reaction: { type: 'string' }, event: { type: 'string' }, help: { type: 'boolean' } },
  });
  const [command] = positionals;
  const oneOrAll = values.all ? !values.reaction && !values.event : !!values.reaction && !!values.event;
  if (values.help || !['list', 'retry'].includes(command ?? '') || (command === 'retry' && !oneOrAll)) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }

  const { DATABASE_URL } = loadEnvironment(process.env);
  const dataSource = new DataSource({ type: 'postgres', url: DATABASE_URL, extra: pgPoolOptions(1) });
  await dataSource.initialize();
  try {
    if (command === 'list') {
      const { items: rows } = await listParkedReactions(dataSource);
      for (const row of rows) {
        const retry = row.retryRequestedAt ? ' (retry requested)' : '';
        process.stdout.write(
          `${row.reaction}\t${row.step}\t${row.eventType} ${row.eventId}\tstream ${row.streamId}\t${row.attempts} attempts\t` +
            `${row.parkedAt.toISOString()}${retry}\t${row.lastError}\n`,
        );
      }
      process.stderr.write(`${rows.length} parked reaction(s)\n`);
      return 0;
    }

    const count = await requestParkedReactionRetry(dataSource, values.all ? { all: true } : { reaction: values.reaction!, eventId: values.event! });
    process.stderr.write(`retry requested for ${count} parked reaction(s)\n`);
    return values.all || count > 0 ? 0 : 1;
  } finally {
    await dataSource.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
