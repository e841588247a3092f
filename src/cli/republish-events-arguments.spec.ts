import { parseRepublishArguments } from './republish-events-arguments';

const STREAM = '6f1c3a52-9a7e-4b43-9d0c-2f6a1e2b7c10';

describe('parseRepublishArguments', () => {
  it('selects one stream', () => {
    expect(parseRepublishArguments(['--stream', STREAM.toUpperCase()])).toEqual({
      kind: 'republish',
      selection: { kind: 'stream', streamId: STREAM },
      batchSize: 500,
    });
  });

  it('selects a position range, both ends included, keeping positions as decimal strings', () => {
    expect(parseRepublishArguments(['--from-position', '7', '--to-position', '9007199254740993', '--batch-size', '50'])).toEqual({
      kind: 'republish',
      selection: { kind: 'positions', from: '7', to: '9007199254740993' },
      batchSize: 50,
    });
  });

  it.each([
    [[], 'give --stream'],
    [['--stream', 'not-a-uuid'], 'UUID'],
    [['--stream', STREAM, '--from-position', '1'], 'not both'],
    [['--from-position', '5'], 'both'],
    [['--from-position', '9', '--to-position', '3'], 'must not be after'],
    [['--from-position', '0', '--to-position', '3'], 'whole numbers from 1'],
    [['--from-position', '-1', '--to-position', '3'], ''],
    [['--stream', STREAM, '--batch-size', '0'], '--batch-size'],
    [['--unknown'], 'Unknown option'],
  ])('refuses %j', (args, message) => {
    const command = parseRepublishArguments(args);
    expect(command.kind).toBe('usage-error');
    expect(command.kind === 'usage-error' && command.message).toContain(message);
  });
});
