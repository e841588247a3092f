import type { OpenAPIObject } from '@nestjs/swagger';
import { completeApiDocument } from './api-document';
import { problemResponse } from './problem-responses';

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

  it('documents load shedding on the commands admission control may shed, not on the admin API nor reads', () => {
    expect(examplesOf(503)).toEqual(['LOAD_SHED']);
    expect(document.paths['/admin/subscriptions/{id}/retry'].post!.responses[503]).toBeUndefined();
    expect(document.paths['/orders/{id}'].get!.responses[503]).toBeUndefined();
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
