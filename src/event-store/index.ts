// The event store's public face: code outside src/event-store imports only from here
// (eslint refuses deep imports). Files inside import each other directly, never through here.

// Writing aggregates and their events
export { VersionedAggregate } from './versioned-aggregate';
export { AggregateWriter } from './aggregate-writer';
export type { OwnedRowsChange } from './aggregate-writer';
export type { AggregateRow, AggregateTable } from './aggregate-row';
export { DomainEvent } from './domain-event';
export type { DomainEventClass } from './domain-event';
export type { CommandMetadata, EventMetadata } from './event-metadata';
export { STORED_EVENT_COLUMNS } from './stored-event';
export type { SequencedEvent, StoredEvent, StoredEventOf } from './stored-event';
export { commandCause, MissingCommandCauseError, withCommandCause } from './running-commands';

// What each module declares about its events (src/modules/manifests.ts lists them)
export { publishedAs } from './manifest/event-store-manifest';
export type { EventStoreManifest, MappedIntegrationEvent, PublicationTable, PublishedAs, StreamPublication } from './manifest/event-store-manifest';
export { applyProjection } from './manifest/projection-definition';
export type { ProjectionDefinition } from './manifest/projection-definition';
export { EventStoreManifests } from './manifest/event-store-manifests';
export { EventStoreManifestsModule } from './manifest/event-store-manifests.module';
export type { EventUpcaster } from './upcasting/event-upcasters';
export { EventUpcasters, UnreadableEventVersionError } from './upcasting/event-upcasters';
export { DomainEventClasses } from './reactions/domain-event-classes';

// The Nest module and what it provides
export { EventStoreModule } from './event-store.module';
export { AppendedEventMetrics } from './appended-event-metrics';
export { EventAppendedSignal } from './event-appended-signal';
export { RequestCauseInterceptor } from './http/request-cause.interceptor';
export { StreamNotFoundError } from './http/streams.controller';
export { EventSequencer, SEQUENCER_LOCK_KEY } from './sequencing/event-sequencer';
export { CheckpointTracker, EventStoreHead } from './sequencing/event-store-head';
export { Latch, Signal } from './sequencing/signal';
export { segmentLockCondition } from './segments/segment-locks';

// Durable reactions (event handlers and sagas that survive a crash)
export { DurableReaction } from './reactions/durable-reaction.decorator';
export { DurableReactions } from './reactions/durable-reactions';
export { originOf } from './reactions/event-origin';
export { listParkedReactions, requestParkedReactionRetry } from './reactions/parked-reactions';
export type { ParkedReaction } from './reactions/parked-reactions';

// Subscriptions: the checkpointed readers of the store, and what operators do with them
export { EventSubscriptions } from './subscription/event-subscriptions';
export { countEventsAfter, ensureCheckpoint, readCheckpointAndEventsAfter } from './subscription/committed-events';
export {
  describeError,
  failureOf,
  recordFailure,
  requestRetry,
  skipFailingEvent,
  SUBSCRIPTION_RETRY_CHANNEL,
} from './subscription/subscription-failures';
export type { SubscriptionFailure, SubscriptionFailureRow } from './subscription/subscription-failures';
export { PAUSED_RECHECK_MS, pauseSubscription, resumeSubscription } from './subscription/subscription-pauses';
export type { SubscriptionPause } from './subscription/subscription-pauses';
export { readSubscriptionStatuses, SUBSCRIPTION_STATUS_SQL } from './subscription/subscription-status';
export type { PauseRow, SegmentStatus, SubscriptionStatus } from './subscription/subscription-status';

// Rebuilding projections from the whole store
export { ProjectionRebuilder } from './rebuild/projection-rebuilder';
export type { RebuildResult } from './rebuild/projection-rebuilder';
export { isIdentical } from './rebuild/read-model-comparison';
export type { ReadModelDifferences } from './rebuild/read-model-comparison';
export { acquireRebuildLock, RebuildAlreadyRunningError, rebuildLockCondition } from './rebuild/rebuild-lock';
export type { RebuildLock } from './rebuild/rebuild-lock';
export type { RebuildProgress } from './rebuild/rebuild-progress';
export { rebuildPermissionProblem } from './rebuild/rebuild-table';
