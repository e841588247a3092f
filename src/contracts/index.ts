import { OrderCancelledV1, OrderConfirmedV1, OrderCreditDeclinedV1, OrderPlacedV1, OrderRejectedV1, OrderShippedV1 } from './order-events.v1';
import {
  CreditConsumedV1,
  CreditRejectedV1,
  CreditReleasedV1,
  CreditReservedV1,
  UserDeactivatedV1,
  UserEmailChangedV1,
  UserRegisteredV1,
} from './user-events.v1';

export * from './order-events.v1';
export * from './user-events.v1';
export * from './cloud-event-envelope';
export * from './cloud-event-amqp-properties';
// Tooling over the contracts: their payload JSON Schema (AsyncAPI) and the published snapshots (npm run contracts:snapshot).
export { contractPayloadSchema, type JsonSchema } from './contract-schema';
export { planSnapshotWrites, readSnapshots, SNAPSHOT_DIRECTORY, snapshotFileName, writeSnapshot } from './contract-snapshots';

export interface IntegrationEventContract<T extends object = object> {
  readonly type: string;
  new (): T;
}

/** Every integration event the system publishes, by CloudEvents `type`. */
export const INTEGRATION_EVENT_CONTRACTS: ReadonlyMap<string, IntegrationEventContract> = new Map(
  [
    UserRegisteredV1,
    UserEmailChangedV1,
    UserDeactivatedV1,
    CreditReservedV1,
    CreditRejectedV1,
    CreditReleasedV1,
    CreditConsumedV1,
    OrderPlacedV1,
    OrderConfirmedV1,
    OrderRejectedV1,
    OrderCancelledV1,
    OrderShippedV1,
    OrderCreditDeclinedV1,
  ].map((contract) => [contract.type, contract as IntegrationEventContract]),
);
