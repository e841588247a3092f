import type { RebuildableProjection } from '../event-store/rebuild/rebuildable-projection';
import { EventUpcasters } from '../event-store/upcasting/event-upcasters';
import { ORDER_EVENT_UPCASTERS, orderSummariesRebuildable } from '../modules/orders';
import { userProfilesRebuildable } from '../modules/users';

/** Every read model `npm run rebuild-projections` can rebuild; each module declares its own. */
export const rebuildableProjections: readonly RebuildableProjection[] = [userProfilesRebuildable, orderSummariesRebuildable];

/** The upcasters the modules register in the app, for replays that run without it. */
export function storeUpcasters(): EventUpcasters {
  const upcasters = new EventUpcasters();
  upcasters.register(...ORDER_EVENT_UPCASTERS);
  return upcasters;
}
