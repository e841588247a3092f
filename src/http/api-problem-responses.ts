import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { PROBLEM_CONTENT_TYPE } from './problem-details';

const DESCRIPTIONS: Record<number, string> = {
  400: 'The request is invalid (the failing fields are listed)',
  401: 'No bearer token, or one that does not verify (bad signature, expired, another issuer or audience); `WWW-Authenticate` says which (RFC 6750)',
  403: 'The token lacks a scope this endpoint needs',
  404: 'No such resource',
  409: 'The request conflicts with the current state',
  412: 'If-Match names another version than the current one; nothing was written (GET it again for its state and ETag)',
  413: 'The body is larger than the limit',
  429: 'This client (the token\'s `sub`, else its IP address) sent more requests than RATE_LIMIT_PER_MINUTE allows; nothing was done. Retry after `Retry-After` seconds',
  503: 'Load shed: the service is behind with work it accepted earlier, so it takes no new command now; nothing was done (no effect, no Idempotency-Key stored). Retry after `Retry-After` seconds',
};

type HeaderDocs = Record<string, { description: string; schema: { type: 'integer'; minimum: number } | { type: 'string' } }>;

const WWW_AUTHENTICATE: HeaderDocs = {
  'WWW-Authenticate': { description: 'The bearer challenge (RFC 6750 §3), with `error` and `error_description` when a token was sent', schema: { type: 'string' } },
};

/** Response headers of a problem response, by status. */
const HEADERS: Record<number, HeaderDocs> = {
  401: WWW_AUTHENTICATE,
  403: WWW_AUTHENTICATE,
  429: {
    'Retry-After': { description: 'Seconds until this client may send again (RFC 9110 §10.2.3)', schema: { type: 'integer', minimum: 1 } },
  },
  503: {
    'Retry-After': {
      description: 'Seconds to wait before retrying (RFC 9110 §10.2.3): the time the service expects to need to work off its backlog',
      schema: { type: 'integer', minimum: 1 },
    },
  },
};

function problemResponse(status: number, description = DESCRIPTIONS[status] ?? 'Error') {
  return ApiResponse({
    status,
    description,
    ...(HEADERS[status] && { headers: HEADERS[status] }),
    content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/ProblemDetails' } } },
  });
}

/** Documents one problem+json error response of an endpoint, with its own description. */
export function ApiProblemResponse(status: number, description: string) {
  return problemResponse(status, description);
}

/** Documents the problem+json error responses of an endpoint. */
export function ApiProblemResponses(...statuses: number[]) {
  return applyDecorators(...statuses.map((status) => problemResponse(status)));
}

/** Documents the 403 of an endpoint that needs `scopes`. */
export function ApiForbiddenProblem(scopes: readonly string[]) {
  return problemResponse(403, `The token lacks a scope this endpoint needs: it must grant ${scopes.map((scope) => `\`${scope}\``).join(' and ')}`);
}
