import { mkdirSync, writeFileSync } from 'node:fs';
import hdr from 'hdr-histogram-js';
import { OTHER_DATABASES } from './cpu.mjs';
import { summary } from './histogram.mjs';

const CPU_GROUPS = ['API', 'consumer', 'postgres', 'rabbitmq', 'load generator', 'total'];

const n = (value, digits = 0) =>
  value === null || value === undefined || Number.isNaN(value) ? '–' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
/** Latencies: three significant digits below 100 ms, whole ms above. */
const ms = (value) => (value === null || value === undefined ? '–' : value < 100 ? String(Number(value.toPrecision(3))) : n(value));
const ratio = (a, b) => (a === null || b === null || a === undefined || b === undefined || b === 0 ? '–' : `${(a / b).toFixed(2)}×`);
const table = (header, rows) => [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');

/** A step as it goes into the JSON: summaries of every histogram, plus the histogram itself (compressed HdrHistogram, base64). */
export function stepRecord(step) {
  const histogram = (h) => h && { ...summary(h), hdr: hdr.encodeIntoCompressedBase64(h) };
  const { load, decisions } = step;
  return {
    pipeline: step.pipeline,
    step: step.name,
    offeredPerS: step.rate,
    sent: load.sent,
    accepted: load.accepted,
    shed: load.shed ?? 0,
    acceptedPerS: load.acceptedPerS,
    /** Accepted over the load and the drain after it (commands.mjs sustainedRate). */
    sustainedPerS: load.accepted / ((load.durationMs + step.drain.drainedMs) / 1000),
    requestFailures: load.failures,
    httpMs: histogram(load.http),
    e2eMs: histogram(step.e2e),
    recordedToAppliedMs: histogram(step.recordedToApplied),
    missingFromWriteModel: step.missingFromWriteModel,
    lost: step.lost,
    duplicated: step.duplicated,
    orders: decisions && {
      placed: decisions.placed,
      decided: decisions.decided,
      undecided: decisions.undecided,
      confirmed: decisions.confirmed,
      rejected: decisions.rejected,
      rejectedBecause: decisions.reasons,
      placedToDecidedMs: histogram(decisions.placedToDecided),
      placedToNoticeMs: histogram(decisions.placedToNotice),
    },
    drainedAfterMs: step.drain.drainedMs,
    readers: step.drain.readers,
    cpuMs: step.cpu,
    cpuMsPerOrder: Object.fromEntries(Object.entries(step.cpu).map(([group, value]) => [group, value / load.accepted])),
  };
}

export function printReport({ header, records, runs, failures, targets }) {
  const lines = [header, ''];
  lines.push(
    table(
      ['pipeline', 'step', 'offered /s', 'accepted /s', 'sustained /s (load + drain)', 'accepted', 'shed (503)', 'HTTP p50 / p99 (ms)', 'e2e p50 / p99 / p99.9 (ms)', 'placed → decided p50 / p99 (ms)', 'lost', 'duplicated', 'drained after (ms)'],
      records.map((r) => [
        r.pipeline,
        r.step,
        r.offeredPerS === null ? 'closed loop' : n(r.offeredPerS),
        n(r.acceptedPerS),
        n(r.sustainedPerS),
        n(r.accepted),
        n(r.shed),
        `${ms(r.httpMs.p50)} / ${ms(r.httpMs.p99)}`,
        `${ms(r.e2eMs.p50)} / ${ms(r.e2eMs.p99)} / ${ms(r.e2eMs.p999)}`,
        r.orders ? `${ms(r.orders.placedToDecidedMs.p50)} / ${ms(r.orders.placedToDecidedMs.p99)}` : '–',
        n(r.lost),
        r.duplicated === null ? 'n/a' : n(r.duplicated),
        n(r.drainedAfterMs),
      ]),
    ),
  );
  lines.push('', 'CPU per accepted order (ms), utime + stime from /proc, from the start of the load until every reader was at the head');
  lines.push(
    table(
      ['pipeline', 'step', ...CPU_GROUPS, `${OTHER_DATABASES}`],
      records.map((r) => [r.pipeline, r.step, ...CPU_GROUPS.map((group) => n(r.cpuMsPerOrder[group], 2)), n(r.cpuMsPerOrder[OTHER_DATABASES], 2)]),
    ),
  );

  const project = records.filter((r) => r.pipeline.startsWith('project'));
  const raw = records.filter((r) => r.pipeline === 'raw pipeline');
  if (raw.length > 0) {
    lines.push('', `${project[0].pipeline} ÷ raw pipeline, step by step (the raw pipeline ran at the project's rates)`);
    lines.push(
      table(
        ['step', 'sustained /s project / raw', 'ratio', 'e2e p99 (ms) project / raw', 'ratio', 'CPU per order (ms) project / raw', 'ratio'],
        project.map((p) => {
          const r = raw.find((candidate) => candidate.step === p.step);
          if (!r) return [p.step, '–', '–', '–', '–', '–', '–'];
          return [
            p.step,
            `${n(p.sustainedPerS)} / ${n(r.sustainedPerS)}`,
            ratio(p.sustainedPerS, r.sustainedPerS),
            `${ms(p.e2eMs.p99)} / ${ms(r.e2eMs.p99)}`,
            ratio(p.e2eMs.p99, r.e2eMs.p99),
            `${n(p.cpuMsPerOrder.total, 2)} / ${n(r.cpuMsPerOrder.total, 2)}`,
            ratio(p.cpuMsPerOrder.total, r.cpuMsPerOrder.total),
          ];
        }),
      ),
    );
  }

  if (project.some((r) => r.orders)) {
    lines.push('', 'orders of each step (saga): placed / decided / undecided, confirmed / rejected (why), placed → consumer notice of the decision p50 / p99 (ms)');
    for (const r of project) {
      const o = r.orders;
      const why = Object.entries(o.rejectedBecause).map(([reason, count]) => `${reason} ${n(count)}`).join(', ') || '–';
      lines.push(`- ${r.step}: ${n(o.placed)} / ${n(o.decided)} / ${n(o.undecided)}, ${n(o.confirmed)} / ${n(o.rejected)} (${why}), ${ms(o.placedToNoticeMs.p50)} / ${ms(o.placedToNoticeMs.p99)}`);
    }
  }

  const readerIds = [...new Set(project.flatMap((r) => (r.readers ?? []).map((reader) => reader.id)))];
  if (readerIds.length > 0) {
    lines.push('', 'reader lag of the project per step: worst during the load, events / age (ms) · reached the head for good after the load (ms)');
    lines.push(
      table(
        ['reader', ...project.map((r) => r.step)],
        readerIds.map((id) => [
          id,
          ...project.map((r) => {
            const reader = r.readers.find((candidate) => candidate.id === id);
            return reader ? `${n(reader.maxEvents)} / ${reader.id.startsWith('consumer') ? '–' : n(reader.maxAgeMs)} · ${n(reader.atHeadAfterMs)}` : '–';
          }),
        ]),
      ),
    );
  }
  for (const run of runs) if (run.transactionsPerCommand !== undefined) lines.push('', `${run.pipeline}: PostgreSQL transactions per command (xact_commit, every step): ${n(run.transactionsPerCommand, 2)}; events stored ${n(run.eventsStored)}, never reached the consumer ${n(run.eventsLost)}`);
  for (const run of runs.filter((candidate) => candidate.ioPerOrder)) {
    lines.push('', `${run.pipeline}: I/O per accepted order over the whole run (BENCH_COUNT_IO): socket writes by peer, statements sent`);
    for (const [name, io] of Object.entries(run.ioPerOrder)) {
      const writes = Object.entries(io.socketWrites).map(([peer, perOrder]) => `${peer} ${n(perOrder, 2)}`).join(', ');
      lines.push(`- ${name}: socket writes ${writes}; statements ${n(io.statements, 2)}, most sent:`);
      for (const { text, perOrder } of io.topStatements) lines.push(`  - ${n(perOrder, 3)} \`${text}\``);
    }
  }
  if (targets) {
    lines.push('', "issue 10's targets, judged on this run (ratios: project ÷ raw pipeline in this run)");
    lines.push(table(['target', 'measured', 'met?'], targets.map(({ target, measured, met }) => [target, measured, met ? 'yes' : 'no'])));
  }
  for (const failure of failures) lines.push(`FAILED: ${failure}`);
  console.log(lines.join('\n'));
}

export function writeResults(results) {
  const folder = new URL('./results/', import.meta.url);
  mkdirSync(folder, { recursive: true });
  const file = new URL(`${results.startedAt.replace(/[:.]/g, '-')}.json`, folder);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file.pathname;
}
