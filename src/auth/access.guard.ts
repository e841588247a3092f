import { CanActivate, ExecutionContext, ForbiddenException, HttpException, HttpStatus, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ACCESS_REQUIREMENT, AccessRequirement } from './access.decorators';
import type { Principal, TokenRejection } from './access-token-verifier';
import { rememberPrincipal } from './authenticated-principal';
import { RequestAuthenticator } from './request-authenticator';

export const WWW_AUTHENTICATE_HEADER = 'www-authenticate';

/**
 * The global guard of every HTTP endpoint: `@Public()` ones are open; every other needs a valid
 * bearer token (401 problem+json with a `WWW-Authenticate: Bearer` challenge, RFC 6750 §3) and, when
 * it names them with `@RequireScopes`, every one of its scopes (403, `error="insufficient_scope"`).
 * An endpoint that names no scope needs a valid token and nothing more. Messages of the broker
 * (the consumer's RMQ handlers) are not HTTP and pass.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: RequestAuthenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const requirement = this.reflector.getAllAndOverride<AccessRequirement | undefined>(ACCESS_REQUIREMENT, [context.getHandler(), context.getClass()]);
    if (requirement?.public) return true;
    const http = context.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const authentication = await this.authenticator.authenticate(request);
    if (!authentication.ok) throw refusal(authentication.rejection, reply);
    const needed = requirement?.scopes ?? [];
    if (!needed.every((scope) => authentication.principal.scopes.has(scope))) throw forbidden(needed, authentication.principal, reply);
    rememberPrincipal(request, authentication.principal);
    return true;
  }
}

function refusal(rejection: TokenRejection, reply: FastifyReply): HttpException {
  switch (rejection.reason) {
    case 'missing':
      void reply.header(WWW_AUTHENTICATE_HEADER, 'Bearer');
      return new UnauthorizedException({ code: 'TOKEN_MISSING', message: 'send a bearer token: Authorization: Bearer <token>' });
    case 'expired':
      void reply.header(WWW_AUTHENTICATE_HEADER, challenge({ error: 'invalid_token', error_description: 'the token expired' }));
      return new UnauthorizedException({ code: 'TOKEN_EXPIRED', message: 'the token expired; get a new one' });
    case 'invalid':
      void reply.header(WWW_AUTHENTICATE_HEADER, challenge({ error: 'invalid_token', error_description: rejection.detail }));
      return new UnauthorizedException({ code: 'TOKEN_INVALID', message: rejection.detail });
    case 'unavailable':
      return new HttpException({ code: 'AUTHENTICATION_UNAVAILABLE', message: rejection.detail }, HttpStatus.SERVICE_UNAVAILABLE);
  }
}

function forbidden(needed: readonly string[], principal: Principal, reply: FastifyReply): HttpException {
  const missing = needed.filter((scope) => !principal.scopes.has(scope));
  void reply.header(
    WWW_AUTHENTICATE_HEADER,
    challenge({ error: 'insufficient_scope', error_description: 'the token lacks a scope this request needs', scope: needed.join(' ') }),
  );
  return new ForbiddenException({ code: 'INSUFFICIENT_SCOPE', message: `this request needs the scope ${missing.join(' and ')}, which the token does not grant` });
}

/** A Bearer challenge with auth-params as quoted strings (RFC 9110 §11.2, §5.6.4). */
function challenge(params: Record<string, string>): string {
  const quoted = (value: string) => `"${value.replace(/["\\]/g, '\\$&')}"`;
  return `Bearer ${Object.entries(params)
    .map(([name, value]) => `${name}=${quoted(value)}`)
    .join(', ')}`;
}
