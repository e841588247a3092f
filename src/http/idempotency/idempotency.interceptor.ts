import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, lastValueFrom, Observable } from 'rxjs';
import { DataSource } from 'typeorm';
import { Environment } from '../../config/environment';
import { TransactionContext } from '../../database/transaction-context';
import { keepingTransactionAlive } from '../../database/transaction-keepalive';
import { ETAG_HEADER } from '../conditional-requests/entity-tag';
import { RequestValidationError } from '../request-validation';
import { unstorableTextIn } from '../storable-text.pipe';
import { IdempotencyKeyReusedError, InvalidIdempotencyKeyError } from './idempotency.errors';
import { fingerprintOf, legacyFingerprintOf } from './request-fingerprint';

export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
const VALID_KEY = /^[\x21-\x7e]{1,255}$/;
const COMMAND_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
export const IDEMPOTENT_REPLAYED_HEADER = 'idempotent-replayed';

/** Whether a request with `method` takes an `Idempotency-Key` (every command does; a read ignores it). */
export function takesIdempotencyKey(method: string): boolean {
  return COMMAND_METHODS.has(method.toUpperCase());
}

interface StoredResponse {
  requestHash: string;
  status: number;
  body: unknown;
  location: string | null;
  etag: string | null;
}

/**
 * `Idempotency-Key`: the same key with the same body gets the same response and one effect.
 *
 * The key is claimed, the command runs and its response is recorded in ONE transaction (the
 * command's writes join it through TransactionContext). A crash before the commit leaves nothing,
 * so a retry runs afresh; after the commit a retry replays the stored response. A concurrent
 * duplicate blocks on the claimed key until the first commits, then replays. A failed command
 * (any error) rolls its claim back, so retrying it runs it again. Keys are scoped to the method
 * and path; the same key with another body is refused with 422. Bodies are compared by their
 * canonical JSON form (RFC 8785, see `fingerprintOf`): the same object with its members in
 * another order is the same request and replays. A replay repeats the first response's status,
 * body, `Location` and `ETag` (the version that request produced, which may no longer be the
 * current one); its `If-Match` is not looked at again, since the request already ran. Keys expire:
 * IdempotencyKeyRetention prunes them after IDEMPOTENCY_KEY_RETENTION_HOURS, and a retry after
 * that runs as a new request.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly idleInTransactionTimeoutMs: number;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly transactions: TransactionContext,
    config: ConfigService<Environment, true>,
  ) {
    this.idleInTransactionTimeoutMs = config.get('DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS', { infer: true });
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const key = request.headers[IDEMPOTENCY_KEY_HEADER];
    if (key === undefined || !takesIdempotencyKey(request.method)) return next.handle();
    if (typeof key !== 'string' || !VALID_KEY.test(key)) throw new InvalidIdempotencyKeyError();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    return from(this.executeOnce(request, reply, key, next));
  }

  private async executeOnce(request: FastifyRequest, reply: FastifyReply, key: string, next: CallHandler): Promise<unknown> {
    const scope = `${request.method} ${request.url.split('?')[0]}`;
    // Refused here already (the pipes run later): such a body has no canonical JSON form.
    const unstorable = unstorableTextIn(request.body);
    if (unstorable.length > 0) throw new RequestValidationError(unstorable);
    const requestHash = fingerprintOf(request.body);

    const earlier = await this.find(scope, key);
    if (earlier) return this.replay(earlier, request.body, requestHash, reply);

    const outcome = await this.dataSource.transaction(async (transaction) => {
      // Blocks while another request holds the same key; claims it once that one rolled back.
      const claimed = await transaction.query(
        `INSERT INTO idempotency_keys (scope, key, request_hash, response_status) VALUES ($1, $2, $3, 0)
         ON CONFLICT DO NOTHING RETURNING 1`,
        [scope, key, requestHash],
      );
      if (claimed.length === 0) return undefined;
      // A command may wait on something else (RabbitMQ's confirms, other connections) while the
      // key's transaction stays open: idle_in_transaction_session_timeout must not end it then.
      const body = await keepingTransactionAlive(transaction, this.idleInTransactionTimeoutMs, () =>
        this.transactions.run(transaction, () => lastValueFrom(next.handle(), { defaultValue: undefined })),
      );
      const location = reply.getHeader('location');
      const etag = reply.getHeader(ETAG_HEADER);
      await transaction.query(
        `UPDATE idempotency_keys SET response_status = $3, response_body = $4::jsonb, response_location = $5, response_etag = $6
         WHERE scope = $1 AND key = $2`,
        [
          scope,
          key,
          reply.statusCode,
          body === undefined ? null : JSON.stringify(body),
          typeof location === 'string' ? location : null,
          typeof etag === 'string' ? etag : null,
        ],
      );
      return { body };
    });
    // The events the command appended woke this process's readers at the commit (AppendedOnCommit).
    if (outcome) return outcome.body;
    const winner = await this.find(scope, key);
    if (!winner) throw new Error(`idempotency key ${scope} ${key} vanished`);
    return this.replay(winner, request.body, requestHash, reply);
  }

  private replay(stored: StoredResponse, body: unknown, requestHash: string, reply: FastifyReply): unknown {
    if (stored.requestHash !== requestHash && stored.requestHash !== legacyFingerprintOf(body)) throw new IdempotencyKeyReusedError();
    void reply.status(stored.status).header(IDEMPOTENT_REPLAYED_HEADER, 'true');
    if (stored.location) void reply.header('location', stored.location);
    if (stored.etag) void reply.header(ETAG_HEADER, stored.etag);
    return stored.body ?? undefined;
  }

  private async find(scope: string, key: string): Promise<StoredResponse | undefined> {
    const [row] = await this.dataSource.query(
      `SELECT request_hash AS "requestHash", response_status AS status, response_body AS body, response_location AS location, response_etag AS etag
       FROM idempotency_keys WHERE scope = $1 AND key = $2`,
      [scope, key],
    );
    return row;
  }
}
