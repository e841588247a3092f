import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsRegistry } from '../metrics/metrics-registry';

/** What the door did with a command it did not let through at once. */
export type DoorDecision = 'delayed' | 'left' | 'shed';

/**
 * The door's work (AdmissionControl): `eda_admission_commands_total{decision}`, commands that
 * waited (`delayed`), of those the ones whose client went away while they waited and so never ran
 * (`left`), and commands refused with 503 `LOAD_SHED` (`shed`); `eda_admission_wait_seconds_total`,
 * the waits set, in all. Commands let through at once are not counted: every request is in
 * `http_request_duration_seconds`, which includes its wait.
 */
@Injectable()
export class AdmissionMetrics {
  private readonly commands: Counter<'decision'>;
  private readonly waited: Counter;

  constructor(registry: MetricsRegistry) {
    this.commands = new Counter({
      name: 'eda_admission_commands_total',
      help: 'Commands admission control held back: delayed (waited at the door, then ran), left (delayed, and their client went away meanwhile: not run), shed (503 LOAD_SHED)',
      labelNames: ['decision'],
      registers: [registry],
    });
    this.waited = new Counter({ name: 'eda_admission_wait_seconds_total', help: 'Seconds commands were set to wait at the door, in all', registers: [registry] });
  }

  count(decision: DoorDecision, waitMs = 0): void {
    this.commands.inc({ decision });
    if (waitMs > 0) this.waited.inc(waitMs / 1000);
  }
}
