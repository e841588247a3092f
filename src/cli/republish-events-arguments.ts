import { parseArgs } from 'node:util';
import type { EventSelection } from '../messaging/republish/stored-event-republisher';

export const USAGE = `Usage: npm run republish-events -- --stream <id>
       npm run republish-events -- --from-position <n> --to-position <m>

Publishes stored events again, in order, through the relay's publisher (mandatory messages,
one broker confirm each), so that a consumer which lost messages by any path gets them back.
The consumer's inbox drops the events it already has; events no contract maps are skipped.
An event this code cannot read (a schema version no upcaster brings to the current one) or map
to its contract is not sent: the run goes on past it, names it (stderr as met, stdout at the
end: event id, position, stream and version, type, schema version, why) and exits 3.

  --stream <id>          every event of one stream (the aggregate's id), in version order
  --from-position <n>    every event at positions n to m, both included, in position order
  --to-position <m>
  --batch-size <n>       events read per query, 1 to 10000 (default 500)

Reads DATABASE_URL, RABBITMQ_URL, BROKER_PREFIX, CONSUMER_RETRY_DELAYS_MS, RELAY_PUBLISH_TIMEOUT_MS
and RELAY_MAX_IN_FLIGHT like the API. Progress goes to stderr, the summary to stdout.
Exit status: 0 every event confirmed, 1 failure or no event matched, 2 usage error,
3 every other event confirmed but some could not be read or mapped and were NOT sent.
The API offers --stream as POST /admin/streams/{id}/republish.`;

/** The run finished, but some selected events could not be read or mapped and were not sent. */
export const EXIT_UNPUBLISHABLE = 3;

const DEFAULT_BATCH_SIZE = 500;
const MAX_BATCH_SIZE = 10_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const POSITION = /^[1-9]\d{0,18}$/;

export type RepublishCommand =
  | { kind: 'help' }
  | { kind: 'republish'; selection: EventSelection; batchSize: number }
  | { kind: 'usage-error'; message: string };

/** Pure: the command line of `republish-events` (positions stay decimal strings: they are bigints). */
export function parseRepublishArguments(args: string[]): RepublishCommand {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        stream: { type: 'string' },
        'from-position': { type: 'string' },
        'to-position': { type: 'string' },
        'batch-size': { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return { kind: 'help' };

  const batchSize = Number(values['batch-size'] ?? DEFAULT_BATCH_SIZE);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    return usageError(`--batch-size must be a whole number from 1 to ${MAX_BATCH_SIZE}`);
  }
  const from = values['from-position'];
  const to = values['to-position'];
  const byPositions = from !== undefined || to !== undefined;
  if (values.stream !== undefined && byPositions) return usageError('give either --stream or a position range, not both');
  if (values.stream !== undefined) {
    if (!UUID.test(values.stream)) return usageError('--stream must be a stream id (a UUID)');
    return { kind: 'republish', selection: { kind: 'stream', streamId: values.stream.toLowerCase() }, batchSize };
  }
  if (!byPositions) return usageError('give --stream <id>, or --from-position <n> and --to-position <m>');
  if (from === undefined || to === undefined) return usageError('a position range needs both --from-position and --to-position');
  if (!POSITION.test(from) || !POSITION.test(to)) return usageError('positions are whole numbers from 1');
  if (BigInt(from) > BigInt(to)) return usageError('--from-position must not be after --to-position');
  return { kind: 'republish', selection: { kind: 'positions', from, to }, batchSize };
}

function usageError(message: string): RepublishCommand {
  return { kind: 'usage-error', message };
}
