import type { OpenAPIObject } from '@nestjs/swagger';
import { completeApiDocument } from './api-document';
import { problemResponse } from './http/openapi/problem-responses';

/** A node of the completed document, walked loosely (its shape is what these tests assert). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const ok = { description: 'done' };
const secured = [{ bearer: [] }];

function generated(): OpenAPIObject {
  return {
    openapi: '3.0.0',
    info: { title: 't', version: '1' },
    paths: {
      '/orders/{id}/ship': {
        post: {
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
          security: secured,
          responses: { 202: ok, 404: problemResponse(404, [{ name: 'ORDER_NOT_FOUND', summary: 's', problem: { status: 404, code: 'ORDER_NOT_FOUND' } }]) },
        },
      },
      '/orders/{id}': { get: { parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }], security: secured, responses: { 200: ok } } },
      '/admin/subscriptions/{id}/retry': {
        post: { parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', example: 'projection:orders' } }], security: secured, responses: { 202: ok } },
      },
      '/health': { get: { security: [{}], responses: { 200: ok } } },
    },
  };
}

describe('completeApiDocument', () => {
  const document = completeApiDocument(generated());
  const ship = document.paths['/orders/{id}/ship'].post!;
  const examplesOf = (status: number) => Object.keys((ship.responses[status] as Json).content['application/problem+json'].examples);

  it('gives every command the Idempotency-Key header, Idempotent-Replayed on its successes and the refusals of the body hooks', () => {
    expect(ship.parameters).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false }));
    expect((ship.responses[202] as Json).headers['Idempotent-Replayed']).toEqual({ $ref: '#/components/headers/Idempotent-Replayed' });
    expect(examplesOf(400)).toEqual(['MALFORMED_JSON', 'NESTED_TOO_DEEP', 'INVALID_IDEMPOTENCY_KEY']);
    expect([examplesOf(413), examplesOf(415), examplesOf(422)]).toEqual([['CONTENT_TOO_LARGE'], ['UNSUPPORTED_MEDIA_TYPE'], ['IDEMPOTENCY_KEY_REUSED']]);
    expect(document.paths['/orders/{id}'].get!.parameters).not.toContainEqual(expect.objectContaining({ name: 'Idempotency-Key' }));
  });

  const examplesOf503 = (path: string, method: 'get' | 'post') =>
    Object.keys((document.paths[path][method]!.responses[503] as Json).content['application/problem+json'].examples);

  it('documents load shedding on the commands admission control may shed, not on the admin API nor reads', () => {
    expect(examplesOf(503)).toEqual(['LOAD_SHED', 'DATABASE_UNAVAILABLE']);
    expect(examplesOf503('/admin/subscriptions/{id}/retry', 'post')).not.toContain('LOAD_SHED');
    expect(examplesOf503('/orders/{id}', 'get')).not.toContain('LOAD_SHED');
  });

  it('documents the 503 DATABASE_UNAVAILABLE with Retry-After on every operation under the bearer scheme, not on the open health checks', () => {
    for (const [path, method] of [['/orders/{id}/ship', 'post'], ['/orders/{id}', 'get'], ['/admin/subscriptions/{id}/retry', 'post']] as const) {
      expect(examplesOf503(path, method)).toContain('DATABASE_UNAVAILABLE');
      expect((document.paths[path][method]!.responses[503] as Json).headers['Retry-After']).toEqual({ $ref: '#/components/headers/Retry-After' });
    }
    const example = (document.paths['/orders/{id}'].get!.responses[503] as Json).content['application/problem+json'].examples.DATABASE_UNAVAILABLE.value;
    expect(example).toEqual({
      type: '/problems/database-unavailable',
      title: 'Service Unavailable',
      status: 503,
      detail: expect.stringContaining('retry after 1 s'),
      instance: '/orders/0b5a1f6e-8d6f-4a8e-9a43-1d0d2a6c5a10',
      code: 'DATABASE_UNAVAILABLE',
      correlationId: expect.any(String),
    });
    expect(document.paths['/health'].get!.responses[503]).toBeUndefined();
  });

  it('declares X-Correlation-Id on every response, and the rate limit headers only under the bearer scheme', () => {
    expect((document.paths['/health'].get!.responses[200] as Json).headers).toEqual({ 'X-Correlation-Id': { $ref: '#/components/headers/X-Correlation-Id' } });
    expect(Object.keys((ship.responses[404] as Json).headers)).toEqual(['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'X-Correlation-Id']);
    expect(document.components?.headers?.['X-Correlation-Id']).toEqual(expect.objectContaining({ schema: { type: 'string', maxLength: 128 } }));
  });

  it('turns every example into the problem+json body a request to its operation gets, instance and all', () => {
    const notFound = (ship.responses[404] as Json).content['application/problem+json'].examples.ORDER_NOT_FOUND.value;
    expect(notFound).toEqual({
      type: '/problems/order-not-found',
      title: 'Not Found',
      status: 404,
      instance: '/orders/0b5a1f6e-8d6f-4a8e-9a43-1d0d2a6c5a10/ship',
      code: 'ORDER_NOT_FOUND',
      correlationId: expect.any(String),
    });
    const admin = (document.paths['/admin/subscriptions/{id}/retry'].post!.responses[400] as Json).content['application/problem+json'].examples;
    expect(admin.MALFORMED_JSON.value.instance).toBe('/admin/subscriptions/projection:orders/retry');
  });
});
