import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class FieldError {
  @ApiProperty({ example: 'lines.0.quantity' })
  field: string;

  @ApiProperty({ example: 'quantity must not be less than 1' })
  message: string;
}

/** RFC 9457 problem details, the body of every error response (`application/problem+json`). */
export class ProblemDetails {
  @ApiProperty({ example: '/problems/order-not-shippable', description: 'URI reference naming the kind of problem' })
  type: string;

  @ApiProperty({ example: 'Conflict' })
  title: string;

  @ApiProperty({ example: 409 })
  status: number;

  @ApiPropertyOptional({ example: 'only a CONFIRMED order can be shipped; this one is PENDING' })
  detail?: string;

  @ApiProperty({ example: '/orders/0b5a1f6e-8d6f-4a8e-9a43-1d0d2a6c5a10/ship' })
  instance: string;

  @ApiProperty({ example: 'ORDER_NOT_SHIPPABLE', description: 'stable machine-readable code' })
  code: string;

  @ApiProperty({ example: '5f1c7b1e-3a0e-4c55-9f57-2f3b7d9c1e42' })
  correlationId: string;

  @ApiPropertyOptional({ type: [FieldError], description: 'the failing fields of an invalid request' })
  errors?: FieldError[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
