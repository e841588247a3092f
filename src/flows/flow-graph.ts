import type { StoredEvent } from '../event-store';

/** What one node of a flow stands for. */
export type FlowNodeKind = 'request' | 'command' | 'event' | 'reaction-step' | 'publish' | 'consumer-effect';

/** `published`: the broker confirmed it (its time may be unrecorded: relayed before times were kept, or pruned); `pending`: the relay has not confirmed it yet. */
export type PublishStatus = 'published' | 'pending';

/** `applied`: the consumer's inbox holds it; `not-applied`: the consumer answered without it (not yet, or pruned); otherwise the consumer could not be asked. */
export type ConsumerEffectStatus = 'applied' | 'not-applied' | 'consumer-unreachable' | 'consumer-not-configured';

export interface FlowNode {
  /** Unique in the flow: `request:1`, `command:2`, `event:<event id>`, `step:<reaction>:<event id>:<step>`, `publish:<event id>`, `consumer:<event id>`. */
  id: string;
  kind: FlowNodeKind;
  /** What a picture writes on the node: `POST /orders`, `PlaceOrderCommand`, `OrderPlaced`, a step's name, a routing key, the consumer's effects. */
  label: string;
  /** When it happened (ISO 8601, milliseconds); null when nothing recorded it. */
  at: string | null;
  /** Milliseconds from the flow's first node to this one (on the flow's time line, see clockSkewMs); null with `at`. */
  offsetMs: number | null;
  /** The node that caused this one; null for a root (an HTTP request, or an event whose cause is not in the flow). */
  causedBy: string | null;
  /** Milliseconds from the cause's time to this node's; null when either is unknown. Never negative (see clockSkewMs). */
  gapMs: number | null;
  /**
   * Present when this node's clock was behind its cause's: how many milliseconds later than `at`
   * the node is placed (`offsetMs`, `gapMs`), so that it comes no earlier than its cause.
   */
  clockSkewMs?: number;
  request?: { method: string; path: string };
  command?: { name: string; reaction?: string; step?: string };
  event?: { eventId: string; streamType: string; streamId: string; streamVersion: number; globalPosition: string | null };
  step?: { reaction: string; step: string | null; eventId: string };
  publish?: { routingKey: string; status: PublishStatus; confirmedAt: string | null };
  consumer?: { status: ConsumerEffectStatus; effects: ConsumerEffect[] };
}

export interface ConsumerEffect {
  readModel: string;
  kind?: string;
  message?: string;
}

/** What the consumer app said about the flow's events. */
export type ConsumerAnswer =
  | { status: 'reachable'; applied: ReadonlyMap<string, { appliedAt: Date; effects: ConsumerEffect[] }> }
  | { status: 'unreachable'; detail: string }
  | { status: 'not-configured' };

/** A reaction's receipt: it took `step` of the event (`*`: the event as a whole) in a transaction that began at `recordedAt`. */
export interface ReceiptRecord {
  reaction: string;
  eventId: string;
  step: string;
  recordedAt: Date;
}

/** Everything recorded about one correlation id, gathered by FlowRecords and the consumer's answer. */
export interface FlowInputs {
  correlationId: string;
  /** The correlation's events, in append order. */
  events: readonly StoredEvent[];
  receipts: readonly ReceiptRecord[];
  /** The routing key each event is published under; absent: mapped to no integration event, never published. */
  routingKeys: ReadonlyMap<string, string>;
  /** The relay's checkpoint: events at or below it are confirmed by the broker. */
  relayCheckpoint: bigint;
  /** By global position, from relay_batches (see publishTimesAt). */
  publishTimes: ReadonlyMap<string, { publishedAt: Date | null; confirmedAt: Date }>;
  consumer: ConsumerAnswer;
}

export interface Flow {
  correlationId: string;
  /** The earliest and latest times of the flow's time line (see clockSkewMs), and the milliseconds between them. */
  startedAt: string;
  endedAt: string;
  durationMs: number;
  consumer: { status: 'reachable' | 'unreachable' | 'not-configured'; detail?: string };
  /** Every node, earliest first (a node without a time right after its cause). */
  nodes: FlowNode[];
}

const WHOLE_EVENT = '*';

interface DraftNode extends Omit<FlowNode, 'at' | 'offsetMs' | 'gapMs'> {
  at: Date | null;
}

/**
 * The causal graph of one correlation id: each HTTP request → the command it sent → the events
 * that command appended → each reaction step that took an event → the commands of that step →
 * their events …, and for every event published: its publish → the consumer's effect. Every node
 * has at most one cause (`causedBy`), so the graph is a forest, usually one tree per request.
 *
 * A command is known by its events' metadata (EventMetadata.command): events with the same
 * command run share a node. Events stored before commands and requests were recorded link to
 * their cause directly: the causing event, or a request node without a time when their causation
 * is the correlation id itself (an HTTP request). Pure: times come from the inputs only.
 */
