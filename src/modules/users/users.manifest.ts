import { USER_EVENTS_SOURCE } from '../../contracts';
import type { EventStoreManifest } from '../../event-store';
import { USER_EVENT_CLASSES, USER_STREAM_TYPE, type UserStoredEvent } from './domain/user.events';
import { USER_PUBLICATION } from './integration/user-integration-events';

/** Everything the event store knows about the Users module's events (listed in src/modules/manifests.ts). */
export const USERS_EVENT_STORE_MANIFEST: EventStoreManifest<UserStoredEvent> = {
  streamType: USER_STREAM_TYPE,
  eventClasses: USER_EVENT_CLASSES,
  upcasters: [],
  publication: { source: USER_EVENTS_SOURCE, events: USER_PUBLICATION },
  // None: GET /users/{id} reads the users row; a list of users would be what earns one.
  projections: [],
};
