import type { InboxOutcome } from './inbox-outcome';
import type { ReceivedEvent } from './received-event';

/** What the inbox knows of a batch's streams and event ids before deciding, read under the streams' locks. */
export interface InboxState {
  /** Per stream id (lower case): the last sequence applied; 0 for a stream seen for the first time. */
  lastSequences: ReadonlyMap<string, number>;
  /** The batch's event ids (lower case) that the inbox table holds already. */
  recordedEventIds: ReadonlySet<string>;
}

export interface InboxDecisions {
  /** One per event, in the order of the events given. */
  outcomes: InboxOutcome[];
  /** Per stream id (lower case) that advanced: the last sequence applied once the batch committed. */
  advancedTo: Map<string, number>;
}

/**
 * Decides every event of a batch as the one-event path would have, had the events come one by
 * one in sequence order per stream: the stream's next sequence is applied (and advances it), an
 * already applied sequence or an event id recorded before (in the inbox or earlier in the batch) is
 * a duplicate, a sequence past a gap is too early.
 */
export function decideBatch(events: readonly ReceivedEvent[], state: InboxState): InboxDecisions {
  const outcomes = new Array<InboxOutcome>(events.length);
  const positions = new Map<string, number>();
  const recorded = new Set(state.recordedEventIds);
  const inSequenceOrder = events.map((_, index) => index).sort((a, b) => events[a].sequence - events[b].sequence);
  for (const index of inSequenceOrder) {
    const { streamId, eventId, sequence } = events[index];
    const stream = streamId.toLowerCase();
    const id = eventId.toLowerCase();
    const applied = positions.get(stream) ?? state.lastSequences.get(stream) ?? 0;
    if (sequence <= applied || recorded.has(id)) outcomes[index] = 'duplicate';
    else if (sequence > applied + 1) outcomes[index] = 'too-early';
    else {
      outcomes[index] = 'applied';
      positions.set(stream, sequence);
      recorded.add(id);
    }
  }
  return { outcomes, advancedTo: positions };
}
