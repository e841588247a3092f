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
  /** The HTTP request whose command wrote the event; absent on events a reaction or a deadline caused. */
  request?: RequestOrigin;
  /** The command that wrote the event; absent on events stored before commands were recorded. */
  command?: CommandRecord;
}

/** An HTTP request as the events it caused remember it (GET /flows/{correlationId} draws it). */
export interface RequestOrigin {
  /** Tells this request from others of its correlation id that arrived in the same millisecond (random; absent on events stored before it was recorded). */
  id?: string;
  method: string;
  /** The request's path, without its query or fragment. */
  path: string;
  /** When the request arrived (ISO 8601, milliseconds). */
  receivedAt: string;
}

/** A run of a command on the CommandBus, as the events it wrote remember it (RunningCommands). */
export interface CommandRecord {
  /** Tells this run from others of the same command, cause and millisecond (random; absent on events stored before it was recorded). */
  id?: string;
  /** The command's class, `PlaceOrderCommand`. */
  name: string;
  /** When the CommandBus began running it (ISO 8601, milliseconds). */
  startedAt: string;
  /** The reaction (`reaction:order-fulfilment`) and its step whose work ran the command, if one did. */
  reaction?: string;
  step?: string;
}

/** Who asked for a command: set once where work enters (withCommandCause): an HTTP request, a reaction step (the causing event), a deadline. */
export interface CommandMetadata {
  correlationId: string;
  causationId: string;
  /** Set for a command an HTTP request sends (requestCauseOf); its events keep it. */
  request?: RequestOrigin;
}
