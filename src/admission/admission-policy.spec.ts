import { AdmissionDecision, AdmissionPolicy, MAX_ADMISSION_DELAY_MS, MAX_RETRY_AFTER_SECONDS, ReaderLag, retryAfterSeconds } from './admission-policy';

const reader = (lagMs: number, lagEvents = 0, drainPerSecond?: number, name = 'reaction:order-fulfilment'): ReaderLag => ({
  reader: name,
  lagMs,
  lagEvents,
  drainPerSecond,
});

describe('admission policy (load shedding)', () => {
  const bounds = { maxLagMs: 3000, maxLagEvents: 0, delayFromLagMs: 0 };

  it('admits while every reader is within the age bound, and sheds once one is past it', () => {
    const policy = new AdmissionPolicy(bounds);
    expect(policy.decide([reader(0), reader(3000, 900, undefined, 'projection:order-summaries')]).action).toBe('admit');
    const decision = policy.decide([reader(0, 0, undefined, 'projection:order-summaries'), reader(3001, 1200)]);
    expect(decision).toMatchObject({ action: 'shed', worst: { reader: 'reaction:order-fulfilment', lagMs: 3001 } });
  });

  it('keeps shedding until every reader is back under half of the bound (hysteresis), then admits', () => {
    const policy = new AdmissionPolicy(bounds);
    expect(policy.decide([reader(3500)]).action).toBe('shed');
    expect(policy.decide([reader(2999)]).action).toBe('shed');
    expect(policy.decide([reader(1501)]).action).toBe('shed');
    expect(policy.decide([reader(1500)]).action).toBe('admit');
    // Admitting again: half the bound no longer sheds, only the bound itself does.
    expect(policy.decide([reader(2900)]).action).toBe('admit');
    expect(policy.decide([reader(3100)]).action).toBe('shed');
  });

  it('bounds the backlog in events too, when that bound is set, with the same hysteresis', () => {
    const policy = new AdmissionPolicy({ maxLagMs: 0, maxLagEvents: 1000, delayFromLagMs: 0 });
    expect(policy.decide([reader(60_000, 1000)]).action).toBe('admit');
    expect(policy.decide([reader(0, 1001)]).action).toBe('shed');
    expect(policy.decide([reader(0, 501)]).action).toBe('shed');
    expect(policy.decide([reader(0, 500)]).action).toBe('admit');
  });

  it('sheds when either bound is passed', () => {
    const policy = new AdmissionPolicy({ maxLagMs: 3000, maxLagEvents: 1000, delayFromLagMs: 0 });
    expect(policy.decide([reader(100, 1500)]).action).toBe('shed');
    expect(new AdmissionPolicy({ maxLagMs: 3000, maxLagEvents: 1000, delayFromLagMs: 0 }).decide([reader(4000, 10)]).action).toBe('shed');
  });

  it('is disabled with both bounds at 0, and then never sheds', () => {
    const policy = new AdmissionPolicy({ maxLagMs: 0, maxLagEvents: 0, delayFromLagMs: 0 });
    expect(policy.enabled).toBe(false);
    expect(policy.decide([reader(3_600_000, 1_000_000)]).action).toBe('admit');
    expect(new AdmissionPolicy(bounds).enabled).toBe(true);
  });

  it('forgets shedding on reset (no figures: the door stays open)', () => {
    const policy = new AdmissionPolicy(bounds);
    expect(policy.decide([reader(5000)]).action).toBe('shed');
    policy.reset();
    expect(policy.decide([reader(2000)]).action).toBe('admit');
  });

  it('names the reader that lags most', () => {
    const policy = new AdmissionPolicy(bounds);
    const decision = policy.decide([reader(4000, 10, undefined, 'relay:integration-events'), reader(9000, 5, undefined, 'reaction:x'), reader(5000)]);
    expect(decision.action === 'shed' && decision.worst.reader).toBe('reaction:x');
  });
});

