import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What every log line written on behalf of one event carries, whichever `new Logger(...)` writes
 * it: the correlation id of the request the event goes back to, and the event itself. An HTTP
 * request's lines get their `correlationId` from nestjs-pino's request logger instead (see
 * process-logger.ts); this covers the work no request pipeline runs: reactions, the relay's
 * publishes, deadlines, consumed messages.
 */
export interface LogContext {
  correlationId: string;
  causationId?: string;
  eventId?: string;
  eventType?: string;
  streamId?: string;
}

const storage = new AsyncLocalStorage<LogContext>();

/** Runs `work` so that every line logged in it, across its `await`s, carries `context`. */
export function withLogContext<T>(context: LogContext, work: () => T): T {
  return storage.run(context, work);
}

/**
 * Runs `work` outside any event's context: for what serves many events (a batch applied together,
 * a connection opened by the first publish that needed it), whose later lines would otherwise
 * carry the fields of whichever event happened to start it.
 */
export function outsideLogContext<T>(work: () => T): T {
  return storage.exit(work);
}

/** The context of the work running now, if any. */
export function currentLogContext(): LogContext | undefined {
  return storage.getStore();
}

/** An event as its log lines name it: what a stored event (src/event-store) holds of it. */
export interface LoggedEvent {
  eventId: string;
  eventType: string;
  streamId: string;
  metadata: { correlationId: string; causationId: string };
}

/** The fields of a stored event: its metadata's correlation and causation, its id, type and stream. */
export function logContextOf(event: LoggedEvent): LogContext {
  return {
    correlationId: event.metadata.correlationId,
    causationId: event.metadata.causationId,
    eventId: event.eventId,
    eventType: event.eventType,
    streamId: event.streamId,
  };
}

/**
 * pino's `mixin`: the current context's fields for the line being written (a new object each
 * time: pino merges the line's own fields into what the mixin returns).
 */
export function logContextFields(): Partial<LogContext> {
  const context = storage.getStore();
  return context ? { ...context } : {};
}