export function buildFlow(inputs: FlowInputs): Flow {
  const nodes = new Map<string, DraftNode>();
  const add = (node: DraftNode) => {
    if (!nodes.has(node.id)) nodes.set(node.id, node);
    return node.id;
  };
  const eventIds = new Set(inputs.events.map((event) => event.eventId));

  // Reaction steps, caused by the event they took: named steps, or the whole event when no step ran.
  const receiptsByEvent = groupBy(inputs.receipts, (receipt) => `${receipt.reaction}\u0000${receipt.eventId}`);
  for (const receipts of receiptsByEvent.values()) {
    const named = receipts.filter(({ step }) => step !== WHOLE_EVENT);
    for (const { reaction, eventId, step, recordedAt } of named.length > 0 ? named : receipts) {
      if (!eventIds.has(eventId)) continue;
      const stepName = step === WHOLE_EVENT ? null : step;
      add({
        id: stepNodeId(reaction, eventId, step),
        kind: 'reaction-step',
        label: `${reactionName(reaction)}: ${stepName ?? 'took it, no step to run'}`,
        at: recordedAt,
        causedBy: `event:${eventId}`,
        step: { reaction, step: stepName, eventId },
      });
    }
  }

  const requests = new Map<string, string>();
  const commands = new Map<string, string>();
  for (const event of inputs.events) {
    const { metadata } = event;
    const cause = causeOf(event);
    let parent = cause;
    if (metadata.command) {
      const { id: run, name, startedAt, reaction, step } = metadata.command;
      const key = JSON.stringify([run, name, startedAt, reaction, step, metadata.causationId, metadata.request?.receivedAt]);
      let id = commands.get(key);
      if (!id) {
        id = `command:${commands.size + 1}`;
        commands.set(key, id);
        add({ id, kind: 'command', label: name, at: new Date(startedAt), causedBy: cause, command: { name, ...(reaction && { reaction }), ...(step && { step }) } });
      }
      parent = id;
    }
    add({
      id: `event:${event.eventId}`,
      kind: 'event',
      label: event.eventType,
      at: event.recordedAt,
      causedBy: parent,
      event: {
        eventId: event.eventId,
        streamType: event.streamType,
        streamId: event.streamId,
        streamVersion: event.streamVersion,
        globalPosition: event.globalPosition,
      },
    });

    const routingKey = inputs.routingKeys.get(event.eventId);
    if (routingKey === undefined) continue;
    const relayed = event.globalPosition !== null && BigInt(event.globalPosition) <= inputs.relayCheckpoint;
    const times = event.globalPosition === null ? undefined : inputs.publishTimes.get(event.globalPosition);
    add({
      id: `publish:${event.eventId}`,
      kind: 'publish',
      label: routingKey,
      at: relayed ? (times?.publishedAt ?? null) : null,
      causedBy: `event:${event.eventId}`,
      publish: { routingKey, status: relayed ? 'published' : 'pending', confirmedAt: relayed && times ? times.confirmedAt.toISOString() : null },
    });
    add(consumerNode(event.eventId, inputs.consumer));
  }

  return finish(inputs, [...nodes.values()]);

  /** The request, reaction step or event that caused `event`'s command, as a node id (made when needed). */
  function causeOf(event: StoredEvent): string | null {
    const { metadata } = event;
    if (metadata.request) {
      const { id: request, method, path, receivedAt } = metadata.request;
      const key = JSON.stringify([request, method, path, receivedAt]);
      let id = requests.get(key);
      if (!id) {
        id = `request:${requests.size + 1}`;
        requests.set(key, id);
        add({ id, kind: 'request', label: `${method} ${path}`, at: new Date(receivedAt), causedBy: null, request: { method, path } });
      }
      return id;
    }
    const { reaction, step } = metadata.command ?? {};
    if (reaction && step && nodes.has(stepNodeId(reaction, metadata.causationId, step))) return stepNodeId(reaction, metadata.causationId, step);
    if (eventIds.has(metadata.causationId)) return `event:${metadata.causationId}`;
    if (metadata.causationId === inputs.correlationId) {
      // An event of an HTTP request stored before requests were recorded.
      return add({ id: 'request:unrecorded', kind: 'request', label: 'HTTP request (not recorded)', at: null, causedBy: null });
    }
    return null;
  }
}

function consumerNode(eventId: string, consumer: ConsumerAnswer): DraftNode {
  const base = { id: `consumer:${eventId}`, kind: 'consumer-effect' as const, causedBy: `publish:${eventId}` };
  switch (consumer.status) {
    case 'reachable': {
      const applied = consumer.applied.get(eventId);
      if (!applied) return { ...base, label: 'not applied by the consumer (yet)', at: null, consumer: { status: 'not-applied', effects: [] } };
      const label = applied.effects.map((effect) => effect.kind ?? effect.readModel).join(', ') || 'applied, no effect';
      return { ...base, label, at: applied.appliedAt, consumer: { status: 'applied', effects: applied.effects } };
    }
    case 'unreachable':
      return { ...base, label: 'consumer unreachable', at: null, consumer: { status: 'consumer-unreachable', effects: [] } };
    case 'not-configured':
      return { ...base, label: 'consumer not configured (CONSUMER_URL)', at: null, consumer: { status: 'consumer-not-configured', effects: [] } };
  }
}

