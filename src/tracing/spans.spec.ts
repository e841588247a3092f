import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { ConcurrencyConflictError } from '../shared/domain-error';
import { inSpan } from './spans';
import { activeTraceContext, contextOf, outsideTraces } from './trace-context';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('with tracing off (no tracer provider registered: the default)', () => {
  it('runs the work as it is: no span, no context entered, nothing to store', async () => {
    const enter = jest.spyOn(context, 'with');
    const seen = await inSpan('PlaceOrderCommand', { kind: SpanKind.INTERNAL }, async () => ({
      active: trace.getActiveSpan(),
      stored: activeTraceContext(),
    }));
    expect(seen).toEqual({ active: undefined, stored: undefined });
    expect(enter).not.toHaveBeenCalled();
    enter.mockRestore();
  });
});

describe('with tracing on', () => {
  const exporter = new InMemorySpanExporter();
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
  });
  beforeEach(() => exporter.reset());

  it('makes the span active for the work, whose stored trace context names it', async () => {
    const stored = await inSpan('outer', {}, () => inSpan('PlaceOrderCommand', {}, async () => activeTraceContext()));
    const [command, outer] = exporter.getFinishedSpans();
    expect(command.name).toBe('PlaceOrderCommand');
    expect(command.parentSpanContext?.spanId).toBe(outer.spanContext().spanId);
    expect(stored).toEqual({ traceparent: `00-${command.spanContext().traceId}-${command.spanContext().spanId}-01` });
  });

  it('continues the trace a stored traceparent names, tracestate included', async () => {
    await inSpan('reaction step', { parent: contextOf({ traceparent: TRACEPARENT, tracestate: 'vendor=x' }) }, async () => undefined);
    const [step] = exporter.getFinishedSpans();
    expect(step.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(step.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(step.spanContext().traceState?.serialize()).toBe('vendor=x');
  });

  it.each([
    ['no trace context (an event stored before tracing)', undefined],
    ['a malformed traceparent', { traceparent: 'not-a-traceparent' }],
    ['a traceparent that is no string', { traceparent: 42 as unknown as string }],
  ])('starts a new trace for %s, even inside another span', async (_, carrier) => {
    await inSpan('enclosing', {}, () => inSpan('step', { parent: contextOf(carrier) }, async () => undefined));
    const [step, enclosing] = exporter.getFinishedSpans();
    expect(step.parentSpanContext).toBeUndefined();
    expect(step.spanContext().traceId).not.toBe(enclosing.spanContext().traceId);
  });

  it('records a failure on the span (status ERROR, error.type the domain code) and rethrows it', async () => {
    await expect(inSpan('ConfirmOrderCommand', {}, () => Promise.reject(new ConcurrencyConflictError('order-1')))).rejects.toThrow(
      ConcurrencyConflictError,
    );
    const [span] = exporter.getFinishedSpans();
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes['error.type']).toBe('CONCURRENT_MODIFICATION');
    expect(span.events.map((event) => event.name)).toEqual(['exception']);
  });

  it('starts background work outside the trace of the request that set it going', async () => {
    const inside = await inSpan('request', {}, async () => outsideTraces(() => context.active()));
    expect(inside).toBe(ROOT_CONTEXT);
  });
});
