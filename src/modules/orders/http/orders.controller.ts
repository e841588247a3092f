import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { RequireScopes } from '../../../auth/access.decorators';
import { ApiIfMatch, ETAG_RESPONSE_HEADER, locationResponseHeader } from '../../../http/conditional-requests/api-entity-tags';
import { IfMatch, withEntityTag } from '../../../http/conditional-requests/entity-tag';
import { ApiProblems } from '../../../http/openapi/api-problems.decorator';
import { causeOf, EXAMPLE_IDS, invalidFields, MALFORMED_UUID } from '../../../http/openapi/problem-causes';
import { ConcurrencyConflictError } from '../../../shared/domain-error';
import { CustomerNotFoundError, OrderCannotBeCancelledError, OrderCannotBeShippedError, OrderNotFoundError } from '../domain/order.errors';
import { CancelOrderCommand } from '../commands/cancel-order/cancel-order.command';
import { PlaceOrderCommand } from '../commands/place-order/place-order.command';
import { ShipOrderCommand } from '../commands/ship-order/ship-order.command';
import { GetOrderQuery } from '../queries/get-order/get-order.query';
import { ListOrdersQuery } from '../queries/list-orders/list-orders.query';
import { ListOrdersRequest } from './list-orders.request';
import { OrderPageResponse, OrderResponse, PlacedOrderResponse } from './order.response';
import { CancelOrderRequest, PlaceOrderRequest } from './place-order.request';
import { CanonicalUuidPipe } from '../../../http/canonical-uuid';

const uuid = new CanonicalUuidPipe();
const ORDER_ID = ApiParam({ name: 'id', format: 'uuid', description: "the order's id (`Location` of POST /orders)", example: EXAMPLE_IDS.order });
const NOT_FOUND = causeOf(new OrderNotFoundError(EXAMPLE_IDS.order));
const LOST_RACE = causeOf(new ConcurrencyConflictError(EXAMPLE_IDS.order), 'Other requests kept changing the order (retried, then given up)');

@ApiTags('Orders')
@Controller('orders')
export class OrdersController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  @Post()
  @RequireScopes('orders:write')
  @ApiOperation({
    operationId: 'placeOrder',
    summary: 'Place an order for a customer',
    description: "Answers at once with the order PENDING; the saga then reserves the customer's credit and confirms or rejects it (GET it to follow).",
  })
  @HttpCode(202)
  @ApiAcceptedResponse({
    type: PlacedOrderResponse,
    description: 'Placed, PENDING until credit is checked; a GET of `Location` shows it at once',
    headers: { ...locationResponseHeader(`/orders/${EXAMPLE_IDS.order}`), ...ETAG_RESPONSE_HEADER },
  })
  @ApiProblems(
    invalidFields([{ field: 'lines.0.quantity', message: 'quantity must be an integer number' }]),
    causeOf(new CustomerNotFoundError(EXAMPLE_IDS.user), 'No user has the customerId'),
  )
  async place(
    @Body() body: PlaceOrderRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PlacedOrderResponse> {
    const { id, version } = await this.commands.execute(new PlaceOrderCommand(body.customerId, body.currency, body.lines));
    void reply.header('location', `/orders/${id}`);
    withEntityTag(reply, version);
    return { id, status: 'PENDING' };
  }

  @Get()
  @RequireScopes('orders:read')
  @ApiOperation({ operationId: 'listOrders', summary: 'List orders, newest first, by customer and status, a page at a time' })
  @ApiOkResponse({
    type: OrderPageResponse,
    description: 'Read from the `order_summaries` projection, which follows the writes within milliseconds (eventually consistent)',
  })
  @ApiProblems(invalidFields([{ field: 'limit', message: 'limit must not be greater than 100' }], 'A query parameter is invalid'))
  list(@Query() { customerId, status, limit, cursor }: ListOrdersRequest): Promise<OrderPageResponse> {
    return this.queries.execute(new ListOrdersQuery({ customerId, status }, limit ?? 20, cursor));
  }

  @Get(':id')
  @RequireScopes('orders:read')
  @ApiOperation({ operationId: 'getOrder', summary: 'Get an order: status, lines, total' })
  @ORDER_ID
  @ApiOkResponse({
    type: OrderResponse,
    description: "The order's current state, never behind a command that answered before this request",
    headers: ETAG_RESPONSE_HEADER,
  })
  @ApiProblems(MALFORMED_UUID, NOT_FOUND)
  async get(@Param('id', uuid) id: string, @Res({ passthrough: true }) reply: FastifyReply): Promise<OrderResponse> {
    const order = await this.queries.execute(new GetOrderQuery(id));
    withEntityTag(reply, order.version);
    return order;
  }

  @Post(':id/cancel')
  @RequireScopes('orders:write')
  @ApiOperation({ operationId: 'cancelOrder', summary: 'Cancel an order that is not shipped yet (its reserved credit is released)' })
  @ORDER_ID
  @ApiIfMatch()
  @HttpCode(202)
  @ApiAcceptedResponse({ description: 'Cancelled', headers: ETAG_RESPONSE_HEADER })
  @ApiProblems(
    MALFORMED_UUID,
    invalidFields([{ field: 'reason', message: 'reason must be longer than or equal to 1 characters' }]),
    NOT_FOUND,
    causeOf(new OrderCannotBeCancelledError(EXAMPLE_IDS.order, 'SHIPPED')),
    LOST_RACE,
  )
  async cancel(
    @Param('id', uuid) id: string,
    @Body() body: CancelOrderRequest,
    @IfMatch() expectedVersion: number | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    const { version } = await this.commands.execute(new CancelOrderCommand(id, body.reason, expectedVersion));
    withEntityTag(reply, version);
  }

  @Post(':id/ship')
  @RequireScopes('orders:write')
  @ApiOperation({ operationId: 'shipOrder', summary: 'Ship a CONFIRMED order' })
  @ORDER_ID
  @ApiIfMatch()
  @HttpCode(202)
  @ApiAcceptedResponse({ description: 'Shipped', headers: ETAG_RESPONSE_HEADER })
  @ApiProblems(MALFORMED_UUID, NOT_FOUND, causeOf(new OrderCannotBeShippedError(EXAMPLE_IDS.order, 'PENDING')), LOST_RACE)
  async ship(
    @Param('id', uuid) id: string,
    @IfMatch() expectedVersion: number | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    const { version } = await this.commands.execute(new ShipOrderCommand(id, expectedVersion));
    withEntityTag(reply, version);
  }
}
