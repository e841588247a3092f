import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length, Matches } from 'class-validator';
import { CanonicalUuid } from '../../http/canonical-uuid';

/** The longest reason an operator may give for a skip or a pause (recorded with it). */
export const MAX_REASON_LENGTH = 500;
const NOT_BLANK = /\S/;

export class SkipEventRequest {
  @ApiProperty({ format: 'uuid', description: 'the event the subscription is stopped at (its `failure.stoppedAt.eventId`); any other is refused with 409' })
  @CanonicalUuid()
  eventId: string;

  @ApiProperty({ example: 'order refused by the read model; fixed by hand', minLength: 1, maxLength: MAX_REASON_LENGTH, pattern: NOT_BLANK.source })
  @IsString()
  @Length(1, MAX_REASON_LENGTH)
  @Matches(NOT_BLANK, { message: '$property must not be blank' })
  reason: string;
}

export class PauseSubscriptionRequest {
  @ApiProperty({ example: 'credit service maintenance', minLength: 1, maxLength: MAX_REASON_LENGTH, pattern: NOT_BLANK.source })
  @IsString()
  @Length(1, MAX_REASON_LENGTH)
  @Matches(NOT_BLANK, { message: '$property must not be blank' })
  reason: string;
}
