import { issueTargets } from './targets.mjs';

/** A step record with the fields issueTargets reads (report.mjs stepRecord). */
function record(pipeline, step, { perS, e2eP99, cpu, decidedP99, noticeP99, drainedMs = 40, lost = 0, duplicated = 0, undecided = 0, timeouts = 0, shed = 0 }) {
  return {
    pipeline,
    step,
    acceptedPerS: perS,
    sustainedPerS: perS,
    shed,
    e2eMs: { p99: e2eP99 },
    cpuMsPerOrder: { total: cpu },
    drainedAfterMs: drainedMs,
    lost,
    duplicated,
    orders:
      decidedP99 === undefined
        ? undefined
        : { undecided, placedToDecidedMs: { p99: decidedP99 }, placedToNoticeMs: { p99: noticeP99 }, rejectedBecause: timeouts ? { timeout: timeouts } : {} },
  };
}

describe('issue 10 targets judged on a run', () => {
  it('saga off: throughput at saturation, the worst step of e2e p99 and of CPU per order, drain, and timeouts', () => {
    const project = [
      record('project', 'saturation', { perS: 920, e2eP99: 100, cpu: 2.0 }),
      record('project', '25 %', { perS: 230, e2eP99: 30, cpu: 6 }),
      record('project', '50 %', { perS: 460, e2eP99: 90, cpu: 4.6, drainedMs: 1200 }),
    ];
    const raw = [
      record('raw pipeline', 'saturation', { perS: 1000, e2eP99: 80, cpu: 1.5 }),
      record('raw pipeline', '25 %', { perS: 230, e2eP99: 25, cpu: 4 }),
      record('raw pipeline', '50 %', { perS: 460, e2eP99: 45, cpu: 3 }),
    ];
    const rows = issueTargets({ saga: false, project, raw });

    expect(rows.map(({ met: yes }) => yes)).toEqual([true, false, false, false, true]);
    expect(rows[0].measured).toBe('920 / 1000 sustained = 0.92×');
    // e2e p99: 1.20× (25 %) to 2.00× (50 %); the worst step decides.
    expect(rows[1].measured).toBe('1.20× (25 %) to 2.00× (50 %)');
    // CPU per order over the fixed rates only: 1.50× and 1.53×.
    expect(rows[2].measured).toBe('1.50× (25 %) to 1.53× (50 %)');
    expect(rows[3].measured).toBe('slowest 1200 ms (50 %)');
  });

  it('saga on: the latency targets are read at the 50 % step, and an undecided order fails the throughput target', () => {
    const project = [
      record('project', 'saturation', { perS: 700, e2eP99: 900, cpu: 6, decidedP99: 3000, noticeP99: 3100, undecided: 2 }),
      record('project', '25 %', { perS: 175, e2eP99: 60, cpu: 12, decidedP99: 90, noticeP99: 120 }),
      record('project', '50 %', { perS: 350, e2eP99: 80, cpu: 8.7, decidedP99: 149, noticeP99: 251 }),
    ];
    const raw = [
      record('raw pipeline', 'saturation', { perS: 1000, e2eP99: 80, cpu: 1.5 }),
      record('raw pipeline', '25 %', { perS: 175, e2eP99: 25, cpu: 4 }),
      record('raw pipeline', '50 %', { perS: 350, e2eP99: 45, cpu: 3 }),
    ];
    const rows = issueTargets({ saga: true, project, raw });

    expect(rows.map(({ met: yes }) => yes)).toEqual([false, true, false, true, true, true]);
    expect(rows[0].measured).toBe('700 / 1000 sustained = 0.70×, not every order decided and delivered');
    expect(rows[1].measured).toBe('149 ms at 350/s');
    expect(rows[2].measured).toBe('251 ms at 350/s');
    // Exactly at the ceiling is met.
    expect(rows[3].measured).toBe('2.90× (50 %) to 3.00× (25 %)');
  });

  it('counts what the run did not measure as not met: no raw pipeline, no 50 % step', () => {
    const project = [
      record('project', 'saturation', { perS: 700, e2eP99: 900, cpu: 6, decidedP99: 3000, noticeP99: 3100 }),
      record('project', '120/s', { perS: 120, e2eP99: 60, cpu: 12, decidedP99: 90, noticeP99: 120, timeouts: 1 }),
    ];
    const rows = issueTargets({ saga: true, project, raw: [] });

    expect(rows.slice(0, 4).map(({ measured }) => measured)).toEqual(['not measured', 'not measured', 'not measured', 'not measured']);
    expect(rows.slice(0, 4).every(({ met: yes }) => !yes)).toBe(true);
    expect(rows[5]).toMatchObject({ measured: '1 rejected for timeout, 0 lost, 0 doubled; 0 commands shed', met: false });
  });
  it('does not count a throughput ratio over a raw pipeline that accepted nothing as met (project ÷ 0 is Infinity)', () => {
    const rows = issueTargets({
      saga: false,
      project: [record('project', 'saturation', { perS: 920, e2eP99: 100, cpu: 2.0 })],
      raw: [record('raw pipeline', 'saturation', { perS: 0, e2eP99: 80, cpu: 1.5 })],
    });
    expect(rows[0]).toMatchObject({ measured: 'not measured', met: false });
  });
});
