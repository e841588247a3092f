import { ApiProperty } from '@nestjs/swagger';

export class DependencyHealth {
  @ApiProperty({ enum: ['up', 'degraded', 'down'], description: '`degraded`: impaired, but the process still does its job' })
  status: 'up' | 'degraded' | 'down';
}

export class HealthResponse {
  @ApiProperty({ enum: ['ok', 'degraded', 'error'], description: '`error` answers 503; `degraded` (some dependency is `degraded`, none `down`) and `ok` answer 200' })
  status: 'ok' | 'degraded' | 'error';

  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: '#/components/schemas/DependencyHealth' },
    example: {
      postgres: { status: 'up' },
      rabbitmq: { status: 'up', connected: true, blocked: false },
      relay: { status: 'up', lag: 0, relaying: true, inFlight: 0 },
      deadLetters: { status: 'up', queue: 'eda.consumer.dead-letter', messages: 0 },
      reactions: { status: 'up', parked: 0 },
      subscriptions: {
        status: 'down',
        stopped: ['projection:order-summaries'],
        readers: {
          'projection:order-summaries': {
            checkpoint: 41,
            lagEvents: 3,
            lagSeconds: 12.5,
            stoppedAt: { eventId: '0b7e6f1c-3f43-4d55-9b9e-8d4b3c2f6a10', globalPosition: 42, eventType: 'OrderPlaced' },
            error: "TypeError: Cannot read properties of undefined (reading 'currency')",
            attempts: 7,
            since: '2026-11-23T10:00:00.000Z',
            lastAttemptAt: '2026-11-23T10:00:12.000Z',
          },
          'relay:integration-events': { checkpoint: 44, lagEvents: 0, lagSeconds: 0 },
          'reaction:order-fulfilment': {
            checkpoint: 40,
            lagEvents: 4,
            lagSeconds: 30.2,
            paused: { by: 'ops-ada', reason: 'credit service maintenance', since: '2026-11-23T09:59:42.000Z' },
          },
        },
      },
    },
    description:
      'every checked dependency by name (`/health/live` checks none, `/health/ready` only `postgres`); `rabbitmq` is `degraded` ' +
      'when unreachable or blocking (commands are still accepted: their events wait in the outbox); `deadLetters` counts the messages ' +
      'the consumer parked; `reactions.parked` the reactions set aside; `subscriptions` lists every reader of the event store with its lag ' +
      '(events, and seconds: age of the oldest event not yet taken) and, for one stopped at an event, that event, the error, ' +
      'the attempts and since when (any stopped reader makes the status 503); one an operator paused shows who, why and since when ' +
      '(a pause is no outage)',
  })
  details: Record<string, DependencyHealth>;
}
