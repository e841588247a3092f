import { describeUnpublishable, type UnpublishableEvent } from '../messaging/republish/stored-event-republisher';
import { DomainError } from '../shared/domain-error';

/** No reader of the event store has a checkpoint under this id. */
export class SubscriptionNotFoundError extends DomainError {
  readonly code = 'SUBSCRIPTION_NOT_FOUND';
  readonly kind = 'not-found';

  constructor(subscriptionId: string, known: readonly string[]) {
    super(`no subscription named ${subscriptionId}; there are: ${known.join(', ')}`);
  }
}

/** A retry or a skip asks for a reader stopped at an event, and this one is not. */
export class SubscriptionNotStoppedError extends DomainError {
  readonly code = 'SUBSCRIPTION_NOT_STOPPED';
  readonly kind = 'conflict';

  constructor(subscriptionId: string, action: string) {
    super(`${subscriptionId} is not stopped at any event, so there is nothing to ${action}`);
  }
}

/** Only the event a reader is stopped at may be skipped. */
export class SubscriptionStoppedAtAnotherEventError extends DomainError {
  readonly code = 'SUBSCRIPTION_STOPPED_AT_ANOTHER_EVENT';
  readonly kind = 'conflict';

  constructor(subscriptionId: string, stoppedAt: { eventId: string; eventType: string; globalPosition: number }, requested: string) {
    super(
      `${subscriptionId} is stopped at ${stoppedAt.eventType} ${stoppedAt.eventId} (position ${stoppedAt.globalPosition}), ` +
        `not at event ${requested}; only the event it is stopped at can be skipped`,
    );
  }
}

export class SubscriptionAlreadyPausedError extends DomainError {
  readonly code = 'SUBSCRIPTION_ALREADY_PAUSED';
  readonly kind = 'conflict';

  constructor(subscriptionId: string, pause: { by: string; reason: string; since: Date }) {
    super(`${subscriptionId} is already paused, by ${pause.by} since ${pause.since.toISOString()}: ${pause.reason}`);
  }
}

export class SubscriptionNotPausedError extends DomainError {
  readonly code = 'SUBSCRIPTION_NOT_PAUSED';
  readonly kind = 'conflict';

  constructor(subscriptionId: string) {
    super(`${subscriptionId} is not paused`);
  }
}

export class ParkedReactionNotFoundError extends DomainError {
  readonly code = 'PARKED_REACTION_NOT_FOUND';
  readonly kind = 'not-found';

  constructor(reaction: string, eventId: string) {
    super(`${reaction} has no step parked on event ${eventId}`);
  }
}

export class DeadLetterNotFoundError extends DomainError {
  readonly code = 'DEAD_LETTER_NOT_FOUND';
  readonly kind = 'not-found';

  constructor(messageId: string, queue: string) {
    super(`no message with id ${messageId} is parked in ${queue}`);
  }
}

/** RabbitMQ could not be reached: nothing was read from or moved out of the dead-letter queue. */
export class DeadLettersUnavailableError extends DomainError {
  readonly code = 'BROKER_UNAVAILABLE';
  readonly kind = 'unavailable';

  constructor() {
    super('RabbitMQ cannot be reached right now; nothing was read or moved. Try again once the broker is back (see GET /health)');
  }
}

/** RabbitMQ confirmed but did not route some redriven messages (no consumer queue): those stay parked. */
export class DeadLettersNotRoutedError extends DomainError {
  readonly code = 'DEAD_LETTERS_NOT_ROUTED';
  readonly kind = 'unavailable';

  constructor(outcome: { matched: number; redriven: number; stillParked: number }, consumerQueue: string) {
    super(
      `${outcome.redriven} of ${outcome.matched} message(s) went back into ${consumerQueue}; ${outcome.stillParked} could not be ` +
        'routed there and stay parked. Check the consumer queue, then redrive again',
    );
  }
}

export class ProjectionNotFoundError extends DomainError {
  readonly code = 'PROJECTION_NOT_FOUND';
  readonly kind = 'not-found';

