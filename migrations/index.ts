import { InitialSchema1763880000000 } from './1763880000000-InitialSchema';
import { IdempotencyKeys1763880100000 } from './1763880100000-IdempotencyKeys';
import { OrderSaga1763880300000 } from './1763880300000-OrderSaga';
import { GlobalPositions1763880400000 } from './1763880400000-GlobalPositions';
import { OrderDeadlines1764500000000 } from './1764500000000-OrderDeadlines';
import { IdempotentResponseETag1764600000000 } from './1764600000000-IdempotentResponseETag';
import { SubscriptionFailures1764700000000 } from './1764700000000-SubscriptionFailures';
import { ReactionReceipts1764800000000 } from './1764800000000-ReactionReceipts';
import { SubscriptionSegments1764900000000 } from './1764900000000-SubscriptionSegments';
import { SubscriptionPauses1765000000000 } from './1765000000000-SubscriptionPauses';
import { ProjectionRebuildJobs1765000100000 } from './1765000100000-ProjectionRebuildJobs';
import { RelayBatches1765100000000 } from './1765100000000-RelayBatches';
import { EventsCorrelationIdIndex1765100100000 } from './1765100100000-EventsCorrelationIdIndex';
import { OrderCreditReaction1765200000000 } from './1765200000000-OrderCreditReaction';
import { OrderTotalsAsMoney1765300000000 } from './1765300000000-OrderTotalsAsMoney';
import { DropUserProfiles1765300100000 } from './1765300100000-DropUserProfiles';
import { CreditReservationsTable1765300200000 } from './1765300200000-CreditReservationsTable';
import { OrderDeadlinesWithPlacement1765300300000 } from './1765300300000-OrderDeadlinesWithPlacement';
import { SequenceEventsFunction1765400000000 } from './1765400000000-SequenceEventsFunction';
import { SequenceEventsBatchByPosition1765500000000 } from './1765500000000-SequenceEventsBatchByPosition';

/** Every migration, in order. Listed by class so that builds, tests and the CLI load the same set. */
export const migrations = [
  InitialSchema1763880000000,
  IdempotencyKeys1763880100000,
  OrderSaga1763880300000,
  GlobalPositions1763880400000,
  OrderDeadlines1764500000000,
  IdempotentResponseETag1764600000000,
  ReactionReceipts1764800000000,
  SubscriptionFailures1764700000000,
  SubscriptionSegments1764900000000,
  SubscriptionPauses1765000000000,
  ProjectionRebuildJobs1765000100000,
  RelayBatches1765100000000,
  EventsCorrelationIdIndex1765100100000,
  OrderCreditReaction1765200000000,
  OrderTotalsAsMoney1765300000000,
  DropUserProfiles1765300100000,
  CreditReservationsTable1765300200000,
  OrderDeadlinesWithPlacement1765300300000,
  SequenceEventsFunction1765400000000,
  SequenceEventsBatchByPosition1765500000000,
];
