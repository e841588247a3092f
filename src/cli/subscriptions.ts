import 'reflect-metadata';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { loadEnvironment } from '../config/environment';
import { pgPoolOptions } from '../database/pool-options';
import { pauseSubscription, readSubscriptionStatuses, requestRetry, resumeSubscription, skipFailingEvent, SubscriptionFailure, SubscriptionPause, SubscriptionStatus } from '../event-store';

const USAGE = `Usage: npm run subscriptions -- <command>

  list                                    every reader of the event store (projections, the relay, reactions):
                                          checkpoint, lag in events and seconds, and the event it is stopped at;
                                          one split into segments: its slowest segment, then each segment and
                                          the process (lease session) holding it
  retry <subscription>                    wake it now: it tries the event it is stopped at again (fix the cause first)
  skip <subscription> --event <id> --reason <text> [--by <name>]
                                          move its checkpoint past that event, only if it is the one the
                                          subscription is stopped at; recorded in skipped_events (who, when, why)
  pause <subscription> --reason <text> [--by <name>]
                                          stop it taking events, in every process and across restarts, until
                                          resumed; its checkpoint stays (a projection: the batch it is applying
                                          commits first; a reaction or the relay: the one it is working on)
  resume <subscription>                   let a paused subscription go on from its checkpoint

A running API picks a retry, a skip or a resume up at once (NOTIFY). Reads DATABASE_URL.
The API offers the same under /admin/subscriptions.
Exit status: 0 done, 1 refused (unknown subscription, not stopped at that event, already paused,
not paused), 2 usage.`;

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { event: { type: 'string' }, reason: { type: 'string' }, by: { type: 'string' }, help: { type: 'boolean' } },
  });
  const [command, subscriptionId, ...extra] = positionals;
  const valid =
    extra.length === 0 &&
    ((command === 'list' && !subscriptionId) ||
      (command === 'retry' && !!subscriptionId) ||
      (command === 'skip' && !!subscriptionId && !!values.event && !!values.reason?.trim()) ||
      (command === 'pause' && !!subscriptionId && !!values.reason?.trim()) ||
      (command === 'resume' && !!subscriptionId));
  if (values.help || !valid) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }

  const { DATABASE_URL } = loadEnvironment(process.env);
  const dataSource = new DataSource({ type: 'postgres', url: DATABASE_URL, extra: pgPoolOptions(1) });
  await dataSource.initialize();
  try {
    const statuses = await readSubscriptionStatuses(dataSource);
    if (command === 'list') {
      for (const status of statuses) process.stdout.write(`${describeStatus(status)}\n`);
      const stopped = statuses.filter((status) => status.failure).length;
      const paused = statuses.filter((status) => status.paused).length;
      process.stderr.write(`${statuses.length} subscription(s), ${stopped} stopped, ${paused} paused\n`);
      return 0;
    }

    const status = statuses.find((candidate) => candidate.subscriptionId === subscriptionId);
    if (!status) {
      process.stderr.write(`no subscription named ${subscriptionId}; there are: ${statuses.map((s) => s.subscriptionId).join(', ')}\n`);
      return 1;
    }

    if (command === 'retry') {
      await requestRetry(dataSource, subscriptionId);
      const what = status.failure ? `it tries ${describeFailure(status.failure)} again` : 'it is not stopped at any event';
      process.stderr.write(`retry requested for ${subscriptionId}: ${what}\n`);
      return 0;
    }

    const by = values.by ?? userInfo().username;
    if (command === 'pause') {
      const paused = await pauseSubscription(dataSource, subscriptionId, { by, reason: values.reason!.trim() });
      if (paused.outcome === 'paused') {
        process.stderr.write(`${subscriptionId} paused by ${by}; it takes no event until resumed\n`);
        return 0;
      }
      process.stderr.write(
        paused.outcome === 'already-paused' ? `refused: ${subscriptionId} is already ${describePause(paused.pause)}\n` : `no subscription named ${subscriptionId}\n`,
      );
      return 1;
    }
    if (command === 'resume') {
      const resumed = await resumeSubscription(dataSource, subscriptionId);
      if (resumed.outcome === 'resumed') {
        process.stderr.write(`${subscriptionId} resumed (it was ${describePause(resumed.pause)})\n`);
        return 0;
      }
      process.stderr.write(resumed.outcome === 'not-paused' ? `refused: ${subscriptionId} is not paused\n` : `no subscription named ${subscriptionId}\n`);
      return 1;
    }
    const result = await skipFailingEvent(dataSource, subscriptionId, { eventId: values.event!, by, reason: values.reason!.trim() });
    switch (result.outcome) {
      case 'skipped':
        process.stderr.write(`${subscriptionId} skipped ${describeFailure(result.failure)}; recorded as skipped by ${by}\n`);
        return 0;
      case 'unknown-subscription':
        process.stderr.write(`no subscription named ${subscriptionId}\n`);
        return 1;
      case 'not-stopped':
        process.stderr.write(`refused: ${subscriptionId} is not stopped at any event, so there is nothing to skip\n`);
        return 1;
      case 'stopped-at-another-event':
        process.stderr.write(
          `refused: ${subscriptionId} is stopped at ${describeFailure(result.failure)}, not at event ${values.event}; ` +
            'only the event it is stopped at can be skipped\n',
        );
        return 1;
    }
  } finally {
    await dataSource.destroy();
  }
}

function describeFailure(failure: SubscriptionFailure): string {
  return `${failure.eventType} ${failure.eventId} (position ${failure.globalPosition})`;
}

function describePause({ by, reason, since }: SubscriptionPause): string {
  return `paused by ${by} since ${since.toISOString()}: ${reason}`;
}

function describeState(failure: SubscriptionFailure | undefined): string {
  return failure
    ? `STOPPED at ${describeFailure(failure)}, ${failure.attempts} attempt(s) since ${failure.since.toISOString()}: ${failure.error}`
    : 'ok';
}

/** One line per reader (its slowest segment's figures), then one indented line per segment when it is split. */
function describeStatus({ subscriptionId, checkpoint, lagEvents, lagSeconds, failure, paused, segments }: SubscriptionStatus): string {
  const pause = paused ? `\tPAUSED: ${describePause(paused)}` : '';
  const lines = [`${subscriptionId}\tcheckpoint ${checkpoint}\tlag ${lagEvents} event(s), ${lagSeconds} s\t${describeState(failure)}${pause}`];
  for (const segment of segments ?? []) {
    lines.push(
      `  segment ${segment.segment}/${segments!.length}\tcheckpoint ${segment.checkpoint}\tlag ${segment.lagEvents} event(s), ${segment.lagSeconds} s\t` +
        `${segment.heldBy ? `held by ${segment.heldBy}` : 'held by no process'}\t${describeState(segment.failure)}`,
    );
  }
  return lines.join('\n');
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
