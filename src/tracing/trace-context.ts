import { context, type Context, defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/**
 * A span's context in W3C Trace Context form (https://www.w3.org/TR/trace-context/): what event
 * metadata stores and what a CloudEvent carries in its distributed-tracing extension
 * (https://github.com/cloudevents/spec/blob/main/cloudevents/extensions/distributed-tracing.md).
 * `traceparent` is `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`.
 */
export interface TraceContext {
  traceparent: string;
  tracestate?: string;
}

/** Always W3C, whatever OTEL_PROPAGATORS says for HTTP: the extension and the metadata name these fields. */
const w3c = new W3CTraceContextPropagator();

/**
 * The active span's context, or undefined when no span is active: always so with tracing off (no
 * context manager is registered then, so this is one lookup in the root context and no allocation).
 */
export function activeTraceContext(): TraceContext | undefined {
  if (!trace.getActiveSpan()) return undefined;
  const carrier: Partial<TraceContext> = {};
  w3c.inject(context.active(), carrier, defaultTextMapSetter);
  if (!carrier.traceparent) return undefined;
  return carrier.tracestate ? { traceparent: carrier.traceparent, tracestate: carrier.tracestate } : { traceparent: carrier.traceparent };
}

/**
 * The context a span continues: the one `carrier` names, or the root context (a new trace) when it
 * names none or an invalid one, as events stored before tracing existed do.
 */
export function contextOf(carrier: Partial<TraceContext> | undefined): Context {
  if (typeof carrier?.traceparent !== 'string') return ROOT_CONTEXT;
  return w3c.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
}

/**
 * Runs `start` outside any trace: for background work that a request only sets going (a sampling
 * loop started by the first write), which would otherwise inherit the request's context through
 * its timers and promises and file every later round under that one request's trace.
 */
export function outsideTraces<T>(start: () => T): T {
  return context.with(ROOT_CONTEXT, start);
}
