import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiAcceptedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CommandMetadata } from '../../../event-store/event-metadata';
import { ApiProblemResponses } from '../../../http/api-problem-responses';
import { ApiIdempotencyKey } from '../../../http/idempotency/api-idempotency-key';
import { RequestMetadata } from '../../../http/correlation-id';
import { CancelOrderCommand } from '../commands/cancel-order/cancel-order.command';
import { PlaceOrderCommand } from '../commands/place-order/place-order.command';
import { ShipOrderCommand } from '../commands/ship-order/ship-order.command';
import { GetOrderQuery } from '../queries/get-order/get-order.query';
import { ListOrdersQuery } from '../queries/list-orders/list-orders.query';
import { ListOrdersRequest } from './list-orders.request';
import { OrderPageResponse, OrderResponse, PlacedOrderResponse } from './order.response';
import { CancelOrderRequest, PlaceOrderRequest } from './place-order.request';

const uuid = new ParseUUIDPipe({ version: undefined });

@ApiTags('orders')
@Controller('orders')
export class OrdersController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  @Post()
  @ApiIdempotencyKey()
  @HttpCode(202)
  @ApiAcceptedResponse({ type: PlacedOrderResponse, description: 'Placed, PENDING until credit is checked' })
  @ApiProblemResponses(400, 404, 413)
  async place(
    @Body() body: PlaceOrderRequest,
    @RequestMetadata() metadata: CommandMetadata,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PlacedOrderResponse> {
    const { id } = await this.commands.execute(new PlaceOrderCommand(body.customerId, body.currency, body.lines, metadata));
    void reply.header('location', `/orders/${id}`);
    return { id, status: 'PENDING' };
  }

  @Get()
  @ApiOkResponse({ type: OrderPageResponse })
  @ApiProblemResponses(400)
  list(@Query() { customerId, status, limit, cursor }: ListOrdersRequest): Promise<OrderPageResponse> {
    return this.queries.execute(new ListOrdersQuery({ customerId, status }, limit ?? 20, cursor));
  }

  @Get(':id')
  @ApiOkResponse({ type: OrderResponse })
  @ApiProblemResponses(400, 404)
  get(@Param('id', uuid) id: string): Promise<OrderResponse> {
    return this.queries.execute(new GetOrderQuery(id));
  }

  @Post(':id/cancel')
  @ApiIdempotencyKey()
  @HttpCode(202)
  @ApiAcceptedResponse({ description: 'Cancelled' })
  @ApiProblemResponses(400, 404, 409)
  async cancel(
    @Param('id', uuid) id: string,
    @Body() body: CancelOrderRequest,
    @RequestMetadata() metadata: CommandMetadata,
  ): Promise<void> {
    await this.commands.execute(new CancelOrderCommand(id, body.reason, metadata));
  }

  @Post(':id/ship')
  @ApiIdempotencyKey()
  @HttpCode(202)
  @ApiAcceptedResponse({ description: 'Shipped' })
  @ApiProblemResponses(400, 404, 409)
  async ship(@Param('id', uuid) id: string, @RequestMetadata() metadata: CommandMetadata): Promise<void> {
    await this.commands.execute(new ShipOrderCommand(id, metadata));
  }
}
