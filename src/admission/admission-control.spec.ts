import { connect } from 'node:net';
import { setTimeout } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import Fastify, { type FastifyRequest } from 'fastify';
import type { Environment } from '../config/environment';
import type { IntegrationEventPublisher } from '../messaging/integration-event-publisher';
import { MetricsRegistry } from '../metrics/metrics-registry';
import { fastifyInstrumentation } from '../tracing/instrumentations';
import { AdmissionControl, EPISODE_QUIET_MS, registerAdmissionControl, UNLEASED_GRACE_LOOKS } from './admission-control';
import { AdmissionMetrics } from './admission.metrics';
import type { AsynchronousLag, LagSample, SampledReader } from './asynchronous-lag';

const settings: Partial<Environment> = {
  ADMISSION_CONTROL: 'on',
  ADMISSION_MAX_LAG_MS: 2500,
  ADMISSION_MAX_LAG_EVENTS: 0,
  ADMISSION_DELAY_FROM_LAG_MS: 500,
  SUBSCRIPTION_LEASE_LOOK_MS: 1000,
};

const saga = (lagSeconds: number): SampledReader => ({
  reader: 'reaction:order-fulfilment',
  subscriptionId: 'reaction:order-fulfilment',
  segment: 0,
  checkpoint: 0,
  lagEvents: Math.round(lagSeconds * 100),
  lagSeconds,
  paused: false,
  leaseHeld: true,
  drainPerSecond: 100,
});

const command = { method: 'POST', url: '/orders', is404: false } as FastifyRequest;

/** An AdmissionControl whose samples are fed by hand. */
function admissionControl() {
  let listener: (sample: LagSample) => void = () => undefined;
  const demand = jest.fn();
  const lag = { onSample: (l: typeof listener) => (listener = l), demand } as unknown as AsynchronousLag;
  const config = { get: (key: keyof Environment) => settings[key] } as unknown as ConfigService<Environment, true>;
  const registry = new MetricsRegistry();
  const control = new AdmissionControl(lag, { blocked: false } as IntegrationEventPublisher, config, new AdmissionMetrics(registry));
  control.onModuleInit();
  return {
    control,
    registry,
    demand,
    sample: (at: number, ...readers: SampledReader[]) => listener({ ok: true, at, readers }),
    failedSample: (at: number) => listener({ ok: false, at, error: new Error('Connection terminated') }),
  };
}

