import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EventStoreModule } from '../../event-store';
import { CancelOrderHandler } from './commands/cancel-order/cancel-order.handler';
import { ConfirmOrderHandler } from './commands/confirm-order/confirm-order.handler';
import { PlaceOrderHandler } from './commands/place-order/place-order.handler';
import { RejectOrderHandler } from './commands/reject-order/reject-order.handler';
import { RejectPendingOrdersHandler } from './commands/reject-pending-orders/reject-pending-orders.handler';
import { OrderDeadlineWatcher } from './deadlines/order-deadline-watcher';
import { OrderDeadlines } from './deadlines/order-deadlines';
import { ShipOrderHandler } from './commands/ship-order/ship-order.handler';
import { OrderRepository } from './domain/order.repository';
import { OrdersController } from './http/orders.controller';
import { OrderRecord } from './persistence/order.record';
import { TypeOrmOrderRepository } from './persistence/typeorm-order.repository';
import { OrderSummaryRecord } from './projections/order-summary.record';
import { GetOrderHandler } from './queries/get-order/get-order.handler';
import { ListOrdersHandler } from './queries/list-orders/list-orders.handler';
import { OrderFulfilmentSaga } from './sagas/order-fulfilment.saga';
import { OrderOutcomeMetrics } from './sagas/order-outcome.metrics';

/** Its events' facts (classes, upcasters, contracts, projections) are in orders.manifest.ts: the app registers every module's manifest in one place. */
@Module({
  imports: [TypeOrmModule.forFeature([OrderRecord, OrderSummaryRecord]), EventStoreModule],
  controllers: [OrdersController],
  providers: [
    { provide: OrderRepository, useClass: TypeOrmOrderRepository },
    PlaceOrderHandler,
    CancelOrderHandler,
    ShipOrderHandler,
    ConfirmOrderHandler,
    RejectOrderHandler,
    RejectPendingOrdersHandler,
    OrderFulfilmentSaga,
    OrderOutcomeMetrics,
    OrderDeadlines,
    OrderDeadlineWatcher,
    GetOrderHandler,
    ListOrdersHandler,
  ],
})
export class OrdersModule {}
