import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiExtension, ApiSecurity } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { ApiProblems } from '../http/openapi/api-problems.decorator';
import type { ProblemCause } from '../http/openapi/problem-causes';
import type { Scope } from './scopes';

/** Who may call an endpoint: anyone, or a token with every one of `scopes`. */
export type AccessRequirement = { public: true } | { public: false; scopes: readonly Scope[] };

export const ACCESS_REQUIREMENT = 'access-requirement';
/** The name of the bearer security scheme in the OpenAPI document. */
export const BEARER_SCHEME = 'bearer';
/** The OpenAPI extension listing the scopes an operation needs (OpenAPI 3.0 allows scopes only for oauth2 schemes). */
export const REQUIRED_SCOPES_EXTENSION = 'x-required-scopes';

/**
 * An endpoint (or every endpoint of a controller) that needs no token and is not rate limited:
 * for infrastructure that probes or scrapes at its own pace (health checks, metrics).
 */
export function Public() {
  // `security: [{}]`: the operation needs no credentials (OpenAPI's empty security requirement).
  return applyDecorators(SetMetadata(ACCESS_REQUIREMENT, { public: true } satisfies AccessRequirement), SkipThrottle(), ApiSecurity({}));
}

/** The refusals of the rate limiter and the access guard, as the OpenAPI document shows them. */
function accessProblems(scopes: readonly Scope[]): ProblemCause[] {
  const problem = (status: number, code: string, detail: string) => ({ status, code, detail });
  return [
    { name: 'TOKEN_MISSING', summary: 'No bearer token', problem: problem(401, 'TOKEN_MISSING', 'send a bearer token: Authorization: Bearer <token>') },
    { name: 'TOKEN_EXPIRED', summary: 'The token expired', problem: problem(401, 'TOKEN_EXPIRED', 'the token expired; get a new one') },
    { name: 'TOKEN_INVALID', summary: 'The token does not verify', problem: problem(401, 'TOKEN_INVALID', 'signature verification failed') },
    {
      name: 'INSUFFICIENT_SCOPE',
      summary: 'The token lacks a scope',
      problem: problem(403, 'INSUFFICIENT_SCOPE', `this request needs the scope ${scopes.join(' and ')}, which the token does not grant`),
    },
    {
      name: 'TOO_MANY_REQUESTS',
      summary: 'Over RATE_LIMIT_PER_MINUTE',
      problem: problem(429, 'TOO_MANY_REQUESTS', 'this client sent more than 600 requests in the last minute; nothing was done, retry after 12 s'),
    },
    {
      name: 'AUTHENTICATION_UNAVAILABLE',
      summary: 'The token cannot be verified now (AUTH_JWKS_URL cannot be fetched)',
      problem: problem(503, 'AUTHENTICATION_UNAVAILABLE', 'the signing keys of the token issuer cannot be fetched now'),
    },
  ];
}

/**
 * An endpoint that needs a bearer token granting every one of `scopes` (401 without a valid
 * token, 403 without the scopes). Documents the bearer requirement, the scopes and the 401, 403,
 * 429 and 503 (keys of AUTH_JWKS_URL out of reach) problem responses in the OpenAPI document.
 */
export function RequireScopes(...scopes: [Scope, ...Scope[]]) {
  return applyDecorators(
    SetMetadata(ACCESS_REQUIREMENT, { public: false, scopes } satisfies AccessRequirement),
    ApiBearerAuth(BEARER_SCHEME),
    ApiExtension(REQUIRED_SCOPES_EXTENSION, scopes),
    ApiProblems(
      { description: { 403: `The token lacks a scope this operation needs: it must grant ${scopes.map((scope) => `\`${scope}\``).join(' and ')}` } },
      ...accessProblems(scopes),
    ),
  );
}
