import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsRegistry } from '../metrics/metrics-registry';

/** What became of a command the door did not let through at once; each such command is counted once. */
export type DoorDecision = 'delayed' | 'left' | 'shed';

/**
 * The door's work (AdmissionControl), each command it held back counted once, by what became of
 * it: `eda_admission_commands_total{decision}`, `delayed` (waited at the door, then ran), `left`
 * (waited, and its client went away meanwhile: not run) and `shed` (refused with 503 `LOAD_SHED`,
 * at once or once its wait was over, the lag having passed the bound meanwhile); their sum is every
 * command held back. `eda_admission_wait_seconds_total`: the time commands spent waiting at the
 * door, in all, whatever became of them. Commands let through at once are not counted: every
 * request is in `http_request_duration_seconds`, which includes its wait.
 */
@Injectable()
export class AdmissionMetrics {
  private readonly commands: Counter<'decision'>;
  private readonly waited: Counter;

  constructor(registry: MetricsRegistry) {
    this.commands = new Counter({
      name: 'eda_admission_commands_total',
      help: 'Commands admission control held back, each counted once by what became of it: delayed (waited at the door, then ran), left (waited, and their client went away meanwhile: not run), shed (503 LOAD_SHED, at once or after their wait)',
      labelNames: ['decision'],
      registers: [registry],
    });
    this.waited = new Counter({ name: 'eda_admission_wait_seconds_total', help: 'Seconds commands spent waiting at the door, in all, whatever became of them', registers: [registry] });
  }

  count(decision: DoorDecision, waitedMs: number): void {
    this.commands.inc({ decision });
    if (waitedMs > 0) this.waited.inc(waitedMs / 1000);
  }
}
