// The Orders module's public face: other modules may import only from here.
export { OrdersModule } from './orders.module';
export { ConfirmOrderCommand } from './commands/confirm-order/confirm-order.command';
export { RejectOrderCommand } from './commands/reject-order/reject-order.command';
export { GetOrderQuery } from './queries/get-order/get-order.query';
export { ListOrdersQuery } from './queries/list-orders/list-orders.query';
export type { OrderPage } from './queries/list-orders/list-orders.query';
export type { OrderView } from './queries/get-order/order.view';
export type { OrderStatus } from './domain/order';
// Events other modules may react to on the CQRS bus (delivered durably, see DurableReactions).
export { OrderPlacedEvent, OrderConfirmedEvent, OrderRejectedEvent, OrderCancelledEvent, OrderShippedEvent } from './domain/order.events';
export type { Money } from './domain/order.events';
export { ORDER_STREAM_TYPE } from './domain/order.events';
// Its events' facts for the event store, the app and every CLI (see src/modules/manifests.ts).
export { ORDERS_EVENT_STORE_MANIFEST } from './orders.manifest';
