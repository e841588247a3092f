/**
 * RabbitMQ already has a queue or exchange of ours under the same name but with other arguments
 * (another version of the app declared it, or someone changed it by hand). Declaring it cannot
 * succeed until an operator aligns or deletes it, so the consumer refuses to start with this one
 * line rather than retrying or crashing on the channel's 'error' event.
 */
export class TopologyMismatchError extends Error {
  constructor(
    readonly kind: 'queue' | 'exchange',
    readonly entity: string,
    readonly argument: string,
    readonly detail: string,
  ) {
    super(
      `RabbitMQ ${kind} '${entity}' exists with a different '${argument}' than this consumer declares (${detail}); ` +
        `delete the ${kind} or align its arguments, then start again`,
    );
    this.name = 'TopologyMismatchError';
  }

  /** The mismatch that a failed declaration reports (406 PRECONDITION_FAILED "inequivalent arg"), or undefined. */
  static fromDeclareError(error: unknown): TopologyMismatchError | undefined {
    const message = error instanceof Error ? error.message : '';
    const match = /inequivalent arg '([^']+)' for (queue|exchange) '([^']+)' in vhost '[^']*':\s*([^"]*)/.exec(message);
    if (!match) return undefined;
    const [, argument, kind, entity, detail] = match;
    return new TopologyMismatchError(kind as 'queue' | 'exchange', entity, argument, detail.trim());
  }
}
