import type { RebuildableProjection } from '../../../event-store/rebuild/rebuildable-projection';
import { UserProfileProjector } from './user-profile.projector';

/** `npm run rebuild-projections -- user-profiles` */
export const userProfilesRebuildable: RebuildableProjection = {
  name: 'user-profiles',
  subscriptionId: UserProfileProjector.subscriptionName,
  table: UserProfileProjector.table,
  project: (events, db, table) => UserProfileProjector.project(events, db, table),
};