/**
 * The clock each kind of node takes its time from: the API process's (a request's arrival, a
 * command's start, an event's occurredAt, a publish), PostgreSQL's (a reaction step: its receipt's
 * now()), the consumer's database's (an effect). Hosts' clocks disagree by a few milliseconds, or
 * more, while a step and the command it sends are often less than a millisecond apart.
 */
type ClockSource = 'api' | 'api-database' | 'consumer-database';
const CLOCK_OF: Record<FlowNodeKind, ClockSource> = {
  request: 'api',
  command: 'api',
  event: 'api',
  publish: 'api',
  'reaction-step': 'api-database',
  'consumer-effect': 'consumer-database',
};

/** Where a node stands on the flow's time line. */
interface Placement {
  /** Milliseconds since the epoch on the time line; a node without a time has its cause's (null: a root without one). */
  time: number | null;
  /** Milliseconds the node is drawn later than recorded (0 for a node without a time). */
  shiftMs: number;
  /** What each clock is known to lag behind on this path from the root, carried to what the node caused. */
  lags: Readonly<Partial<Record<ClockSource, number>>>;
  depth: number;
}

/**
 * Times relative to the flow's start and to each cause, and the nodes earliest first. A node whose
 * recorded time is before its cause's cannot have happened then: its clock is behind its cause's.
 * It is drawn at its cause's time instead, and every later node of the same clock on that path is
 * drawn as much later (the lag learnt once, as Jaeger and Zipkin adjust spans for clock skew), so
 * gaps are never negative, a node never comes before its cause, and gaps measured on one clock
 * keep their length. A clock that is ahead cannot be told from a slow step: its gaps stay longer.
 */
function finish(inputs: FlowInputs, drafts: DraftNode[]): Flow {
  const byId = new Map(drafts.map((node) => [node.id, node]));
  const placements = new Map<string, Placement>();
  const placementOf = (node: DraftNode): Placement => {
    const known = placements.get(node.id);
    if (known) return known;
    const cause = node.causedBy ? byId.get(node.causedBy) : undefined;
    const causePlacement: Omit<Placement, 'shiftMs'> = cause ? placementOf(cause) : { time: null, lags: {}, depth: -1 };
    const depth = causePlacement.depth + 1;
    let placement: Placement;
    if (!node.at) {
      placement = { time: causePlacement.time, shiftMs: 0, lags: causePlacement.lags, depth };
    } else {
      const clock = CLOCK_OF[node.kind];
      const lag = causePlacement.lags[clock] ?? 0;
      const recorded = node.at.getTime() + lag;
      const behind = causePlacement.time === null ? 0 : Math.max(0, causePlacement.time - recorded);
      placement = {
        time: recorded + behind,
        shiftMs: lag + behind,
        lags: behind > 0 ? { ...causePlacement.lags, [clock]: lag + behind } : causePlacement.lags,
        depth,
      };
    }
    placements.set(node.id, placement);
    return placement;
  };
  const times = drafts.flatMap((node) => (node.at ? [placementOf(node).time!] : []));
  const start = Math.min(...times);
  const end = Math.max(...times);

  // A node without a time sorts right after its cause; ties go to the cause first.
  const sortTime = (node: DraftNode) => placementOf(node).time ?? start;
  const ordered = [...drafts].sort((a, b) => sortTime(a) - sortTime(b) || placementOf(a).depth - placementOf(b).depth);

  const { consumer } = inputs;
  return {
    correlationId: inputs.correlationId,
    startedAt: new Date(start).toISOString(),
    endedAt: new Date(end).toISOString(),
    durationMs: end - start,
    consumer: consumer.status === 'unreachable' ? { status: consumer.status, detail: consumer.detail } : { status: consumer.status },
    nodes: ordered.map(({ at, ...node }) => {
      const cause = node.causedBy ? byId.get(node.causedBy) : undefined;
      const { time, shiftMs } = placementOf({ at, ...node });
      return {
        ...node,
        at: at ? at.toISOString() : null,
        offsetMs: at ? time! - start : null,
        gapMs: at && cause?.at ? time! - placementOf(cause).time! : null,
        ...(shiftMs > 0 && { clockSkewMs: shiftMs }),
      };
    }),
  };
}

function stepNodeId(reaction: string, eventId: string, step: string): string {
  return `step:${reaction}:${eventId}:${step}`;
}

/** `reaction:order-fulfilment` → `order-fulfilment`. */
function reactionName(subscriptionId: string): string {
  return subscriptionId.replace(/^reaction:/, '');
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
