import type { IncomingMessage } from 'node:http';
import { setTimeout } from 'node:timers/promises';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Environment } from '../config/environment';
import { IntegrationEventPublisher } from '../messaging/integration-event-publisher';
import { RELAY_CHECKPOINT } from '../messaging/relay/outbox-relay';
import { sendProblem } from '../http/problem-details.filter';
import { rememberWait } from '../logging/request-line';
import { leaveUnanswered, type Unanswered } from '../tracing/unanswered-request';
import { ADMITTING, AdmissionDecision, AdmissionPolicy, ReaderLag } from './admission-policy';
import { AdmissionMetrics } from './admission.metrics';
import { AsynchronousLag, LagSample, SampledReader } from './asynchronous-lag';

/** The methods of commands; GETs (reads, /health, /docs) are never shed. */
const COMMAND_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/**
 * Operators' requests (the admin API) are never shed either: they are how a backlog gets fixed
 * (a parked reaction retried, a stopped reader skipped), and they add no work to the readers.
 */
const NEVER_SHED_PREFIX = '/admin/';
export const RETRY_AFTER_HEADER = 'retry-after';

/** Whether admission control may shed a request to `path` (no query) with `method`: a command outside the admin API. */
export function isSheddable(method: string, path: string): boolean {
  return COMMAND_METHODS.has(method.toUpperCase()) && !path.startsWith(NEVER_SHED_PREFIX);
}
export const LOAD_SHED_CODE = 'LOAD_SHED';
/**
 * How long the lease of a reader seen running must be seen free before the reader counts as run
 * by no process, in SUBSCRIPTION_LEASE_LOOK_MS: another process takes a free segment within one
 * look (1 s by default), and the reader's backlog is still there meanwhile (a takeover). A reader
 * whose lease this process has never seen held does not count at all, with no grace: its lag is
 * the age of the oldest event it never took, past ADMISSION_DELAY_FROM_LAG_MS (and mostly past
 * ADMISSION_MAX_LAG_MS) from the first sample, so during a grace every process's first commands
 * would wait or be refused (REACTIONS_ENABLED or RELAY_ENABLED false everywhere).
 */
export const UNLEASED_GRACE_LOOKS = 1.5;

/** What the request span of a command dropped at the door says (its client left while it waited). */
export const CLIENT_LEFT_AT_THE_DOOR: Unanswered = {
  errorType: 'CLIENT_LEFT',
  reason: 'the client left while the command waited at the door (admission control): not run, not answered',
};

type Refusal = Extract<AdmissionDecision, { action: 'shed' }>;

/**
 * Admission control of commands: backpressure, then load shedding. When a reader of the event
 * store lags past ADMISSION_DELAY_FROM_LAG_MS, each command waits at the door before it runs, the
 * longer the closer the lag is to ADMISSION_MAX_LAG_MS (AdmissionPolicy, MAX_ADMISSION_DELAY_MS):
 * clients that wait for their answers slow down to what the readers take. Past
 * ADMISSION_MAX_LAG_MS (or ADMISSION_MAX_LAG_EVENTS), a command is answered 503 with
 * `Retry-After` before anything runs: no body parsed, no idempotency key claimed, nothing
 * written. Accepting it would only lengthen the backlog that the saga, the projections and the
 * relay already cannot work off, until orders wait longer than their deadline.
 *
 * The decision is made per sample (AsynchronousLag, a few times a second), never per request: a
 * request reads one field. Each segment of a split subscription is a reader of its own. What does
 * not count, because refusing commands would not help it: a reader stopped at an event it cannot
 * take (its failure is on /health), a reader an operator paused (/admin/subscriptions), a reader that no process runs (its lease never seen held, or free
 * for a while: REACTIONS_ENABLED or RELAY_ENABLED false everywhere), and the relay while RabbitMQ blocks this
 * process's publishing connection (the outbox is the buffer for a broker that is down or alarmed,
 * and commands go on being accepted then; a broker that is down stops the relay at an event).
 */
@Injectable()
export class AdmissionControl implements OnModuleInit {
  private readonly logger = new Logger(AdmissionControl.name);
  private readonly policy: AdmissionPolicy;
  readonly enabled: boolean;
  private decision: AdmissionDecision = ADMITTING;
  private sampleFailed = false;
  /** Readers seen with their lease held at some sample: only such a reader's free lease may be a takeover. */
  private readonly seenLeased = new Set<string>();
  /** Readers seen with their lease free, and since when (ms since the epoch). */
  private readonly unleasedSince = new Map<string, number>();
  private readonly unleasedGraceMs: number;
  /** The stretch of samples that delayed or shed commands, for its two log lines; cleared once the door has been open a while. */
  private episode?: AdmissionEpisode;

