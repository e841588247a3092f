import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadEnvironment } from '../config/environment';
import { pgPoolOptions } from '../database/pool-options';
import { EventStoreManifests } from '../event-store';
import { IntegrationEventMappers } from '../messaging/integration-event-mappers';
import { ConfirmingPublisher, publisherSettings } from '../messaging/integration-event-publisher';
import {
  describeSelection,
  describeUnpublishable,
  RepublishFailedError,
  republishStoredEvents,
  type UnpublishableEvent,
} from '../messaging/republish/stored-event-republisher';
import { EVENT_STORE_MANIFESTS } from '../modules/manifests';
import { EXIT_UNPUBLISHABLE, parseRepublishArguments, USAGE } from './republish-events-arguments';

const PROGRESS_INTERVAL_MS = 1000;

/** The report's lines naming each event that was not sent, and what to do about them. */
function unpublishableReport(events: readonly UnpublishableEvent[]): string {
  if (events.length === 0) return '';
  return (
    `${events.length} event(s) NOT sent: this code cannot read or map them. Repair each one (or deploy code that reads it), ` +
    `then republish its stream; a consumer that lacks one parks its stream's later events until then:\n` +
    events.map((event) => `  not sent: ${describeUnpublishable(event)}\n`).join('')
  );
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
  // What the app registers, for a tool that runs without it.
  const manifests = new EventStoreManifests(EVENT_STORE_MANIFESTS);
  const dataSource = new DataSource({ type: 'postgres', url: environment.DATABASE_URL, extra: pgPoolOptions(1) });
  await dataSource.initialize();
  const publisher = new ConfirmingPublisher(publisherSettings(environment));
  let printedAt = Date.now();
  try {
    const { total, published, skipped, unpublishable } = await republishStoredEvents(
      {
        dataSource,
        publish: (message) => publisher.publish(message),
        mappers: new IntegrationEventMappers(manifests),
        upcasters: manifests.eventUpcasters(),
        maxInFlight: environment.RELAY_MAX_IN_FLIGHT,
      },
      selection,
      {
        batchSize,
        onProgress: ({ done, total: all, unpublishable: notSent, lastConfirmed }) => {
          if (Date.now() - printedAt < PROGRESS_INTERVAL_MS) return;
          const unsent = notSent > 0 ? `, ${notSent} of them not sent (cannot be read or mapped)` : '';
          process.stderr.write(`${done} of ${all} events done${unsent} (last position ${lastConfirmed?.position})\n`);
          printedAt = Date.now();
        },
        onUnpublishable: (event) => process.stderr.write(`not sent: ${describeUnpublishable(event)}\n`),
        onRetry: (failure, attempt, delayMs) =>
          process.stderr.write(`publishing failed (attempt ${attempt} of 5), retrying in ${delayMs} ms: ${failure.message}\n`),
      },
    );
    if (total === 0) {
      process.stdout.write(`no stored event matches ${describeSelection(selection)}: nothing republished\n`);
      return 1;
    }
    process.stdout.write(
      `republished ${published} event(s) of ${describeSelection(selection)}, every one confirmed by the broker; ` +
        `${skipped} without a published contract skipped\n` +
        unpublishableReport(unpublishable),
    );
    return unpublishable.length > 0 ? EXIT_UNPUBLISHABLE : 0;
  } catch (error) {
    if (!(error instanceof RepublishFailedError)) throw error;
    const { lastConfirmed } = error;
    const but = error.unpublishable.length > 0 ? ', but those named below' : '';
    const progress = lastConfirmed
      ? `all events up to position ${lastConfirmed.position} (stream ${lastConfirmed.streamId} version ${lastConfirmed.streamVersion}) were confirmed${but}`
      : 'no event was confirmed';
    process.stdout.write(
      `republishing ${describeSelection(selection)} FAILED after ${error.published} confirmed event(s); ${progress}: ${error.message}\n` +
        unpublishableReport(error.unpublishable),
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
