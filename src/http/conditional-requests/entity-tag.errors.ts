import { DomainError } from '../../shared/domain-error';

export class InvalidIfMatchError extends DomainError {
  readonly code = 'INVALID_IF_MATCH';
  readonly kind = 'invalid';

  constructor() {
    super('If-Match must be one entity tag this API returned as ETag, W/"<version>" (or "<version>"), or *');
  }
}
