/** What every stored event carries besides its payload, so one request can be traced end to end. */
export interface EventMetadata {
  correlationId: string;
  causationId: string;
  occurredAt: string;
}

/** Who asked for a command: taken from the HTTP request (or, later, from the causing event). */
export interface CommandMetadata {
  correlationId: string;
  causationId: string;
}
