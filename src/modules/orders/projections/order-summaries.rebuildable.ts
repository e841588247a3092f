import type { RebuildableProjection } from '../../../event-store/rebuild/rebuildable-projection';
import { OrderSummaryProjector } from './order-summary.projector';

/** `npm run rebuild-projections -- order-summaries` */
export const orderSummariesRebuildable: RebuildableProjection = {
  name: 'order-summaries',
  subscriptionId: OrderSummaryProjector.subscriptionName,
  table: OrderSummaryProjector.table,
  project: (events, db, table) => OrderSummaryProjector.project(events, db, table),
};
