import { Controller, Get, Header, Headers, Param } from '@nestjs/common';
import { RouteConstraints } from '@nestjs/platform-fastify';
import { ApiExcludeEndpoint, ApiExtraModels, ApiOperation, ApiParam, ApiResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { Public, RequireScopes } from '../../auth/access.decorators';
import { ApiProblems } from '../../http/openapi/api-problems.decorator';
import { causeOf, invalidFields } from '../../http/openapi/problem-causes';
import { FLOW_PAGE_CONTENT_SECURITY_POLICY } from '../../http/security-headers';
import { DomainError } from '../../shared/domain-error';
import { ConsumerEffects } from '../consumer-effects';
import { buildFlow } from '../flow-graph';
import { FlowRecords } from '../flow-records';
import { ParseCorrelationIdPipe } from './correlation-id.pipe';
import { FlowResponse } from './flow.response';
import { FlowPage, PAGE_REQUEST } from './flow-page';

export class FlowNotFoundError extends DomainError {
  readonly code = 'FLOW_NOT_FOUND';
  readonly kind = 'not-found';

  constructor(correlationId: string) {
    super(`no stored event carries the correlation id ${correlationId}`);
  }
}

const EXAMPLE_ID = '0199d3c4-0000-7000-8000-000000000001';
const ORDER_PLACED = '0199d3c4-0001-7000-8000-000000000002';
const CREDIT_RESERVED = '0199d3c4-0002-7000-8000-000000000003';

/** What the 200 shows in the API docs: the first steps of an order placed (abridged). */
const FLOW_EXAMPLE: FlowResponse = {
  correlationId: EXAMPLE_ID,
  startedAt: '2026-12-01T10:00:00.000Z',
  endedAt: '2026-12-01T10:00:00.031Z',
  durationMs: 31,
  truncated: false,
  consumer: { status: 'reachable' },
  nodes: [
    { id: 'request:1', kind: 'request', label: 'POST /orders', at: '2026-12-01T10:00:00.000Z', offsetMs: 0, causedBy: null, gapMs: null, request: { method: 'POST', path: '/orders' } },
    { id: 'command:1', kind: 'command', label: 'PlaceOrderCommand', at: '2026-12-01T10:00:00.002Z', offsetMs: 2, causedBy: 'request:1', gapMs: 2, command: { name: 'PlaceOrderCommand' } },
    {
      id: `event:${ORDER_PLACED}`,
      kind: 'event',
      label: 'OrderPlaced',
      at: '2026-12-01T10:00:00.004Z',
      offsetMs: 4,
      causedBy: 'command:1',
      gapMs: 2,
      event: { eventId: ORDER_PLACED, streamType: 'Order', streamId: '0199d3c4-0003-7000-8000-000000000004', streamVersion: 1, globalPosition: '41' },
    },
    {
      id: `step:reaction:order-credit:${ORDER_PLACED}:reserveCreditForPlacedOrder`,
      kind: 'reaction-step',
      label: 'order-credit: reserveCreditForPlacedOrder',
      at: '2026-12-01T10:00:00.009Z',
      offsetMs: 9,
      causedBy: `event:${ORDER_PLACED}`,
      gapMs: 5,
      step: { reaction: 'reaction:order-credit', step: 'reserveCreditForPlacedOrder', eventId: ORDER_PLACED },
    },
    {
      id: 'command:2',
      kind: 'command',
      label: 'ReserveCreditCommand',
      at: '2026-12-01T10:00:00.010Z',
      offsetMs: 10,
      causedBy: `step:reaction:order-credit:${ORDER_PLACED}:reserveCreditForPlacedOrder`,
      gapMs: 1,
      command: { name: 'ReserveCreditCommand', reaction: 'reaction:order-credit', step: 'reserveCreditForPlacedOrder' },
    },
    {
      id: `event:${CREDIT_RESERVED}`,
      kind: 'event',
      label: 'CreditReserved',
      at: '2026-12-01T10:00:00.012Z',
      offsetMs: 12,
      causedBy: 'command:2',
      gapMs: 2,
      event: { eventId: CREDIT_RESERVED, streamType: 'User', streamId: '0199d3c4-0004-7000-8000-000000000005', streamVersion: 3, globalPosition: '42' },
    },
    {
      id: `publish:${ORDER_PLACED}`,
      kind: 'publish',
      label: 'com.example.orders.order-placed.v1',
      at: '2026-12-01T10:00:00.016Z',
      offsetMs: 16,
      causedBy: `event:${ORDER_PLACED}`,
      gapMs: 12,
      publish: { routingKey: 'com.example.orders.order-placed.v1', status: 'published', confirmedAt: '2026-12-01T10:00:00.019Z' },
    },
    {
      id: `consumer:${ORDER_PLACED}`,
      kind: 'consumer-effect',
      label: 'customer-stats',
      at: '2026-12-01T10:00:00.031Z',
      offsetMs: 31,
      causedBy: `publish:${ORDER_PLACED}`,
      gapMs: 15,
      consumer: { status: 'applied', effects: [{ readModel: 'customer-stats' }] },
    },
  ],
};

/**
 * The journey of one request: `GET /flows/{correlationId}` answers the causal graph as JSON, and
 * the same URL opened in a browser (`Accept: text/html`) answers the page that draws it, which
 * asks for a token and fetches the JSON with it (see FlowPage). One URL for the flow, so the
 * audit trail's links serve people and programs alike.
 */
@ApiTags('Flows')
@ApiExtraModels(FlowResponse)
@Controller('flows')
export class FlowsController {
  constructor(
    private readonly records: FlowRecords,
    private readonly consumer: ConsumerEffects,
    private readonly page: FlowPage,
  ) {}

  @Get(':correlationId')
  @RequireScopes('admin')
  @ApiOperation({
    operationId: 'getFlow',
    summary: 'The causal graph of everything one request caused',
    description:
      'Every node one correlation id reaches, with its time and the gap since its cause: each HTTP request → its command → the events it ' +
      'appended → each reaction (saga) step that took an event → that step\'s commands and their events → each publish to RabbitMQ → the ' +
      'consumer app\'s effect. The consumer is asked over HTTP (CONSUMER_URL) with the caller\'s token; when it cannot be asked, its nodes ' +
      'say so (`consumer.status`) and the rest is answered. Opened in a browser (`Accept: text/html`), the same URL answers a page that ' +
      'draws the graph (public: it holds no data, and asks for a token to fetch this JSON).',
  })
  @ApiParam({ name: 'correlationId', description: 'the X-Correlation-Id of the request (echoed on every response, stored in every event\'s metadata)', example: EXAMPLE_ID })
  @ApiResponse({
    status: 200,
    description: 'The flow, earliest node first',
    headers: {
      Vary: { description: '`Accept`: the same URL answers the page to a browser', schema: { type: 'string' } },
      'Cache-Control': { description: '`no-store` for the JSON (no cache keeps a flow), `no-cache` for the page', schema: { type: 'string' } },
    },
    content: {
      'application/json': { schema: { $ref: getSchemaPath(FlowResponse) }, example: FLOW_EXAMPLE },
      'text/html': { schema: { type: 'string' }, example: '<!doctype html><html lang="en">…the page that draws the flow…</html>' },
    },
  })
  @ApiProblems(
    invalidFields(
      [{ field: 'correlationId', message: 'correlationId must be 1 to 128 letters, digits or ._:- (what X-Correlation-Id carries)' }],
      'The correlation id is not one X-Correlation-Id could carry',
    ),
    causeOf(new FlowNotFoundError(EXAMPLE_ID), 'No stored event carries this correlation id (a request that changed nothing, or an unknown id)'),
  )
  // One URL, two representations (the page below): caches must tell them apart, and the flow, which
  // needs the admin scope, is not kept by any (Back would find it under the page's URL).
  @Header('vary', 'Accept')
  @Header('cache-control', 'no-store')
  async flow(@Param('correlationId', ParseCorrelationIdPipe) correlationId: string, @Headers('authorization') authorization?: string): Promise<FlowResponse> {
    const records = await this.records.read(correlationId);
    if (!records) throw new FlowNotFoundError(correlationId);
    const published = records.events.filter(({ eventId }) => records.routingKeys.has(eventId)).map(({ eventId }) => eventId);
    const consumer = await this.consumer.of(published, authorization);
    return { ...buildFlow({ ...records, consumer }), truncated: records.truncated };
  }

  @Get(':correlationId')
  @RouteConstraints(PAGE_REQUEST)
  @Public()
  @ApiExcludeEndpoint()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', FLOW_PAGE_CONTENT_SECURITY_POLICY)
  @Header('cache-control', 'no-cache')
  @Header('vary', 'Accept')
  flowPage(): string {
    return this.page.html;
  }

  /** The search page: the same page without a flow. */
  @Get()
  @RouteConstraints(PAGE_REQUEST)
  @Public()
  @ApiExcludeEndpoint()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', FLOW_PAGE_CONTENT_SECURITY_POLICY)
  @Header('cache-control', 'no-cache')
  @Header('vary', 'Accept')
  searchPage(): string {
    return this.page.html;
  }

  @Get('assets/:file')
  @Public()
  @ApiExcludeEndpoint()
  @Header('cache-control', 'no-cache')
  asset(@Param('file') file: string) {
    return this.page.asset(file);
  }
}