  constructor(
    private readonly lag: AsynchronousLag,
    private readonly publisher: IntegrationEventPublisher,
    config: ConfigService<Environment, true>,
    private readonly metrics: AdmissionMetrics,
  ) {
    this.policy = new AdmissionPolicy({
      maxLagMs: config.get('ADMISSION_MAX_LAG_MS', { infer: true }),
      maxLagEvents: config.get('ADMISSION_MAX_LAG_EVENTS', { infer: true }),
      delayFromLagMs: config.get('ADMISSION_DELAY_FROM_LAG_MS', { infer: true }),
    });
    this.enabled = config.get('ADMISSION_CONTROL', { infer: true }) === 'on' && this.policy.enabled;
    this.unleasedGraceMs = UNLEASED_GRACE_LOOKS * config.get('SUBSCRIPTION_LEASE_LOOK_MS', { infer: true });
  }

  onModuleInit(): void {
    this.lag.onSample((sample) => this.onSample(sample));
  }

  /**
   * The decision for this request: undefined to admit it at once, else the wait or the refusal. A
   * command told to wait is counted once its wait is over, by what became of it (afterWait, clientLeft).
   */
  check(request: FastifyRequest): Exclude<AdmissionDecision, { action: 'admit' }> | undefined {
    if (!this.enabled || request.is404 || !isSheddable(request.method, request.url)) return undefined;
    this.lag.demand();
    const decision = this.decision;
    if (decision.action === 'admit') return undefined;
    if (decision.action === 'shed') this.countShed(0);
    else if (this.episode) {
      this.episode.delayed += 1;
      this.episode.delayedMs += decision.delayMs;
    }
    return decision;
  }

  /**
   * Decides again for a command that has waited `waitedMs` at the door, on the latest sample: the
   * lag may have passed the bound meanwhile, and then the door sheds it like any command arriving
   * now. Undefined to run it: at once, never after a second wait, whatever the latest wait is.
   */
  afterWait(waitedMs: number): Refusal | undefined {
    const decision = this.decision;
    if (decision.action === 'shed') {
      this.countShed(waitedMs);
      if (this.episode) this.episode.shedAfterWait += 1;
      return decision;
    }
    this.metrics.count('delayed', waitedMs);
    return undefined;
  }

  /** A command's client went away after it had waited `waitedMs` at the door (it did not run). */
  clientLeft(waitedMs: number): void {
    this.metrics.count('left', waitedMs);
    if (this.episode) this.episode.left += 1;
  }

  private countShed(waitedMs: number): void {
    this.metrics.count('shed', waitedMs);
    if (this.episode) this.episode.shed += 1;
  }

  /** The current decision (tests, logs). */
  get current(): AdmissionDecision {
    return this.decision;
  }

  private onSample(sample: LagSample): void {
    if (!sample.ok) {
      // Without figures the door stays open: a failing database answers the command itself.
      if (!this.sampleFailed) this.logger.warn(`cannot measure the readers' lag, admitting every command meanwhile: ${String(sample.error)}`);
      this.sampleFailed = true;
      this.policy.reset();
      this.decision = ADMITTING;
      return;
    }
    this.sampleFailed = false;
    const before = this.decision;
    this.decision = this.policy.decide(sample.readers.filter((reader) => this.counts(reader, sample.at)).map(toReaderLag));
    // Over, also when sampling stopped before its end (the process stopping, a failing database):
    // waits that begin later are a stretch of their own, with their own first line.
    if (this.episode && sample.at - this.episode.lastAt >= EPISODE_QUIET_MS) this.endEpisode();
    if (this.decision.action === 'admit') {
      // Keep measuring until the stretch is over, so its last line comes then, not at the next traffic.
      if (this.episode) this.lag.demand();
      return;
    }
    // Keep measuring while clients wait, so the door opens again on time.
    this.lag.demand();
    const starting = !this.episode;
    if (!this.episode) {
      this.episode = { startedAt: sample.at, lastAt: sample.at, delayed: 0, delayedMs: 0, left: 0, shedAfterWait: 0, shed: 0 };
      if (this.decision.action === 'delay') this.logger.warn(`delaying commands at the door: ${describe(this.decision.worst)}`);
    }
    this.episode.lastAt = sample.at;
    if (this.decision.action === 'shed' && (starting || before.action !== 'shed')) this.logger.warn(`shedding commands (503): ${describe(this.decision.worst)}`);
  }

  private endEpisode(): void {
    const { startedAt, lastAt, delayed, delayedMs, left, shedAfterWait, shed } = this.episode!;
    this.episode = undefined;
    const notRun = [
      left > 0 ? `${left} of them left by their client while waiting, not run` : '',
      shedAfterWait > 0 ? `${shedAfterWait} of them shed once their wait was over` : '',
    ].filter(Boolean);
    const waits = delayed > 0 ? `${delayed} delayed (${[`${Math.round(delayedMs / delayed)} ms on average`, ...notRun].join(', ')})` : 'none delayed';
    this.logger.log(`admitting every command at once again, after ${((lastAt - startedAt) / 1000).toFixed(1)} s: ${waits}, ${shed} shed; every reader is within ADMISSION_DELAY_FROM_LAG_MS`);
  }

