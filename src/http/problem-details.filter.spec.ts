import type { ArgumentsHost } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import { ProblemDetailsFilter } from './problem-details.filter';

/** What the filter answers `exception` with: status, headers and body (the reply recorded). */
function answer(exception: unknown): { status: number; headers: Record<string, string>; body: Record<string, unknown> } {
  const sent = { status: 0, headers: {} as Record<string, string>, body: {} as Record<string, unknown> };
  const reply = {
    status(code: number) {
      sent.status = code;
      return reply;
    },
    header(name: string, value: string) {
      sent.headers[name] = value;
      return reply;
    },
    send(body: Record<string, unknown>) {
      sent.body = body;
      return reply;
    },
  };
  const request = { method: 'PUT', url: '/users/1/email?x=1', id: 'c-1', routeOptions: { url: '/users/:id/email' } };
  const host = { switchToHttp: () => ({ getRequest: () => request, getResponse: () => reply }) } as unknown as ArgumentsHost;
  new ProblemDetailsFilter().catch(exception, host);
  return sent;
}

/** A TypeORM QueryFailedError as pg reports a SQLSTATE: the code on its driverError. */
function queryFailed(code: string, message: string): Error {
  return Object.assign(new Error(message), { name: 'QueryFailedError', code, driverError: Object.assign(new Error(message), { code }) });
}

describe('ProblemDetailsFilter (the API and the consumer app share it)', () => {
  beforeAll(() => jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined));
  afterAll(() => jest.restoreAllMocks());

  it.each([
    ['a terminated backend (57P01)', queryFailed('57P01', 'terminating connection due to administrator command')],
    ['too many connections (53300)', queryFailed('53300', 'sorry, too many clients already')],
    ['a serialization failure (40001)', queryFailed('40001', 'could not serialize access')],
    ['a deadlock (40P01)', queryFailed('40P01', 'deadlock detected')],
    ['a lock timeout (55P03)', queryFailed('55P03', 'canceling statement due to lock timeout')],
    ['a connection pg lost', new Error('Connection terminated unexpectedly')],
  ])('answers %s with 503 DATABASE_UNAVAILABLE and Retry-After: 1, and logs the cause', (_, error) => {
    const logged = jest.mocked(Logger.prototype.error);
    logged.mockClear();
    const { status, headers, body } = answer(error);
    expect(status).toBe(503);
    expect(headers).toEqual({ 'retry-after': '1', 'content-type': 'application/problem+json' });
    expect(body).toEqual(
      expect.objectContaining({ type: '/problems/database-unavailable', title: 'Service Unavailable', status: 503, code: 'DATABASE_UNAVAILABLE', instance: '/users/1/email' }),
    );
    expect(logged).toHaveBeenCalledWith('PUT /users/:id/email failed', error.stack);
  });

  it.each([
    ['a unique violation (23505)', queryFailed('23505', 'duplicate key value violates unique constraint')],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
  ])('keeps %s a bare 500 INTERNAL_ERROR without Retry-After', (_, error) => {
    const { status, headers, body } = answer(error);
    expect(status).toBe(500);
    expect(headers).toEqual({ 'content-type': 'application/problem+json' });
    expect(body).toEqual(expect.objectContaining({ status: 500, code: 'INTERNAL_ERROR' }));
  });
});
