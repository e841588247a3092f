// Issue 10's targets, judged on one run's step records (report.mjs stepRecord): each target with
// what the run measured and whether it met it. The ratios are the project's figure over the
// hand-written pipeline's in the same run; a target whose steps the run did not have (no raw
// pipeline, no 50 % step) is `not measured`, which counts as not met.

/** A target's ceiling or floor on a ratio, e.g. 1.5 for "≤ 1.5×". */
const SAGA_OFF = { throughputAtLeast: 0.9, e2eP99AtMost: 1.5, cpuPerOrderAtMost: 1.5 };
const SAGA_ON = { throughputAtLeast: 0.6, decidedP99AtMostMs: 150, noticeP99AtMostMs: 250, cpuPerOrderAtMost: 3 };
/** "The outbox and every subscription back to zero lag within 1 s after the load stops." */
const DRAINED_WITHIN_MS = 1000;
/** The step the latency targets are read at: "at half of the project's own saturation rate". */
const HALF_OF_SATURATION = '50 %';

const times = (value) => `${value.toFixed(2)}×`;
const millis = (value) => `${Math.round(value)} ms`;

/**
 * The targets of issue 10 for a run with the saga on or off.
 *
 * `project` and `raw`: the step records of each pipeline (`raw` empty when the hand-written
 * pipeline did not run); the first of each is the saturation step (closed loop), the others are
 * the fixed rates, the raw pipeline's at the project's rates and with the same names.
 * Returns `[{ target, measured, met }]`, `met` a boolean, `measured` a short text for the report.
 */
export function issueTargets({ saga, project, raw }) {
  const rows = [];
  const pairs = project.map((p) => ({ p, r: raw.find((candidate) => candidate.step === p.step) })).filter(({ r }) => r);
  const saturation = pairs.find(({ p }) => p.step === 'saturation');
  const fixedRates = pairs.filter(({ p }) => p.step !== 'saturation');
  const limits = saga ? SAGA_ON : SAGA_OFF;

  // Sustained: accepted over the load and its drain, so every order decided and every event delivered.
  const throughput = saturation && saturation.p.sustainedPerS / saturation.r.sustainedPerS;
  const everyOneDone = (record) => record.lost === 0 && (record.duplicated ?? 0) === 0 && (!record.orders || record.orders.undecided === 0);
  rows.push(
    valueRow(
      saga
        ? `saga on: accepted orders/s at saturation, every order decided and every event delivered, ≥ ${limits.throughputAtLeast}×`
        : `saga off: accepted and delivered commands/s at saturation ≥ ${limits.throughputAtLeast}×`,
      throughput,
      (value) => value >= limits.throughputAtLeast && everyOneDone(saturation.p),
      saturation && `${Math.round(saturation.p.sustainedPerS)} / ${Math.round(saturation.r.sustainedPerS)} sustained = ${times(throughput)}${everyOneDone(saturation.p) ? '' : ', not every order decided and delivered'}`,
    ),
  );

  if (!saga) {
    rows.push(worstRatioRow(`saga off: e2e p99 ≤ ${limits.e2eP99AtMost}× at every step`, pairs, (record) => record.e2eMs?.p99, limits.e2eP99AtMost));
  } else {
    const half = project.find((record) => record.step === HALF_OF_SATURATION);
    const decided = half?.orders?.placedToDecidedMs?.p99;
    const notice = half?.orders?.placedToNoticeMs?.p99;
    const at = half && `at ${Math.round(half.acceptedPerS)}/s`;
    rows.push(
      valueRow(`saga on: placed → decided p99 ≤ ${limits.decidedP99AtMostMs} ms at half of saturation`, decided, (value) => value <= limits.decidedP99AtMostMs, decided !== undefined && decided !== null && `${millis(decided)} ${at}`),
      valueRow(`saga on: placed → consumer notice p99 ≤ ${limits.noticeP99AtMostMs} ms at half of saturation`, notice, (value) => value <= limits.noticeP99AtMostMs, notice !== undefined && notice !== null && `${millis(notice)} ${at}`),
    );
  }
  rows.push(
    worstRatioRow(`${saga ? 'saga on' : 'saga off'}: CPU per order ≤ ${limits.cpuPerOrderAtMost}× at every fixed rate`, fixedRates, (record) => record.cpuMsPerOrder?.total, limits.cpuPerOrderAtMost),
  );

  const drains = project.map((record) => ({ step: record.step, ms: record.drainedAfterMs }));
  const slowest = drains.reduce((worst, drain) => (worst === undefined || !(drain.ms <= worst.ms) ? drain : worst), undefined);
  rows.push(
    valueRow(
      `every reader at the head within ${DRAINED_WITHIN_MS} ms after the load`,
      slowest?.ms,
      () => drains.every(({ ms }) => ms <= DRAINED_WITHIN_MS),
      slowest && `slowest ${millis(slowest.ms)} (${slowest.step})`,
    ),
  );

  const timeouts = project.reduce((sum, record) => sum + Object.entries(record.orders?.rejectedBecause ?? {}).filter(([reason]) => /timeout/i.test(reason)).reduce((count, [, n]) => count + n, 0), 0);
  const lost = project.reduce((sum, record) => sum + (record.lost ?? 0), 0);
  const duplicated = project.reduce((sum, record) => sum + (record.duplicated ?? 0), 0);
  rows.push({
    target: 'no order rejected for timeout (load is shed at the door instead); none lost or doubled',
    measured: `${timeouts} rejected for timeout, ${lost} lost, ${duplicated} doubled; ${project.reduce((sum, record) => sum + (record.shed ?? 0), 0)} commands shed`,
    met: timeouts === 0 && lost === 0 && duplicated === 0,
  });
  return rows;
}

function valueRow(target, value, meets, measured) {
  // Infinity too: a ratio over a raw figure of 0 (a raw pipeline that accepted nothing) measures nothing.
  if (typeof value !== 'number' || !Number.isFinite(value)) return { target, measured: 'not measured', met: false };
  return { target, measured, met: meets(value) };
}

/** The worst step's ratio of `figure` (project ÷ raw) against `atMost`, with the range over the steps. */
function worstRatioRow(target, pairs, figure, atMost) {
  const ratios = pairs
    .map(({ p, r }) => ({ step: p.step, ratio: figure(p) / figure(r) }))
    .filter(({ ratio }) => Number.isFinite(ratio));
  if (ratios.length === 0) return { target, measured: 'not measured', met: false };
  const worst = ratios.reduce((a, b) => (b.ratio > a.ratio ? b : a));
  const best = ratios.reduce((a, b) => (b.ratio < a.ratio ? b : a));
  return { target, measured: `${times(best.ratio)} (${best.step}) to ${times(worst.ratio)} (${worst.step})`, met: worst.ratio <= atMost };
}
