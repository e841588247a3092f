import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { PROBLEM_CONTENT_TYPE } from './problem-details';

const DESCRIPTIONS: Record<number, string> = {
  400: 'The request is invalid (the failing fields are listed)',
  404: 'No such resource',
  409: 'The request conflicts with the current state',
  412: 'If-Match names another version than the current one; nothing was written (GET it again for its state and ETag)',
  413: 'The body is larger than the limit',
};

/** Documents the problem+json error responses of an endpoint. */
export function ApiProblemResponses(...statuses: number[]) {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? 'Error',
        content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/ProblemDetails' } } },
      }),
    ),
  );
}
