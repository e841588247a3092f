import { type Attributes, context, type Context, isSpanContextValid, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { DomainError } from '../shared/domain-error';

/** The tracer of the application's own spans (the instrumentations have theirs). */
const tracer = trace.getTracer('nest-eda-monolith');

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The context the span continues; the active one when absent. */
  parent?: Context;
}

/**
 * Runs `work` in a span named `name`, active for everything `work` does (commands, statements,
 * publishes: their spans become its children, and events written inside carry its context). A
 * thrown error is recorded on the span (status ERROR, `error.type`) and rethrown.
 *
 * With tracing off (no tracer provider registered) the API's no-op tracer hands out an invalid
 * span context and `work` runs as it is: no span, no context switch, no extra promise.
 */
export function inSpan<T>(name: string, options: SpanOptions, work: () => Promise<T>): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer.startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, parent);
  if (!isSpanContextValid(span.spanContext())) return work();
  let running: Promise<T>;
  try {
    // Called at once, not after a tick: callers rely on the order of their calls (the relay's publishes).
    running = context.with(trace.setSpan(parent, span), work);
  } catch (error) {
    running = Promise.reject(error);
  }
  return running.then(
    (result) => {
      span.end();
      return result;
    },
    (error: unknown) => {
      recordFailure(span, error);
      span.end();
      throw error;
    },
  );
}

function recordFailure(span: Span, error: unknown): void {
  span.setAttribute('error.type', errorTypeOf(error));
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** A domain error's stable code (`ORDER_NOT_FOUND`), else the error's class name. */
function errorTypeOf(error: unknown): string {
  if (error instanceof DomainError) return error.code;
  return error instanceof Error ? error.constructor.name : typeof error;
}
