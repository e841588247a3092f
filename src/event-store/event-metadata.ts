/** What every stored event carries besides its payload, so one request can be traced end to end. */
export interface EventMetadata {
  correlationId: string;
  causationId: string;
  occurredAt: string;
  /**
   * The W3C trace context of the span that wrote the event (its command's), so reactions, the
   * relay and the consumer continue the request's trace. Absent with tracing off, and on events
   * stored before tracing existed.
   */
  traceparent?: string;
  tracestate?: string;
}

/** Who asked for a command: taken from the HTTP request (or, later, from the causing event). */
export interface CommandMetadata {
  correlationId: string;
  causationId: string;
}
