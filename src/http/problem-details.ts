import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class FieldError {
  @ApiProperty({ example: 'lines.0.quantity' })
  field: string;

  @ApiProperty({ example: 'quantity must not be less than 1' })
  message: string;
}

/**
 * RFC 9457 problem details, the body of every error response (`application/problem+json`). The
 * examples of each response of the OpenAPI document show its own problems; those here are one
 * consistent problem (a 404), for the schema view.
 */
export class ProblemDetails {
  @ApiProperty({ example: '/problems/order-not-found', description: 'URI reference naming the kind of problem (from `code`)' })
  type: string;

  @ApiProperty({ example: 'Not Found', description: 'the reason phrase of the status' })
  title: string;

  @ApiProperty({ type: 'integer', minimum: 400, maximum: 599, example: 404, description: 'the HTTP status of the response' })
  status: number;

  @ApiPropertyOptional({ example: 'order 0b5a1f6e-8d6f-4a8e-9a43-1d0d2a6c5a10 does not exist', description: 'what went wrong with this request, for a person' })
  detail?: string;

  @ApiProperty({ example: '/orders/0b5a1f6e-8d6f-4a8e-9a43-1d0d2a6c5a10', description: 'the path of the request this answers' })
  instance: string;

  @ApiProperty({ example: 'ORDER_NOT_FOUND', description: 'stable machine-readable code' })
  code: string;

  @ApiProperty({ example: '5f1c7b1e-3a0e-4c55-9f57-2f3b7d9c1e42', description: "the request's X-Correlation-Id" })
  correlationId: string;

  @ApiPropertyOptional({ type: [FieldError], description: 'the failing fields of an invalid request' })
  errors?: FieldError[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
