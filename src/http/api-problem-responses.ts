import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { PROBLEM_CONTENT_TYPE } from './problem-details';

const DESCRIPTIONS: Record<number, string> = {
  400: 'The request is invalid (the failing fields are listed)',
  404: 'No such resource',
  409: 'The request conflicts with the current state',
  412: 'If-Match names another version than the current one; nothing was written (GET it again for its state and ETag)',
  413: 'The body is larger than the limit',
  503: 'Load shed: the service is behind with work it accepted earlier, so it takes no new command now; nothing was done (no effect, no Idempotency-Key stored). Retry after `Retry-After` seconds',
};

/** Response headers of a problem response, by status. */
const HEADERS: Record<number, Record<string, { description: string; schema: { type: 'integer'; minimum: number } }>> = {
  503: {
    'Retry-After': {
      description: 'Seconds to wait before retrying (RFC 9110 §10.2.3): the time the service expects to need to work off its backlog',
      schema: { type: 'integer', minimum: 1 },
    },
  },
};

/** Documents the problem+json error responses of an endpoint. */
export function ApiProblemResponses(...statuses: number[]) {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? 'Error',
        ...(HEADERS[status] && { headers: HEADERS[status] }),
        content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/ProblemDetails' } } },
      }),
    ),
  );
}
