import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InvalidIfMatchError } from './entity-tag.errors';

/**
 * Entity tags are stream versions, as in Emmett's HTTP convention: `ETag: W/"<version>"` on every
 * read and every write of an aggregate, and `If-Match` on a command names the version it is based
 * on. Weak, because the representation is not byte-for-byte fixed by the version (a JSON body may
 * be serialized differently); what a client compares is the state, which the version names.
 */
export const ETAG_HEADER = 'etag';
export const IF_MATCH_HEADER = 'if-match';

/** The largest stream version there can be (`version` is a PostgreSQL `integer`). */
const MAX_VERSION = 2 ** 31 - 1;
// One entity tag, weak or strong, whose opaque part is a version as this API writes it (no sign,
// no leading zero). A list of tags is refused: a command is based on one version.
const VERSION_TAG = /^(?:W\/)?"(0|[1-9][0-9]{0,9})"$/;

export function entityTagOf(version: number): string {
  return `W/"${version}"`;
}

/** Sets the `ETag` of a response to the stream version it reflects. */
export function withEntityTag(reply: FastifyReply, version: number): void {
  void reply.header(ETAG_HEADER, entityTagOf(version));
}

/**
 * The stream version an `If-Match` header expects, or undefined when any version will do (no
 * header, or `*`, which still requires the aggregate to exist: a command on a missing one is a
 * 404 either way).
 * @throws InvalidIfMatchError for anything but one version tag or `*`.
 */
export function expectedVersionOf(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = (Array.isArray(header) ? header.join(', ') : header).trim();
  if (value === '*') return undefined;
  const match = VERSION_TAG.exec(value);
  const version = match ? Number(match[1]) : NaN;
  if (!Number.isSafeInteger(version) || version > MAX_VERSION) throw new InvalidIfMatchError();
  return version;
}

/**
 * The version a command's `If-Match` header expects (see `expectedVersionOf`); resolved with the
 * other arguments, inside the Idempotency-Key transaction, so a malformed one stores nothing.
 */
export const IfMatch = createParamDecorator((_: unknown, context: ExecutionContext): number | undefined =>
  expectedVersionOf(context.switchToHttp().getRequest<FastifyRequest>().headers[IF_MATCH_HEADER]),
);
