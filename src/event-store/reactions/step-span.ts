import { inSpan } from '../../tracing/spans';
import { contextOf } from '../../tracing/trace-context';
import { originOf } from './event-origin';
import type { ReactionWork } from './reaction';

/**
 * A step's work in a span of its own (`reaction:order-credit reserveCreditForPlacedOrder`),
 * a child of the span that wrote the causing event (its stored `traceparent`), so the request's
 * trace goes on through the saga; the commands the step runs are the span's children. An event
 * stored without trace context (before tracing, or with it off) starts a new trace. Every attempt
 * of a retried step is a span of its own.
 */
export function inStepSpan(subscriptionId: string, stepName: string, event: object, work: ReactionWork): ReactionWork {
  const stored = originOf(event);
  return () =>
    inSpan(
      `${subscriptionId} ${stepName}`,
      {
        parent: contextOf(stored?.metadata),
        attributes: {
          'eda.reaction': subscriptionId,
          'eda.reaction.step': stepName,
          ...(stored && { 'eda.event.id': stored.eventId, 'eda.event.type': stored.eventType, 'eda.stream.id': stored.streamId }),
        },
      },
      work,
    );
}
