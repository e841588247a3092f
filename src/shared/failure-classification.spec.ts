import { QueryRunnerAlreadyReleasedError, QueryRunnerProviderAlreadyReleasedError } from 'typeorm';
import { StatementReplyTimeoutError } from '../database/statement-reply-timeout';
import { classifyFailure, PublishRefusedError } from './failure-classification';

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** TypeORM's QueryFailedError keeps pg's error as `driverError` (and copies its fields). */
function queryFailed(driverError: Error): Error {
  return Object.assign(new Error(driverError.message), { name: 'QueryFailedError', driverError });
}

describe('classifying a failed delivery', () => {
  it.each([
    ['PostgreSQL refusing connections', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a connection reset', withCode('read ECONNRESET', 'ECONNRESET')],
    ['a refused connection to every address', new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], 'connect failed')],
    ['a connection terminated mid-query', new Error('Connection terminated unexpectedly')],
    ['a pool that could not connect in time', new Error('timeout exceeded when trying to connect')],
    ['a query read timeout', new Error('Query read timeout')],
    ['an administrator shutdown (57P01)', queryFailed(withCode('terminating connection due to administrator command', '57P01'))],
    ['too many connections (53300)', withCode('sorry, too many clients already', '53300')],
    ['a serialization failure (40001)', queryFailed(withCode('could not serialize access', '40001'))],
    ['a deadlock (40P01)', queryFailed(withCode('deadlock detected', '40P01'))],
    ['a statement timeout (57014)', queryFailed(withCode('canceling statement due to statement timeout', '57014'))],
    ['a connection exception (08006)', withCode('connection failure', '08006')],
    ['a broker that refused a republish', new PublishRefusedError('app.consumer.retry.1000ms', new Error('message nacked'))],
    ['a closed channel', Object.assign(new Error('Channel closed'), { name: 'IllegalOperationError' })],
    ['a statement on a transaction whose connection PostgreSQL terminated', new QueryRunnerProviderAlreadyReleasedError()],
    ['a query runner released after its connection was lost', new QueryRunnerAlreadyReleasedError()],
    ['a statement PostgreSQL did not answer in time', queryFailed(new StatementReplyTimeoutError(30_000))],
    ['a wrapped cause', new Error('applying failed', { cause: withCode('connect ECONNREFUSED', 'ECONNREFUSED') })],
  ])('%s is the infrastructure', (_, error) => {
    expect(classifyFailure(error)).toBe('infrastructure');
  });

  it.each([
    ['an exception raised by a trigger (P0001)', queryFailed(withCode('notification service down for this customer', 'P0001'))],
    ['a unique violation (23505)', queryFailed(withCode('duplicate key value violates unique constraint', '23505'))],
    ['invalid text for a column type (22P02)', queryFailed(withCode('invalid input syntax for type uuid: "x"', '22P02'))],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'total')")],
    ['something that is no Error', 'failed'],
  ])('%s is a failure of the message', (_, error) => {
    expect(classifyFailure(error)).toBe('message');
  });
});