  private counts(reader: SampledReader, at: number): boolean {
    // A reader no process runs (REACTIONS_ENABLED / RELAY_ENABLED false everywhere): its checkpoint
    // stands still whatever the load, and refusing commands would not move it. A lease free for a
    // moment is a takeover (its holder died or gave the segment back), not that.
    if (reader.leaseHeld === false) {
      // Never seen run (since this process began sampling): no takeover to wait for. Its lag is
      // the age of the oldest event it never took, past ADMISSION_DELAY_FROM_LAG_MS at once.
      if (!this.seenLeased.has(reader.reader)) return false;
      const since = this.unleasedSince.get(reader.reader) ?? at;
      this.unleasedSince.set(reader.reader, since);
      if (at - since >= this.unleasedGraceMs) return false;
    } else {
      this.seenLeased.add(reader.reader);
      this.unleasedSince.delete(reader.reader);
    }
    if (reader.failure || reader.paused) return false;
    if (reader.subscriptionId === RELAY_CHECKPOINT && this.publisher.blocked) return false;
    return true;
  }
}

function toReaderLag(reader: SampledReader): ReaderLag {
  return { reader: reader.reader, lagEvents: reader.lagEvents, lagMs: Math.round(reader.lagSeconds * 1000), drainPerSecond: reader.drainPerSecond };
}

/** A stretch of samples that delayed or shed commands: logged as it starts and as it ends, not at every sample near a threshold. */
interface AdmissionEpisode {
  startedAt: number;
  /** The last sample that delayed or shed. */
  lastAt: number;
  /** Commands told to wait at the door, and their waits in all (ms), whatever became of them. */
  delayed: number;
  delayedMs: number;
  /** Delayed commands whose client went away while they waited (they did not run). */
  left: number;
  /** Delayed commands shed once their wait was over (the lag passed the bound meanwhile): also in `shed`. */
  shedAfterWait: number;
  /** Commands answered 503 LOAD_SHED, at once or after their wait. */
  shed: number;
}

/** How long no sample may delay or shed before an episode counts as over (its log line), in ms. */
export const EPISODE_QUIET_MS = 5_000;

function describe({ reader, lagEvents, lagMs }: ReaderLag): string {
  return `${reader} is ${lagEvents} event${lagEvents === 1 ? '' : 's'} (${(lagMs / 1000).toFixed(1)} s) behind the writes`;
}

/**
 * Waits `ms` unless the client's connection closes first: resolves whether the client is still
 * there. Node ends every request not yet answered on a connection that closes, and nothing reads
 * the request meanwhile, so its 'close' is the client's leaving. The request's, not the
 * connection's: pipelined requests wait at once on one connection (one listener each there would
 * pile up), and a response queued behind another has no socket yet.
 */
async function clientStays(request: IncomingMessage, ms: number): Promise<boolean> {
  if (request.destroyed || request.socket.destroyed) return false;
  const left = new AbortController();
  const onClose = (): void => left.abort();
  request.once('close', onClose);
  try {
    await setTimeout(ms, undefined, { signal: left.signal });
    return true;
  } catch (error) {
    if (left.signal.aborted) return false;
    throw error;
  } finally {
    request.off('close', onClose);
  }
}

/**
 * Makes commands wait, or sheds them, in an `onRequest` hook: before the body is read or parsed, before the
 * idempotency interceptor claims a key, before any guard, pipe or handler. A command that waited
 * is decided again as its wait ends (AdmissionControl.afterWait): up to a second later the lag may
 * be past the bound, and a command let through then would add to the backlog the door now keeps
 * out. Registered only when admission control is on.
 */
export function registerAdmissionControl(fastify: FastifyInstance, admission: AdmissionControl): void {
  if (!admission.enabled) return;
  fastify.addHook('onRequest', async (request, reply) => {
    const decision = admission.check(request);
    if (!decision) return;
    if (decision.action === 'shed') return refuse(request, reply, decision);
    const waitStarted = performance.now();
    const stayed = await clientStays(request.raw, decision.delayMs);
    const waitedMs = Math.round(performance.now() - waitStarted);
    if (!stayed) {
      // The client went away while it waited: nothing is parsed, checked or run for it (a command
      // without a body would run, and write, for nobody), and nothing is answered.
      admission.clientLeft(waitedMs);
      leaveUnanswered(request, reply, CLIENT_LEFT_AT_THE_DOOR);
      return reply;
    }
    rememberWait(request, waitedMs);
    const refusal = admission.afterWait(waitedMs);
    if (refusal) return refuse(request, reply, refusal);
  });
}

function refuse(request: FastifyRequest, reply: FastifyReply, { retryAfterSeconds }: Refusal): FastifyReply {
  void reply.header(RETRY_AFTER_HEADER, String(retryAfterSeconds));
  sendProblem(reply, request, {
    status: 503,
    code: LOAD_SHED_CODE,
    detail: `the service is behind with work it accepted earlier; nothing was done, retry after ${retryAfterSeconds} s`,
  });
  return reply;
}
