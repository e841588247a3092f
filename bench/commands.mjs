// The whole pipeline under load: HTTP (Fastify) → CommandBus → one-statement write → sequencer →
// projections, the saga's reactions (BENCH_SAGA=on), and the relay → RabbitMQ (confirms) →
// consumer app → its read models. Needs PostgreSQL and RabbitMQ running (`.ci/run` starts them);
// starts the built API and consumer as child processes on throwaway databases and a throwaway
// broker prefix, and removes all of it again at the end (also on Ctrl-C).
//
// Steps: a closed loop (BENCH_CONNECTIONS connections, each sending when the last answer came)
// finds the saturation rate, then open-loop steps send POST /orders at fixed rates, BENCH_RATES
// percent of it, latency taken from each request's due time. After each step the bench waits
// until every reader is at the head, then reads the step's figures. When the hand-written
// reference pipeline is there (BENCH_RAW=auto), it runs next, at the same absolute rates.
//
// It exits 1 if a request failed, an accepted order went missing or an effect was applied twice,
// an event never reached the consumer, an order was left undecided or rejected for `timeout`,
// or a reader did not reach the head within the deadline. It prints issue 10's targets as this
// run met them (bench/targets.mjs); with BENCH_TARGETS=strict it exits 2 when one is not met.
//
//   npm run bench     BENCH_SECONDS=8 (per step)  BENCH_RATES=25,50,75,100  BENCH_CONNECTIONS=32
//                     BENCH_SAGA=on|off  BENCH_RAW=auto|off  BENCH_RAW_DIR=/work/shared/bench/raw-pipeline
//                     BENCH_SAMPLE_MS=250  BENCH_DRAIN_TIMEOUT_S=120  BENCH_CPU_PROFILE=<folder for V8 .cpuprofile files>
//                     BENCH_COUNT_IO=on (statements and socket writes per order, per app: bench/io-counter.cjs)
//                     BENCH_API_PROCESSES=1|2 (2: two APIs behind a round-robin balancer on one port, sharing
//                     every projection and reaction in BENCH_SUBSCRIPTION_SEGMENTS=8 segments)
//                     BENCH_STORE_EVENTS=<n> (run on a store pre-filled with n events, see bench/store.mjs)
//                     BENCH_TARGETS=strict (exit 2 when one of issue 10's targets is not met)
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import amqp from 'amqplib';
import pg from 'pg';
import { cpuMeter } from './cpu.mjs';
import { runLoad } from './load.mjs';
import { startProject } from './project.mjs';
import { rawPipelineAt, startRaw } from './raw.mjs';
import { printReport, stepRecord, writeResults } from './report.mjs';
import { prefilledStore } from './store.mjs';
import { issueTargets } from './targets.mjs';
import { progress, stop } from './support.mjs';

const env = process.env;
const settings = {
  secondsPerStep: Number(env.BENCH_SECONDS ?? 8),
  ratesPercent: (env.BENCH_RATES ?? '25,50,75,100').split(',').map(Number),
  /** Open-loop rates in commands/s instead of BENCH_RATES' percentages: the same load for two builds whose saturation differs (A/B). */
  ratesPerS: env.BENCH_RATES_PER_S ? env.BENCH_RATES_PER_S.split(',').map(Number) : null,
  connections: Number(env.BENCH_CONNECTIONS ?? 32),
  saga: (env.BENCH_SAGA ?? 'on') !== 'off',
  raw: env.BENCH_RAW ?? 'auto',
  rawFolder: env.BENCH_RAW_DIR ?? '/work/shared/bench/raw-pipeline',
  /** Lag sampling period during the load; after it, 25 ms, so the drain times are that precise. */
  loadSampleMs: Number(env.BENCH_SAMPLE_MS ?? 250),
  drainSampleMs: 25,
  drainTimeoutMs: Number(env.BENCH_DRAIN_TIMEOUT_S ?? 120) * 1000,
  /** Events the store holds before the run (bench/store.mjs); 0: an empty store. */
  storeEvents: Number(env.BENCH_STORE_EVENTS ?? 0),
  /** Exit 2 when a target of issue 10 is not met (bench/targets.mjs); else they are only printed. */
  targetsStrict: env.BENCH_TARGETS === 'strict',
};
for (const [name, rates] of [['BENCH_RATES', settings.ratesPercent], ['BENCH_RATES_PER_S', settings.ratesPerS ?? []]]) {
  if (rates.some((rate) => !Number.isFinite(rate) || rate <= 0)) throw new Error(`${name} is a comma-separated list of positive numbers, not ${env[name]}`);
}
const server = env.TEST_DATABASE_SERVER_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432';
const rabbitmqUrl = env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const port = Number(env.BENCH_PORT ?? 3900);
const retryDelaysMs = (env.CONSUMER_RETRY_DELAYS_MS ?? '1000,5000,30000').split(',').map(Number);
const suffix = randomBytes(4).toString('hex');
const startedAt = new Date().toISOString();
const began = performance.now();
const loadAverage = os.loadavg()[0];

