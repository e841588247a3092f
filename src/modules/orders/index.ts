// The Orders module's public face: other modules may import only from here. Between modules the
// published language is the contracts in src/contracts (ORDER_PUBLICATION); domain events and
// commands stay inside.
export { OrdersModule } from './orders.module';
export { GetOrderQuery } from './queries/get-order/get-order.query';
export { ListOrdersQuery } from './queries/list-orders/list-orders.query';
export type { OrderPage } from './queries/list-orders/list-orders.query';
export type { OrderView } from './queries/get-order/order.view';
export type { OrderStatus } from './domain/order';
export { ORDER_STREAM_TYPE } from './domain/order.events';
// Its events' facts for the event store, the app and every CLI (see src/modules/manifests.ts).
export { ORDERS_EVENT_STORE_MANIFEST } from './orders.manifest';
