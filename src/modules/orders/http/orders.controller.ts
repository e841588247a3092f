import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiAcceptedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { RequireScopes } from '../../../auth/access.decorators';
import { CommandMetadata } from '../../../event-store/event-metadata';
import { ApiProblemResponses } from '../../../http/api-problem-responses';
import { ApiIfMatch, ETAG_RESPONSE_HEADER, LOCATION_RESPONSE_HEADER } from '../../../http/conditional-requests/api-entity-tags';
import { IfMatch, withEntityTag } from '../../../http/conditional-requests/entity-tag';
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
  @RequireScopes('orders:write')
  @ApiIdempotencyKey()
  @HttpCode(202)
  @ApiAcceptedResponse({
    type: PlacedOrderResponse,
    description: 'Placed, PENDING until credit is checked; a GET of `Location` shows it at once',
    headers: { ...LOCATION_RESPONSE_HEADER, ...ETAG_RESPONSE_HEADER },
  })
  @ApiProblemResponses(400, 404, 413, 503)
  async place(
    @Body() body: PlaceOrderRequest,
    @RequestMetadata() metadata: CommandMetadata,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PlacedOrderResponse> {
    const { id, version } = await this.commands.execute(new PlaceOrderCommand(body.customerId, body.currency, body.lines, metadata));
    void reply.header('location', `/orders/${id}`);
    withEntityTag(reply, version);
    return { id, status: 'PENDING' };
  }

  @Get()
  @RequireScopes('orders:read')
  @ApiOkResponse({
    type: OrderPageResponse,
    description: 'Read from the `order_summaries` projection, which follows the writes within milliseconds (eventually consistent)',
  })
  @ApiProblemResponses(400)
  list(@Query() { customerId, status, limit, cursor }: ListOrdersRequest): Promise<OrderPageResponse> {
    return this.queries.execute(new ListOrdersQuery({ customerId, status }, limit ?? 20, cursor));
  }

  @Get(':id')
  @RequireScopes('orders:read')
  @ApiOkResponse({
    type: OrderResponse,
    description: "The order's current state, never behind a command that answered before this request",
    headers: ETAG_RESPONSE_HEADER,
  })
  @ApiProblemResponses(400, 404)
  async get(@Param('id', uuid) id: string, @Res({ passthrough: true }) reply: FastifyReply): Promise<OrderResponse> {
    const order = await this.queries.execute(new GetOrderQuery(id));
    withEntityTag(reply, order.version);
    return order;
  }

  @Post(':id/cancel')
  @RequireScopes('orders:write')
  @ApiIdempotencyKey()
  @ApiIfMatch()
  @HttpCode(202)
  @ApiAcceptedResponse({ description: 'Cancelled', headers: ETAG_RESPONSE_HEADER })
  @ApiProblemResponses(400, 404, 409, 412, 503)
  async cancel(
    @Param('id', uuid) id: string,
    @Body() body: CancelOrderRequest,
    @IfMatch() expectedVersion: number | undefined,
    @RequestMetadata() metadata: CommandMetadata,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    const { version } = await this.commands.execute(new CancelOrderCommand(id, body.reason, metadata, expectedVersion));
    withEntityTag(reply, version);
  }

  @Post(':id/ship')
  @RequireScopes('orders:write')
  @ApiIdempotencyKey()
  @ApiIfMatch()
  @HttpCode(202)
  @ApiAcceptedResponse({ description: 'Shipped', headers: ETAG_RESPONSE_HEADER })
  @ApiProblemResponses(400, 404, 409, 412, 503)
  async ship(
    @Param('id', uuid) id: string,
    @IfMatch() expectedVersion: number | undefined,
    @RequestMetadata() metadata: CommandMetadata,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    const { version } = await this.commands.execute(new ShipOrderCommand(id, metadata, expectedVersion));
    withEntityTag(reply, version);
  }
}