describe('admission control at the door', () => {
  let warn: jest.SpyInstance;
  let log: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('admits a command at once, makes it wait, or refuses it, as the last sample says', () => {
    const { control, sample } = admissionControl();
    sample(0, saga(0.5));
    expect(control.check(command)).toBeUndefined();
    sample(250, saga(1.5)); // half-way from 0.5 s to the 2.5 s bound
    expect(control.check(command)).toMatchObject({ action: 'delay', delayMs: 500 });
    sample(500, saga(2.6));
    expect(control.check(command)).toMatchObject({ action: 'shed', retryAfterSeconds: 3 });
  });

  it('never holds back a read, an unknown route or an operator', () => {
    const { control, sample } = admissionControl();
    for (const lag of [1.5, 10]) {
      sample(lag * 1000, saga(lag));
      expect(control.check({ method: 'GET', url: '/orders', is404: false } as FastifyRequest)).toBeUndefined();
      expect(control.check({ method: 'POST', url: '/nowhere', is404: true } as FastifyRequest)).toBeUndefined();
      expect(control.check({ method: 'POST', url: '/admin/subscriptions/x/pause', is404: false } as FastifyRequest)).toBeUndefined();
      expect(control.check(command)).toBeDefined();
    }
  });

  it('logs a stretch of waits and refusals once as it starts, once as refusals begin and once as it ends, not at every sample near a threshold', () => {
    const { control, sample } = admissionControl();
    sample(0, saga(1.0));
    control.check(command); // waits 250 ms
    sample(250, saga(0.4));
    control.check(command);
    sample(500, saga(1.5));
    control.check(command); // waits 500 ms
    sample(750, saga(3));
    control.check(command);
    control.check(command);
    sample(1000, saga(0.2));
    sample(750 + EPISODE_QUIET_MS - 1, saga(0.2));
    expect(warn.mock.calls).toEqual([
      ['delaying commands at the door: reaction:order-fulfilment is 100 events (1.0 s) behind the writes'],
      ['shedding commands (503): reaction:order-fulfilment is 300 events (3.0 s) behind the writes'],
    ]);
    expect(log).not.toHaveBeenCalled();
    sample(750 + EPISODE_QUIET_MS, saga(0.2));
    expect(log.mock.calls).toEqual([
      ['admitting every command at once again, after 0.8 s: 2 delayed (375 ms on average), 2 shed; every reader is within ADMISSION_DELAY_FROM_LAG_MS'],
    ]);
  });

  it('keeps sampling until a stretch of waits is over, so its end is logged then, not at the next traffic', () => {
    const { control, demand, sample } = admissionControl();
    sample(0, saga(1.0));
    control.check(command);
    demand.mockClear();
    // The readers catch up and the clients stop: nothing else asks for samples.
    sample(250, saga(0.2));
    expect(demand).toHaveBeenCalled();
    demand.mockClear();
    sample(EPISODE_QUIET_MS, saga(0.2));
    expect(log.mock.calls).toEqual([['admitting every command at once again, after 0.0 s: 1 delayed (250 ms on average), 0 shed; every reader is within ADMISSION_DELAY_FROM_LAG_MS']]);
    sample(EPISODE_QUIET_MS + 250, saga(0.2));
    expect(demand).not.toHaveBeenCalled();
  });

  it('logs waits that begin long after the last ones as a stretch of their own', () => {
    const { control, sample } = admissionControl();
    sample(0, saga(1.0));
    control.check(command);
    // Sampling stopped (no traffic, or the stop of the process) before the stretch was over.
    sample(3_600_000, saga(1.5));
    control.check(command);
    expect(log.mock.calls).toEqual([['admitting every command at once again, after 0.0 s: 1 delayed (250 ms on average), 0 shed; every reader is within ADMISSION_DELAY_FROM_LAG_MS']]);
    expect(warn.mock.calls).toEqual([
      ['delaying commands at the door: reaction:order-fulfilment is 100 events (1.0 s) behind the writes'],
      ['delaying commands at the door: reaction:order-fulfilment is 150 events (1.5 s) behind the writes'],
    ]);
  });

  it('logs refusals that begin long after the last ones as a stretch of their own, even if the last sample seen refused too', () => {
    const { control, sample } = admissionControl();
    sample(0, saga(3));
    control.check(command);
    sample(3_600_000, saga(4));
    expect(log.mock.calls).toEqual([['admitting every command at once again, after 0.0 s: none delayed, 1 shed; every reader is within ADMISSION_DELAY_FROM_LAG_MS']]);
    expect(warn.mock.calls).toEqual([
      ['shedding commands (503): reaction:order-fulfilment is 300 events (3.0 s) behind the writes'],
      ['shedding commands (503): reaction:order-fulfilment is 400 events (4.0 s) behind the writes'],
    ]);
  });

  it('tells, of the commands that waited, those whose client left meanwhile and those shed once their wait was over', () => {
    const { control, sample } = admissionControl();
    sample(0, saga(1.5));
    control.check(command);
    control.check(command);
    control.check(command);
    control.clientLeft(120);
    sample(250, saga(2.6));
    control.afterWait(500);
    sample(EPISODE_QUIET_MS, saga(0.2));
    sample(EPISODE_QUIET_MS + 250, saga(0.2));
    expect(log.mock.calls).toEqual([
      [
        'admitting every command at once again, after 0.3 s: 3 delayed (500 ms on average, 1 of them left by their client while waiting, not run, 1 of them shed once their wait was over), 1 shed; every reader is within ADMISSION_DELAY_FROM_LAG_MS',
      ],
    ]);
  });

  it('never holds commands back for a reader that no process has been seen running, however far behind it is', () => {
    // REACTIONS_ENABLED=false everywhere: the saga's lag is the age of the oldest event it never
    // took, hours at a process's first sample, and only grows.
    const { control, sample } = admissionControl();
    const unrun = (lagSeconds: number): SampledReader => ({ ...saga(lagSeconds), leaseHeld: false });
    for (const at of [0, 250, 1000, 1400, 5000]) {
      sample(at, unrun(3600 + at / 1000));
      expect(control.check(command)).toBeUndefined();
    }
    expect(warn).not.toHaveBeenCalled();
  });

  it('counts a reader whose lease went free for a while (a takeover: its backlog is still there), and no longer once it stays free', () => {
    const { control, sample } = admissionControl();
    const graceMs = UNLEASED_GRACE_LOOKS * settings.SUBSCRIPTION_LEASE_LOOK_MS!;
    sample(0, saga(0.2));
    sample(250, { ...saga(1.5), leaseHeld: false });
    expect(control.check(command)).toMatchObject({ action: 'delay', delayMs: 500 });
    sample(250 + graceMs - 1, { ...saga(2.6), leaseHeld: false });
    expect(control.check(command)).toMatchObject({ action: 'shed' });
    sample(250 + graceMs, { ...saga(2.6), leaseHeld: false });
    expect(control.check(command)).toBeUndefined();
  });

  it('opens the door while the lag cannot be measured, and forgets its shedding', () => {
    const { control, sample, failedSample } = admissionControl();
    sample(0, saga(5));
    expect(control.check(command)).toMatchObject({ action: 'shed' });
    failedSample(250);
    expect(control.check(command)).toBeUndefined();
    // Shedding was forgotten: 2 s is back under the bound, and within it a command waits.
    sample(500, saga(2));
    expect(control.check(command)).toMatchObject({ action: 'delay', delayMs: 750 });
  });

  it('counts each command it held back once, by what became of it, in eda_admission_commands_total, and the time they waited in eda_admission_wait_seconds_total', async () => {
    const { control, registry, sample } = admissionControl();
    sample(0, saga(1.5)); // a 500 ms wait
    control.check(command);
    control.check(command);
    expect(await valuesOf(registry, 'eda_admission_commands_total')).toEqual([]);
    control.clientLeft(200);
    expect(control.afterWait(500)).toBeUndefined();
    sample(250, saga(0.1));
    control.check(command); // let through at once: not counted
    sample(500, saga(3));
    control.check(command);
    expect(await valuesOf(registry, 'eda_admission_commands_total')).toEqual(
      expect.arrayContaining([
        { decision: 'delayed', value: 1 },
        { decision: 'left', value: 1 },
        { decision: 'shed', value: 1 },
      ]),
    );
    expect(await valuesOf(registry, 'eda_admission_wait_seconds_total')).toEqual([{ value: 0.7 }]);
  });

  it('decides again once a wait is over, on the latest sample: shed if the door sheds by then, else run without a second wait', () => {
    const { control, sample } = admissionControl();
    sample(0, saga(1.5));
    expect(control.check(command)).toMatchObject({ action: 'delay', delayMs: 500 });
    sample(250, saga(2.0)); // a longer wait for the commands arriving now
    expect(control.afterWait(500)).toBeUndefined();
    sample(500, saga(2.6));
    expect(control.afterWait(500)).toMatchObject({ action: 'shed', retryAfterSeconds: 3 });
  });
});