  constructor(name: string, known: readonly string[]) {
    super(`no projection named ${name} can be rebuilt; there are: ${known.join(', ')}`);
  }
}

export class RebuildJobNotFoundError extends DomainError {
  readonly code = 'REBUILD_NOT_FOUND';
  readonly kind = 'not-found';

  constructor(projection: string, jobId: string) {
    super(`no rebuild ${jobId} of ${projection} is known`);
  }
}

/** One rebuild at a time per projection: another one (a job, or `npm run rebuild-projections`) holds its lock. */
export class ProjectionRebuildRunningError extends DomainError {
  readonly code = 'REBUILD_ALREADY_RUNNING';
  readonly kind = 'conflict';

  constructor(
    projection: string,
    /** Where the running job is followed, when it is a job of the admin API. */
    readonly location: string | undefined,
  ) {
    super(
      location
        ? `a rebuild of ${projection} is already running: follow it at ${location}`
        : `a rebuild of ${projection} is already running (started by npm run rebuild-projections, or by a process that is stopping)`,
    );
  }
}

/**
 * This process's database role may not rebuild the projection (no CREATE on its schema, or not
 * the owner of its table: an app run without DDL rights, DATABASE_MIGRATIONS=check). Refused
 * before anything is written; the CLI, run as the tables' owner, can rebuild it.
 */
export class ProjectionRebuildNotPermittedError extends DomainError {
  readonly code = 'REBUILD_NOT_PERMITTED';
  readonly kind = 'conflict';

  constructor(projection: string, table: string, problem: string) {
    super(
      `${problem}, which a rebuild of ${projection} needs (it creates a copy of ${table} and drops the old one); ` +
        `run \`npm run rebuild-projections -- ${projection}\` as the role that owns the tables`,
    );
  }
}

/** The broker stopped confirming during a republish: what was confirmed before stays published. */
export class RepublishFailedError extends DomainError {
  readonly code = 'REPUBLISH_FAILED';
  readonly kind = 'unavailable';

  constructor(streamId: string, published: number, total: number, unpublishable: readonly UnpublishableEvent[] = []) {
    super(
      `republishing stream ${streamId} stopped after ${published} of ${total} event(s) were confirmed: RabbitMQ did not confirm the rest. ` +
        "Republish again once the broker is back (the consumer's inbox drops what it has)" +
        (unpublishable.length > 0 ? `. Before that, ${namedUnpublishable(unpublishable)}` : ''),
    );
  }
}

/**
 * A republish went through the whole stream, but some of its events could not be read or mapped
 * by this code (UnpublishableEvent): those were not sent, every other one was, in version order,
 * each confirmed. Republishing again changes nothing until each is repaired, or code that reads
 * it is deployed.
 */
export class RepublishIncompleteError extends DomainError {
  readonly code = 'REPUBLISH_INCOMPLETE';
  readonly kind = 'conflict';

  constructor(streamId: string, outcome: { total: number; published: number; skipped: number; unpublishable: readonly UnpublishableEvent[] }) {
    super(
      `republished ${outcome.published} of the ${outcome.total} event(s) of stream ${streamId}, each confirmed (${outcome.skipped} without a contract skipped); ` +
        `${namedUnpublishable(outcome.unpublishable)}. Repair them (or deploy code that reads them), then republish the stream again; ` +
        "until then a consumer that lacks one of them parks this stream's later events",
    );
  }
}

/** Events named in a problem's detail, at most this many (the rest counted; the log names every one). */
const MAX_NAMED_EVENTS = 20;

function namedUnpublishable(events: readonly UnpublishableEvent[]): string {
  const named = events.slice(0, MAX_NAMED_EVENTS).map(describeUnpublishable).join('; ');
  const more = events.length > MAX_NAMED_EVENTS ? `; and ${events.length - MAX_NAMED_EVENTS} more (named in the log)` : '';
  return `${events.length} event(s) could not be read or mapped and were NOT sent: ${named}${more}`;
}
