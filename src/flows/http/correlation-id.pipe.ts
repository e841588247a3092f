import type { PipeTransform } from '@nestjs/common';
import { isCorrelationId } from '../../http/correlation-id';
import { RequestValidationError } from '../../http/request-validation';

/** A path parameter naming a correlation id, as `X-Correlation-Id` may carry one; anything else is a 400. */
export class ParseCorrelationIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isCorrelationId(value)) {
      throw new RequestValidationError([{ field: 'correlationId', message: 'correlationId must be 1 to 128 letters, digits or ._:- (what X-Correlation-Id carries)' }]);
    }
    return value;
  }
}