const admin = new pg.Client({ connectionString: `${server}/postgres` });
await admin.connect().catch((error) => {
  throw new Error(`PostgreSQL at ${server} is not reachable (${error.message}): start it first (.ci/run does)`);
});
await amqp
  .connect(rabbitmqUrl)
  .then((connection) => connection.close())
  .catch((error) => {
    throw new Error(`RabbitMQ at ${rabbitmqUrl} is not reachable (${error.message}): start it first (.ci/run does)`);
  });
const rawFolder = settings.raw === 'off' ? null : rawPipelineAt(settings.rawFolder);
if (settings.raw !== 'off' && settings.raw !== 'auto') throw new Error(`BENCH_RAW is auto or off, not ${settings.raw}`);
if (settings.raw === 'auto' && !rawFolder) progress(`no raw pipeline at ${settings.rawFolder}: the project runs alone`);

/** What the run created, removed by cleanUp. */
const owned = { children: [], databases: [], tasks: [] };
let cleaning;
const cleanUp = () =>
  (cleaning ??= (async () => {
    for (const child of owned.children) await stop(child);
    for (const name of owned.databases) {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch((error) => progress(`could not drop ${name}: ${error.message}`));
    }
    await admin.end().catch(() => {});
    for (const task of owned.tasks) await task().catch((error) => progress(`could not remove a broker name of the run: ${error.message}`));
  })());
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    progress(`${signal}: cleaning up`);
    void cleanUp().finally(() => process.exit(130));
  });
}

const pipelines = [];
const meter = cpuMeter({
  admin,
  databases: () => owned.databases,
  processes: () => Object.assign({}, ...pipelines.map((pipeline) => pipeline.processes())),
});
const common = { admin, server, rabbitmqUrl, suffix, owned, loadSampleMs: settings.loadSampleMs, drainSampleMs: settings.drainSampleMs };

try {
  const records = [];
  const runs = [];
  const failures = [];

  const store = settings.storeEvents > 0 ? await prefilledStore({ admin, server, events: settings.storeEvents }) : null;
  const project = await startProject({ ...common, port, saga: settings.saga, retryDelaysMs, store });
  pipelines.push(project);
  const projectSteps = await runSteps(project, null);
  pipelines.pop();
  runs.push({ pipeline: project.label, ...(await project.finish()) });

  let rawSteps = [];
  if (rawFolder) {
    const raw = await startRaw({ ...common, folder: rawFolder, port: port + 2 });
    pipelines.push(raw);
    rawSteps = await runSteps(raw, projectSteps.slice(1).map((step) => ({ name: step.name, rate: step.rate })));
    pipelines.pop();
    runs.push({ pipeline: raw.label, ...(await raw.finish()) });
  }

  for (const step of [...projectSteps, ...rawSteps]) {
    const record = stepRecord(step);
    records.push(record);
    const where = `${record.pipeline}, ${record.step}`;
    const { non2xx, errors, firstError } = record.requestFailures;
    if (non2xx > 0 || errors > 0) failures.push(`${where}: ${non2xx} non-2xx answers, ${errors} errors (first: ${firstError})`);
    if (record.missingFromWriteModel > 0) failures.push(`${where}: ${record.missingFromWriteModel} accepted orders missing from the write model`);
    if (record.lost > 0) failures.push(`${where}: ${record.lost} accepted orders missing from the consumer's read model`);
    if (record.duplicated > 0) failures.push(`${where}: ${record.duplicated} consumer effects applied twice`);
    if (record.orders?.undecided > 0) failures.push(`${where}: ${record.orders.undecided} orders still undecided`);
    const timeouts = Object.entries(record.orders?.rejectedBecause ?? {}).filter(([reason]) => /timeout/i.test(reason));
    if (timeouts.length > 0) failures.push(`${where}: ${timeouts.reduce((sum, [, count]) => sum + count, 0)} orders rejected for timeout`);
  }
  for (const run of runs) if (run.eventsLost > 0) failures.push(`${run.pipeline}: ${run.eventsLost} events never reached the consumer`);

  const header =
    `POST /orders: closed loop (${settings.connections} connections), then open loop at ${settings.ratesPerS ? `${settings.ratesPerS.join(' / ')} commands/s` : `${settings.ratesPercent.join(' / ')} % of its accepted rate`};` +
    ` ${settings.secondsPerStep} s per step; saga ${settings.saga ? 'on' : 'off'}; store ${settings.storeEvents > 0 ? `pre-filled with ${settings.storeEvents.toLocaleString('en')} events` : 'empty'}; ${startedAt}` +
    ` (${os.cpus().length} cores, load average ${loadAverage.toFixed(2)} before the run); ${Math.round((performance.now() - began) / 1000)} s from start to report`;
  const targets = issueTargets({
    saga: settings.saga,
    project: records.filter((record) => record.pipeline.startsWith('project')),
    raw: records.filter((record) => record.pipeline === 'raw pipeline'),
  });
  printReport({ header, records, runs, failures, targets });
  const file = writeResults({ startedAt, tookS: (performance.now() - began) / 1000, settings, machine: { cores: os.cpus().length, loadAverageBefore: loadAverage }, runs, steps: records, targets, failures });
  progress(`results written to ${file}`);
  const unmet = targets.filter(({ met }) => !met);
  if (failures.length > 0) process.exitCode = 1;
  else if (settings.targetsStrict && unmet.length > 0) {
    console.log(`BENCH_TARGETS=strict: ${unmet.length} of issue 10's targets not met`);
    process.exitCode = 2;
  }
} finally {
  await cleanUp();
}

