import type { ProjectionDefinition } from '../event-store';
import { parseRebuildArguments } from './rebuild-arguments';

const projection = (name: string): ProjectionDefinition => ({
  name,
  subscriptionId: `projection:${name}`,
  table: name.replace('-', '_'),
  canHandle: [],
  apply: async () => undefined,
});
const known = [projection('customer-balances'), projection('order-summaries')];

describe('rebuild-projections arguments', () => {
  it('--all selects every projection with the default batch size', () => {
    expect(parseRebuildArguments(['--all'], known)).toEqual({ kind: 'rebuild', projections: known, acceptDifferences: false, batchSize: 1000 });
  });

  it('names select those projections; options are read', () => {
    expect(parseRebuildArguments(['order-summaries', '--accept-differences', '--batch-size', '50'], known)).toEqual({
      kind: 'rebuild',
      projections: [known[1]],
      acceptDifferences: true,
      batchSize: 50,
    });
  });

  it('an unknown name is a usage error listing the valid ones', () => {
    expect(parseRebuildArguments(['orders', 'customer-balances'], known)).toEqual({
      kind: 'usage-error',
      message: 'unknown projection orders; valid ones: customer-balances, order-summaries',
    });
  });

  it.each([[[]], [['--all', 'customer-balances']], [['--all', '--batch-size', '0']], [['--all', '--batch-size', 'many']], [['--all', '--nope']], [['--list', 'customer-balances']]])(
    '%j is a usage error',
    (args) => {
      expect(parseRebuildArguments(args, known).kind).toBe('usage-error');
    },
  );

  it('--list and --help need nothing else', () => {
    expect(parseRebuildArguments(['--list'], known)).toEqual({ kind: 'list' });
    expect(parseRebuildArguments(['--help'], known)).toEqual({ kind: 'help' });
  });
});
