import { AdmissionPolicy, MAX_RETRY_AFTER_SECONDS, ReaderLag, retryAfterSeconds } from './admission-policy';

const reader = (lagMs: number, lagEvents = 0, drainPerSecond?: number, name = 'reaction:order-fulfilment'): ReaderLag => ({
  reader: name,
  lagMs,
  lagEvents,
  drainPerSecond,
});

describe('admission policy (load shedding)', () => {
  const bounds = { maxLagMs: 3000, maxLagEvents: 0 };

  it('admits while every reader is within the age bound, and sheds once one is past it', () => {
    const policy = new AdmissionPolicy(bounds);
    expect(policy.decide([reader(0), reader(3000, 900, undefined, 'projection:order-summaries')]).shedding).toBe(false);
    const decision = policy.decide([reader(0, 0, undefined, 'projection:order-summaries'), reader(3001, 1200)]);
    expect(decision).toMatchObject({ shedding: true, worst: { reader: 'reaction:order-fulfilment', lagMs: 3001 } });
  });

  it('keeps shedding until every reader is back under half of the bound (hysteresis), then admits', () => {
    const policy = new AdmissionPolicy(bounds);
    expect(policy.decide([reader(3500)]).shedding).toBe(true);
    expect(policy.decide([reader(2999)]).shedding).toBe(true);
    expect(policy.decide([reader(1501)]).shedding).toBe(true);
    expect(policy.decide([reader(1500)]).shedding).toBe(false);
    // Admitting again: half the bound no longer sheds, only the bound itself does.
    expect(policy.decide([reader(2900)]).shedding).toBe(false);
    expect(policy.decide([reader(3100)]).shedding).toBe(true);
  });

  it('bounds the backlog in events too, when that bound is set, with the same hysteresis', () => {
    const policy = new AdmissionPolicy({ maxLagMs: 0, maxLagEvents: 1000 });
    expect(policy.decide([reader(60_000, 1000)]).shedding).toBe(false);
    expect(policy.decide([reader(0, 1001)]).shedding).toBe(true);
    expect(policy.decide([reader(0, 501)]).shedding).toBe(true);
    expect(policy.decide([reader(0, 500)]).shedding).toBe(false);
  });

  it('sheds when either bound is passed', () => {
    const policy = new AdmissionPolicy({ maxLagMs: 3000, maxLagEvents: 1000 });
    expect(policy.decide([reader(100, 1500)]).shedding).toBe(true);
    expect(new AdmissionPolicy({ maxLagMs: 3000, maxLagEvents: 1000 }).decide([reader(4000, 10)]).shedding).toBe(true);
  });

  it('is disabled with both bounds at 0, and then never sheds', () => {
    const policy = new AdmissionPolicy({ maxLagMs: 0, maxLagEvents: 0 });
    expect(policy.enabled).toBe(false);
    expect(policy.decide([reader(3_600_000, 1_000_000)]).shedding).toBe(false);
    expect(new AdmissionPolicy(bounds).enabled).toBe(true);
  });

  it('forgets shedding on reset (no figures: the door stays open)', () => {
    const policy = new AdmissionPolicy(bounds);
    expect(policy.decide([reader(5000)]).shedding).toBe(true);
    policy.reset();
    expect(policy.decide([reader(2000)]).shedding).toBe(false);
  });

  it('names the reader that lags most', () => {
    const policy = new AdmissionPolicy(bounds);
    const decision = policy.decide([reader(4000, 10, undefined, 'relay:integration-events'), reader(9000, 5, undefined, 'reaction:x'), reader(5000)]);
    expect(decision.shedding && decision.worst.reader).toBe('reaction:x');
  });
});

describe('Retry-After while shedding', () => {
  const bounds = { maxLagMs: 3000, maxLagEvents: 0 };

  it('is the time the slowest lagging reader needs for its backlog at its measured rate, rounded up', () => {
    expect(retryAfterSeconds([reader(5000, 1000, 100)], bounds)).toBe(10);
    expect(retryAfterSeconds([reader(5000, 1001, 100)], bounds)).toBe(11);
    expect(retryAfterSeconds([reader(5000, 1000, 400), reader(4000, 900, 100)], bounds)).toBe(9);
  });

  it('is the age bound in seconds for a reader whose rate is not known or that does not move', () => {
    expect(retryAfterSeconds([reader(5000, 1000)], bounds)).toBe(3);
    expect(retryAfterSeconds([reader(5000, 1000, 0)], bounds)).toBe(3);
    expect(retryAfterSeconds([reader(5000, 1000, 0)], { maxLagMs: 2500, maxLagEvents: 0 })).toBe(3);
    expect(retryAfterSeconds([reader(0, 1000)], { maxLagMs: 0, maxLagEvents: 500 })).toBe(1);
  });

  it('is a whole number of seconds, at least 1 and at most the cap', () => {
    expect(retryAfterSeconds([reader(5000, 3, 1000)], bounds)).toBe(1);
    expect(retryAfterSeconds([reader(5000, 1_000_000, 10)], bounds)).toBe(MAX_RETRY_AFTER_SECONDS);
    const decision = new AdmissionPolicy(bounds).decide([reader(5000, 1234, 77)]);
    expect(decision.shedding && Number.isInteger(decision.retryAfterSeconds)).toBe(true);
    expect(decision.shedding && decision.retryAfterSeconds).toBe(17);
  });
});