/** The figures of a metric of `registry`, one object per label set. */
async function valuesOf(registry: MetricsRegistry, name: string): Promise<Array<Record<string, unknown>>> {
  return (await registry.getSingleMetric(name)!.get()).values.map(({ labels, value }: { labels: object; value: number }) => ({ ...labels, value }));
}

/** A Fastify app behind the door, with one command route that counts its runs. */
function appBehindTheDoor(control: AdmissionControl) {
  const app = Fastify();
  registerAdmissionControl(app, control);
  const runs = { count: 0 };
  app.post('/orders', async () => {
    runs.count += 1;
    return { placed: true };
  });
  return { app, runs };
}

describe('the door (its onRequest hook)', () => {
  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('decides again once a command has waited: refused (503, Retry-After) if the door began shedding meanwhile, else run without a second wait; each counted once, by what became of it', async () => {
    const { control, registry, sample } = admissionControl();
    const { app, runs } = appBehindTheDoor(control);
    try {
      sample(0, saga(1.5)); // a 500 ms wait
      const refused = app.inject({ method: 'POST', url: '/orders' });
      await setTimeout(100);
      sample(100, saga(2.6)); // past the bound while it waits
      const refusal = await refused;
      expect(refusal.statusCode).toBe(503);
      expect(refusal.headers['retry-after']).toBe('3');
      expect(refusal.json()).toMatchObject({ code: 'LOAD_SHED' });
      expect(runs.count).toBe(0);

      sample(5_000, saga(0.2));
      sample(5_250, saga(1.5)); // back under half the bound: a 500 ms wait again
      const started = performance.now();
      const ran = app.inject({ method: 'POST', url: '/orders' });
      await setTimeout(100);
      sample(5_350, saga(2.0)); // a longer wait for the commands that arrive now, not a second one for this one
      expect((await ran).statusCode).toBe(200);
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(runs.count).toBe(1);

      expect(await valuesOf(registry, 'eda_admission_commands_total')).toEqual(
        expect.arrayContaining([
          { decision: 'shed', value: 1 },
          { decision: 'delayed', value: 1 },
        ]),
      );
      expect((await valuesOf(registry, 'eda_admission_commands_total')).filter(({ decision }) => decision === 'left')).toEqual([]);
    } finally {
      await app.close();
    }
  });

  describe('with tracing on', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    // Before the app exists: it hooks every Fastify instance created from then on, as the preload does.
    let instrumentation: ReturnType<typeof fastifyInstrumentation>;
    beforeAll(() => {
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
      trace.setGlobalTracerProvider(provider);
      instrumentation = fastifyInstrumentation();
      instrumentation.setTracerProvider(provider);
    });
    afterAll(async () => {
      instrumentation.disable();
      await provider.shutdown();
      trace.disable();
      context.disable();
    });

    it('ends and exports the request span of a command whose client left while it waited, an error that says why', async () => {
      const { control, registry, sample } = admissionControl();
      const { app, runs } = appBehindTheDoor(control);
      try {
        await app.listen({ port: 0, host: '127.0.0.1' });
        const { port } = app.server.address() as { port: number };
        sample(0, saga(1.5)); // a 500 ms wait
        const socket = connect(port, '127.0.0.1');
        socket.on('error', () => undefined);
        await new Promise((resolve) => socket.once('connect', resolve));
        // One command, then three pipelined behind it (their answers queued, without a socket yet).
        socket.write('POST /orders HTTP/1.1\r\nHost: api\r\n\r\n'.repeat(4));
        await setTimeout(100);
        socket.destroy();
        await setTimeout(600);

        expect(runs.count).toBe(0);
        const requests = exporter.getFinishedSpans().filter((span) => span.name === 'request');
        expect(requests).toHaveLength(4);
        for (const span of requests) {
          expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: expect.stringMatching(/client left while the command waited at the door/) });
          expect(span.attributes).toMatchObject({ 'error.type': 'CLIENT_LEFT', 'http.route': '/orders' });
          expect(span.attributes).not.toHaveProperty('http.response.status_code');
        }
        expect(await valuesOf(registry, 'eda_admission_commands_total')).toEqual([{ decision: 'left', value: 4 }]);
      } finally {
        await app.close();
      }
    });
  });
});
