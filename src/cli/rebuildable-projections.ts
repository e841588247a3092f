import type { RebuildableProjection } from '../event-store/rebuild/rebuildable-projection';
import { orderSummariesRebuildable } from '../modules/orders';
import { userProfilesRebuildable } from '../modules/users';

/** Every read model `npm run rebuild-projections` can rebuild; each module declares its own. */
export const rebuildableProjections: readonly RebuildableProjection[] = [userProfilesRebuildable, orderSummariesRebuildable];
