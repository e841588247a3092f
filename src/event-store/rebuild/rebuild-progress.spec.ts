import type { SequencedEvent } from '../stored-event';
import { RebuildProgressMeter } from './rebuild-progress';

const events = (...positions: number[]) => positions.map((position) => ({ globalPosition: String(position) }) as SequencedEvent);

describe('rebuild progress', () => {
  it('derives rate and time left from the events done since the start', () => {
    let now = 1_000;
    const meter = new RebuildProgressMeter('p', { eventCount: 10, lastPosition: 10n }, () => now);
    now += 2_000;
    expect(meter.record(events(1, 2, 3, 4))).toEqual({ projection: 'p', eventsDone: 4, eventsTotal: 10, eventsPerSecond: 2, secondsLeft: 3 });
  });

  it('counts events appended after the start into the total', () => {
    let now = 0;
    const meter = new RebuildProgressMeter('p', { eventCount: 2, lastPosition: 2n }, () => now);
    now += 1_000;
    expect(meter.record(events(1, 2, 3, 4, 5))).toMatchObject({ eventsDone: 5, eventsTotal: 5, secondsLeft: 0 });
  });

  it('never reports a total below what is done, nor a time left before anything is done', () => {
    const meter = new RebuildProgressMeter('p', { eventCount: 1, lastPosition: 5n }, () => 0);
    expect(meter.current()).toMatchObject({ eventsDone: 0, secondsLeft: undefined });
    expect(meter.record(events(3, 4))).toMatchObject({ eventsDone: 2, eventsTotal: 2 });
  });
});
