import type { ExampleObject, HeaderObject, ReferenceObject, ResponseObject } from '@nestjs/swagger';
import { PROBLEM_CONTENT_TYPE } from '../problem-details';
import type { ProblemCause } from './problem-causes';

/** What a problem status means on any operation; each cause's example says why in particular. */
const DESCRIPTIONS: Record<number, string> = {
  400: 'The request is invalid; nothing was done (`errors` lists the failing fields of a body or query)',
  401: 'No bearer token, or one that does not verify (bad signature, expired, another issuer or audience); `WWW-Authenticate` says which (RFC 6750)',
  403: 'The token lacks a scope this operation needs (listed under `x-required-scopes`)',
  404: 'No such resource',
  409: 'The request conflicts with the current state; nothing was done',
  412: 'If-Match names another version than the current one; nothing was written (GET it again for its state and ETag)',
  413: 'The body is larger than HTTP_BODY_LIMIT_BYTES (1 MiB unless configured); nothing was done',
  415: 'The body is not `application/json`; nothing was done',
  422: 'This Idempotency-Key was used before with another body; nothing was done (use a new key for a new request)',
  429: "This client (the token's `sub`, else its IP address) sent more requests than RATE_LIMIT_PER_MINUTE allows; nothing was done. Retry after `Retry-After` seconds",
  503: 'The service cannot do this now; nothing was done. Retry later: after `Retry-After` seconds when it says so',
};

export type SharedHeaderName =
  | 'X-Correlation-Id'
  | 'Idempotent-Replayed'
  | 'Retry-After'
  | 'WWW-Authenticate'
  | 'X-RateLimit-Limit'
  | 'X-RateLimit-Remaining'
  | 'X-RateLimit-Reset';

/** Shared response headers, declared once under `components.headers`. */
export const SHARED_HEADERS: Record<SharedHeaderName, HeaderObject> = {
  'X-Correlation-Id': {
    description: 'The correlation id of this request (the one sent, when it was a sane token, else a generated one); its events carry it',
    schema: { type: 'string', maxLength: 128 },
  },
  'Idempotent-Replayed': {
    description: '`true` when this is the stored response of an earlier request with the same Idempotency-Key and body (no new effect)',
    schema: { type: 'string', enum: ['true'] },
  },
  'Retry-After': {
    description: 'Seconds to wait before sending again (RFC 9110 §10.2.3)',
    schema: { type: 'integer', minimum: 1 },
  },
  'WWW-Authenticate': {
    description: 'The bearer challenge (RFC 6750 §3), with `error` and `error_description` when a token was sent',
    schema: { type: 'string', example: 'Bearer error="invalid_token", error_description="the token expired"' },
  },
  'X-RateLimit-Limit': {
    description: 'Requests this client may send per minute (only while RATE_LIMIT_PER_MINUTE is set)',
    schema: { type: 'integer', minimum: 1 },
  },
  'X-RateLimit-Remaining': {
    description: 'Requests this client may still send in the current window (only while RATE_LIMIT_PER_MINUTE is set)',
    schema: { type: 'integer', minimum: 0 },
  },
  'X-RateLimit-Reset': {
    description: 'Seconds until the current window ends (only while RATE_LIMIT_PER_MINUTE is set)',
    schema: { type: 'integer', minimum: 0 },
  },
};

export function headerRef(name: SharedHeaderName): ReferenceObject {
  return { $ref: `#/components/headers/${name}` };
}

/** Response headers a problem status carries, besides X-Correlation-Id. */
const HEADERS_OF_STATUS: Record<number, SharedHeaderName[]> = {
  401: ['WWW-Authenticate'],
  403: ['WWW-Authenticate'],
  429: ['Retry-After'],
  503: ['Retry-After'],
};

/** The problem+json response of `status`, one named example per cause. */
export function problemResponse(status: number, causes: readonly ProblemCause[], description = DESCRIPTIONS[status] ?? 'Error'): ResponseObject {
  const headers = HEADERS_OF_STATUS[status];
  return {
    description,
    ...(headers && { headers: Object.fromEntries(headers.map((name) => [name, headerRef(name)])) }),
    content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/ProblemDetails' }, examples: examplesOf(causes) } },
  };
}

/** Adds the examples of `causes` to a problem response declared before (keeping its description and headers). */
export function addCauses(response: ResponseObject, causes: readonly ProblemCause[]): void {
  const media = response.content?.[PROBLEM_CONTENT_TYPE];
  if (!media) throw new Error(`a problem response without ${PROBLEM_CONTENT_TYPE} content: ${response.description}`);
  media.examples = { ...media.examples, ...examplesOf(causes) };
}

/**
 * Examples without `instance` and `correlationId`: the document fills them in from each
 * operation's path (see `completeApiDocument`), so that each example reads like a real answer.
 */
function examplesOf(causes: readonly ProblemCause[]): Record<string, ExampleObject> {
  return Object.fromEntries(causes.map(({ name, summary, problem }) => [name, { summary, value: problem }]));
}
