/** The broker confirmed the message but routed it to no queue (basic.return of a mandatory publish). */
export class UnroutableMessageError extends Error {
  constructor(
    readonly messageId: string,
    readonly exchange: string,
    readonly routingKey: string,
    readonly replyText: string,
  ) {
    super(`message ${messageId} is unroutable: ${replyText} (exchange ${exchange}, routing key ${routingKey})`);
    this.name = 'UnroutableMessageError';
  }
}

/** No confirm came within the timeout while the connection was not blocked: the channel is deemed broken. */
export class PublishTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no broker confirm within ${timeoutMs} ms: the channel is deemed broken and is replaced`);
    this.name = 'PublishTimeoutError';
  }
}

/** The channel or connection closed (or was given up) before the broker confirmed the message. */
export class ChannelLostError extends Error {
  constructor(reason: string) {
    super(`the broker channel closed before confirming: ${reason}`);
    this.name = 'ChannelLostError';
  }
}
