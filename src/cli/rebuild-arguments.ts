import { parseArgs } from 'node:util';
import type { ProjectionDefinition } from '../event-store';

export const USAGE = `Usage: npm run rebuild-projections -- (--all | <projection>...) [--accept-differences] [--batch-size <n>]
       npm run rebuild-projections -- --list

Replays the whole event store into a fresh copy of each projection's table while the live one
keeps answering queries, then swaps the copy in if both hold the same rows.

  --all                  rebuild every projection
  --list                 show the projections that can be rebuilt
  --accept-differences   swap even when rows differ (how changed projection logic is deployed)
  --batch-size <n>       events applied per transaction, 1 to 10000 (default 1000)

Reads DATABASE_URL like the API, and refuses a database whose migrations of this build are not
all applied (nothing written; \`npm run migrate:api\` applies them). Exit status: 0 rebuilt, 1 rows
differed (nothing swapped), refused or failure, 2 usage error. The API runs the same rebuild as a job: POST /admin/projections/{name}/rebuilds;
one rebuild at a time per projection, whichever started it.`;

export const DEFAULT_BATCH_SIZE = 1000;
export const MAX_BATCH_SIZE = 10_000;

export type RebuildCommand =
  | { kind: 'help' }
  | { kind: 'list' }
  | { kind: 'rebuild'; projections: ProjectionDefinition[]; acceptDifferences: boolean; batchSize: number }
  | { kind: 'usage-error'; message: string };

export function parseRebuildArguments(args: string[], known: readonly ProjectionDefinition[]): RebuildCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        all: { type: 'boolean' },
        list: { type: 'boolean' },
        'accept-differences': { type: 'boolean' },
        'batch-size': { type: 'string' },
        help: { type: 'boolean' },
      },
    });
  } catch (error) {
    return { kind: 'usage-error', message: error instanceof Error ? error.message : String(error) };
  }
  const { values, positionals: names } = parsed;
  if (values.help) return { kind: 'help' };
  if (values.list) return names.length === 0 && !values.all ? { kind: 'list' } : usageError('--list takes no projection');
  if (values.all && names.length > 0) return usageError('give either --all or projection names, not both');
  if (!values.all && names.length === 0) return usageError('name the projections to rebuild, or --all');

  const batchSize = Number(values['batch-size'] ?? DEFAULT_BATCH_SIZE);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    return usageError(`--batch-size must be a whole number from 1 to ${MAX_BATCH_SIZE}`);
  }

  const unknown = names.filter((name) => !known.some((projection) => projection.name === name));
  if (unknown.length > 0) {
    return usageError(`unknown projection ${unknown.join(', ')}; valid ones: ${known.map(({ name }) => name).join(', ')}`);
  }
  const projections = values.all ? [...known] : known.filter(({ name }) => names.includes(name));
  return { kind: 'rebuild', projections, acceptDifferences: values['accept-differences'] ?? false, batchSize };
}

function usageError(message: string): RebuildCommand {
  return { kind: 'usage-error', message };
}