/** The saturation step, then one open-loop step per rate: `plan` ([{ name, rate }]), else BENCH_RATES_PER_S, else BENCH_RATES of the saturation rate. */
async function runSteps(pipeline, plan) {
  const saturation = await runStep(pipeline, 'saturation', null);
  plan ??= settings.ratesPerS?.map((rate) => ({ name: `${rate}/s`, rate }));
  const sustained = sustainedRate(saturation);
  plan ??= settings.ratesPercent.map((percent) => ({ name: `${percent} %`, rate: Math.max(1, Math.round((sustained * percent) / 100)) }));
  const steps = [saturation];
  for (const { name, rate } of plan) steps.push(await runStep(pipeline, name, rate));
  return steps;
}

/**
 * A step's accepted commands over the load and the drain after it (until every reader was at the
 * head): the rate at which the pipeline did all of its work, every order decided and every event
 * delivered. A closed loop accepts faster than that for a while when a reader falls behind (the
 * saga: its lag grows until admission control sheds); the fixed-rate steps are percentages of it.
 */
function sustainedRate(step) {
  return step.load.accepted / ((step.load.durationMs + step.drain.drainedMs) / 1000);
}

/** One step: load, wait until every reader is at the head, CPU over both, then the step's figures. */
async function runStep(pipeline, name, rate) {
  // Its customers first, outside what the step measures (their registrations settle while the sampler starts).
  const bodies = await pipeline.bodiesForStep();
  const cpuBefore = await meter.snapshot();
  const watcher = await pipeline.watch();
  const live = { sent: 0, accepted: 0 };
  const title = `${pipeline.label} · ${name} ${rate === null ? `(closed loop, ${settings.connections} connections)` : `(${rate}/s)`}`;
  let phase = 'load';
  let phaseStartedAt = performance.now();
  const ticker = setInterval(() => {
    const elapsed = ((performance.now() - phaseStartedAt) / 1000).toFixed(0);
    progress(`${title} · ${phase} ${elapsed} s · sent ${live.sent} · accepted ${live.accepted} · ${watcher.lag()}`);
  }, 1000);
  let load;
  let drain;
  try {
    load = await runLoad({ origin: pipeline.origin, path: pipeline.path, bodies, headers: pipeline.headers, connections: settings.connections, seconds: settings.secondsPerStep, rate, live });
    watcher.loadStopped();
    phase = 'draining';
    phaseStartedAt = performance.now();
    drain = await watcher.drained(settings.drainTimeoutMs);
  } finally {
    clearInterval(ticker);
  }
  const cpu = meter.difference(cpuBefore, await meter.snapshot());
  progress(`${title} · ${load.accepted} accepted (${Math.round(load.acceptedPerS)}/s), every reader at the head ${Math.round(drain.drainedMs)} ms after the load (${Math.round(load.accepted / ((load.durationMs + drain.drainedMs) / 1000))}/s sustained)`);
  return { pipeline: pipeline.label, name, rate, load, drain, cpu, ...(await pipeline.measure(load)) };
}
