import type { EventStoreManifest } from '../event-store';
import { ORDERS_EVENT_STORE_MANIFEST } from './orders';
import { USERS_EVENT_STORE_MANIFEST } from './users';

/**
 * Every module's event-store manifest: the one list the app registers (AppModule) and every CLI
 * reads (rebuild-projections, republish-events, fill-store), so a module's upcaster, event class,
 * contract or projection is known to all of them or to none. Projections start in this order.
 * manifests.spec.ts fails when a module's manifest is missing here.
 */
export const EVENT_STORE_MANIFESTS: readonly EventStoreManifest[] = [USERS_EVENT_STORE_MANIFEST, ORDERS_EVENT_STORE_MANIFEST];
