import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiExtension } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { ApiForbiddenProblem, ApiProblemResponses } from '../http/api-problem-responses';
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
  return applyDecorators(SetMetadata(ACCESS_REQUIREMENT, { public: true } satisfies AccessRequirement), SkipThrottle());
}

/**
 * An endpoint that needs a bearer token granting every one of `scopes` (401 without a valid
 * token, 403 without the scopes). Documents the bearer requirement, the scopes and the 401, 403
 * and 429 problem responses in the OpenAPI document.
 */
export function RequireScopes(...scopes: [Scope, ...Scope[]]) {
  return applyDecorators(
    SetMetadata(ACCESS_REQUIREMENT, { public: false, scopes } satisfies AccessRequirement),
    ApiBearerAuth(BEARER_SCHEME),
    ApiExtension(REQUIRED_SCOPES_EXTENSION, scopes),
    ApiProblemResponses(401, 429),
    ApiForbiddenProblem(scopes),
  );
}
