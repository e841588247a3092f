import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Principal } from './access-token-verifier';

const principals = new WeakMap<FastifyRequest, Principal>();

/** Records who a request authenticated as (AccessGuard, once the token verified). */
export function rememberPrincipal(request: FastifyRequest, principal: Principal): void {
  principals.set(request, principal);
}

/** What `@AuthenticatedSubject()` gives when the token has no `sub` claim. */
export const UNNAMED_SUBJECT = 'token without sub';

/**
 * The `sub` claim of the verified bearer token of this request, for an audit record of who did
 * something (e.g. who skipped an event); UNNAMED_SUBJECT when the token names nobody. Only on
 * endpoints that need a token.
 */
export const AuthenticatedSubject = createParamDecorator((_: unknown, context: ExecutionContext): string => {
  const request = context.switchToHttp().getRequest<FastifyRequest>();
  return principals.get(request)?.subject ?? UNNAMED_SUBJECT;
});