describe('waits at the door (backpressure) before the bound', () => {
  const bounds = { maxLagMs: 3000, maxLagEvents: 0, delayFromLagMs: 500 };
  const delayOf = (decision: AdmissionDecision): number => (decision.action === 'delay' ? decision.delayMs : 0);

  it('admits at once while every reader is within ADMISSION_DELAY_FROM_LAG_MS', () => {
    const policy = new AdmissionPolicy(bounds);
    expect(policy.decide([]).action).toBe('admit');
    expect(policy.decide([reader(0), reader(500, 300)]).action).toBe('admit');
  });

  it('makes each command wait from nothing there to MAX_ADMISSION_DELAY_MS at the bound, in a straight line, after the reader that lags most', () => {
    const policy = new AdmissionPolicy(bounds);
    expect(delayOf(policy.decide([reader(501)]))).toBe(1);
    expect(delayOf(policy.decide([reader(1000)]))).toBe(200);
    expect(delayOf(policy.decide([reader(600, 10, undefined, 'projection:order-summaries'), reader(1750)]))).toBe(500);
    expect(policy.decide([reader(2999, 12, undefined, 'relay:integration-events'), reader(800)])).toEqual({
      action: 'delay',
      delayMs: 1000,
      worst: { reader: 'relay:integration-events', lagMs: 2999, lagEvents: 12, drainPerSecond: undefined },
    });
    expect(MAX_ADMISSION_DELAY_MS).toBe(1000);
  });

  it('refuses past the bound, and waits again once shedding stops, as far as the lag then says', () => {
    const policy = new AdmissionPolicy(bounds);
    expect(policy.decide([reader(3001)]).action).toBe('shed');
    expect(policy.decide([reader(2000)]).action).toBe('shed');
    expect(delayOf(policy.decide([reader(1500)]))).toBe(400);
    expect(policy.decide([reader(400)]).action).toBe('admit');
  });

  it('never waits with ADMISSION_DELAY_FROM_LAG_MS at 0, at or above the bound, or with no age bound', () => {
    expect(new AdmissionPolicy({ ...bounds, delayFromLagMs: 0 }).decide([reader(2900)]).action).toBe('admit');
    expect(new AdmissionPolicy({ ...bounds, delayFromLagMs: 3000 }).decide([reader(2900)]).action).toBe('admit');
    expect(new AdmissionPolicy({ maxLagMs: 0, maxLagEvents: 1000, delayFromLagMs: 500 }).decide([reader(60_000, 999)]).action).toBe('admit');
  });
});

describe('Retry-After while shedding', () => {
  const bounds = { maxLagMs: 3000, maxLagEvents: 0, delayFromLagMs: 0 };

  it('is the time the slowest lagging reader needs for its backlog at its measured rate, rounded up', () => {
    expect(retryAfterSeconds([reader(5000, 1000, 100)], bounds)).toBe(10);
    expect(retryAfterSeconds([reader(5000, 1001, 100)], bounds)).toBe(11);
    expect(retryAfterSeconds([reader(5000, 1000, 400), reader(4000, 900, 100)], bounds)).toBe(9);
  });

  it('is the age bound in seconds for a reader whose rate is not known or that does not move', () => {
    expect(retryAfterSeconds([reader(5000, 1000)], bounds)).toBe(3);
    expect(retryAfterSeconds([reader(5000, 1000, 0)], bounds)).toBe(3);
    expect(retryAfterSeconds([reader(5000, 1000, 0)], { maxLagMs: 2500, maxLagEvents: 0, delayFromLagMs: 0 })).toBe(3);
    expect(retryAfterSeconds([reader(0, 1000)], { maxLagMs: 0, maxLagEvents: 500, delayFromLagMs: 0 })).toBe(1);
  });

  it('is a whole number of seconds, at least 1 and at most the cap', () => {
    expect(retryAfterSeconds([reader(5000, 3, 1000)], bounds)).toBe(1);
    expect(retryAfterSeconds([reader(5000, 1_000_000, 10)], bounds)).toBe(MAX_RETRY_AFTER_SECONDS);
    const decision = new AdmissionPolicy(bounds).decide([reader(5000, 1234, 77)]);
    expect(decision.action === 'shed' && Number.isInteger(decision.retryAfterSeconds)).toBe(true);
    expect(decision.action === 'shed' && decision.retryAfterSeconds).toBe(17);
  });
});
