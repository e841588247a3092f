import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadEnvironment } from '../config/environment';
import { STORED_EVENT_COLUMNS, type StoredEvent } from '../event-store/stored-event';
import { IntegrationEventMappers } from '../messaging/integration-event-mappers';
import { ConfirmingPublisher, publisherSettings } from '../messaging/integration-event-publisher';
import { toOutgoingIntegrationEvent } from '../messaging/outgoing-integration-event';
import { publishInOrder } from '../messaging/relay/publish-in-order';
import { ORDER_STREAM_TYPE, toOrderIntegrationEvent } from '../modules/orders';
import { toUserIntegrationEvent, USER_STREAM_TYPE } from '../modules/users';
import { type EventSelection, parseRepublishArguments, USAGE } from './republish-events-arguments';
import { storeUpcasters } from './rebuildable-projections';
import { pgPoolOptions } from '../database/pool-options';

const PROGRESS_INTERVAL_MS = 1000;
/** Attempts of one page without any progress before giving up (unroutable, broker down...). */
const MAX_ATTEMPTS = 5;

/** The mappers the modules register in the app, for a tool that runs without it. */
function integrationEventMappers(): IntegrationEventMappers {
  const mappers = new IntegrationEventMappers();
  mappers.register(USER_STREAM_TYPE, toUserIntegrationEvent);
  mappers.register(ORDER_STREAM_TYPE, toOrderIntegrationEvent);
  return mappers;
}

/** `selection`'s events after `after` (a stream version, or a position), at most `limit`, in order. */
function readPage(db: DataSource, selection: EventSelection, after: string, limit: number): Promise<StoredEvent[]> {
  return selection.kind === 'stream'
    ? db.query(`SELECT ${STORED_EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version > $2::int ORDER BY stream_version LIMIT $3`, [
        selection.streamId,
        after,
        limit,
      ])
    : db.query(
        `SELECT ${STORED_EVENT_COLUMNS} FROM events WHERE position BETWEEN $1::bigint AND $2::bigint AND position > $3::bigint ORDER BY position LIMIT $4`,
        [selection.from, selection.to, after, limit],
      );
}

async function countSelected(db: DataSource, selection: EventSelection): Promise<number> {
  const [{ n }] =
    selection.kind === 'stream'
      ? await db.query(`SELECT count(*)::int AS n FROM events WHERE stream_id = $1`, [selection.streamId])
      : await db.query(`SELECT count(*)::int AS n FROM events WHERE position BETWEEN $1::bigint AND $2::bigint`, [selection.from, selection.to]);
  return n;
}

function describeSelection(selection: EventSelection): string {
  return selection.kind === 'stream' ? `stream ${selection.streamId}` : `positions ${selection.from} to ${selection.to}`;
}

async function main(): Promise<number> {
  const command = parseRepublishArguments(process.argv.slice(2));
  if (command.kind === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command.kind === 'usage-error') {
    process.stderr.write(`${command.message}\n\n${USAGE}\n`);
    return 2;
  }

  const environment = loadEnvironment(process.env);
  const { selection, batchSize } = command;
  const dataSource = new DataSource({ type: 'postgres', url: environment.DATABASE_URL, extra: pgPoolOptions(1) });
  await dataSource.initialize();
  const publisher = new ConfirmingPublisher(publisherSettings(environment));
  const mappers = integrationEventMappers();
  const upcasters = storeUpcasters();
  let published = 0;
  let skipped = 0;
  let lastDone: StoredEvent | undefined;
  try {
    const total = await countSelected(dataSource, selection);
    if (total === 0) {
      process.stdout.write(`no stored event matches ${describeSelection(selection)}: nothing republished\n`);
      return 1;
    }
    let printedAt = Date.now();
    let after = '0';
    for (;;) {
      const events = upcasters.upcastAll(await readPage(dataSource, selection, after, batchSize));
      if (events.length === 0) break;
      const messages = events.map((event) => toOutgoingIntegrationEvent(event, mappers));
      skipped += messages.filter((message) => message === undefined).length;
      // The same ordered, windowed, confirmed publishing as the relay; a page is retried from
      // its first unconfirmed event (what was confirmed beyond it is not sent again).
      for (let attempt = 1, start = 0; start < events.length; attempt++) {
        const { settledPrefix, confirmed, failure } = await publishInOrder(messages.slice(start), {
          publish: (message) => publisher.publish(message),
          maxInFlight: environment.RELAY_MAX_IN_FLIGHT,
        });
        confirmed.forEach((done, index) => {
          if (done) {
            published += 1;
            messages[start + index] = undefined;
          }
        });
        if (settledPrefix > 0) {
          attempt = 0;
          lastDone = events[start + settledPrefix - 1];
        }
        start += settledPrefix;
        if (!failure) continue;
        if (attempt >= MAX_ATTEMPTS) throw failure;
        const delay = 100 * 2 ** attempt;
        process.stderr.write(`publishing failed (attempt ${attempt} of ${MAX_ATTEMPTS}), retrying in ${delay} ms: ${failure.message}\n`);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
      after = selection.kind === 'stream' ? String(events[events.length - 1].streamVersion) : events[events.length - 1].position;
      if (Date.now() - printedAt >= PROGRESS_INTERVAL_MS) {
        process.stderr.write(`${published + skipped} of ${total} events done (last position ${lastDone?.position})\n`);
        printedAt = Date.now();
      }
    }
    process.stdout.write(
      `republished ${published} event(s) of ${describeSelection(selection)}, every one confirmed by the broker; ` +
        `${skipped} without a published contract skipped\n`,
    );
    return 0;
  } catch (error) {
    const progress = lastDone
      ? `all events up to position ${lastDone.position} (stream ${lastDone.streamId} version ${lastDone.streamVersion}) were confirmed`
      : 'no event was confirmed';
    process.stdout.write(
      `republishing ${describeSelection(selection)} FAILED after ${published} confirmed event(s); ${progress}: ` +
        `${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  } finally {
    await publisher.close();
    await dataSource.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`republish-events failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
