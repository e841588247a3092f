import type { PipeTransform } from '@nestjs/common';
import { RequestValidationError } from '../../http/request-validation';

/** Subscription ids as the code names them: `projection:order-summaries`, `reaction:test.flaky-plan`, `relay:integration-events`. */
const SUBSCRIPTION_ID = /^[A-Za-z0-9._:-]{1,200}$/;

/** A path parameter naming a subscription (or a reaction): letters, digits and `._:-`, at most 200; anything else is a 400. */
export class ParseSubscriptionIdPipe implements PipeTransform<string, string> {
  constructor(private readonly field = 'id') {}

  transform(value: string): string {
    if (!SUBSCRIPTION_ID.test(value)) {
      throw new RequestValidationError([{ field: this.field, message: `${this.field} must be a subscription id: letters, digits and ._:- (at most 200)` }]);
    }
    return value;
  }
}
