import { DomainError } from '../../shared/domain-error';
import { problemOfDomainError, type Problem } from '../problem-details.filter';
import type { FieldError } from '../problem-details';

/**
 * One way an operation can fail, as the OpenAPI document shows it: a named example of the
 * problem+json body of its status. `name` keys the example (unique within a response).
 */
export interface ProblemCause {
  name: string;
  /** One line for the example picker of Swagger UI. */
  summary: string;
  problem: Problem;
}

/** The cause a domain error stands for, with the message the error itself writes. */
export function causeOf(error: DomainError, summary = sentenceOf(error.name)): ProblemCause {
  return { name: error.code, summary, problem: problemOfDomainError(error) };
}

/** `OrderNotFoundError` → `Order not found`. */
function sentenceOf(errorName: string): string {
  const words = errorName.replace(/Error$/, '').replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A 400 from the validation pipe, with the fields it names (as `flattenValidationErrors` writes them). */
export function invalidFields(errors: FieldError[], summary = 'A field is missing or invalid'): ProblemCause {
  return { name: 'VALIDATION_FAILED', summary, problem: { status: 400, code: 'VALIDATION_FAILED', detail: 'the request is not valid', errors } };
}

/** A 400 from ParseUUIDPipe for a path parameter that is not a UUID. */
export const MALFORMED_UUID: ProblemCause = {
  name: 'MALFORMED_UUID',
  summary: 'A path id is not a UUID',
  problem: { status: 400, code: 'BAD_REQUEST', detail: 'Validation failed (uuid is expected)' },
};

/** Example ids of the examples, so that they read like real answers. */
export const EXAMPLE_IDS = {
  user: '3f1c2b0e-6d4a-4b9e-9a43-1d0d2a6c5a10',
  order: '0b5a1f6e-8d6f-4a8e-9a43-1d0d2a6c5a10',
  event: '0b7e6f1c-3f43-4d55-9b9e-8d4b3c2f6a10',
  correlation: '5f1c7b1e-3a0e-4c55-9f57-2f3b7d9c1e42',
} as const;
