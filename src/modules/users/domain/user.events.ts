import type { StoredEventOf } from '../../../event-store';

export class UserRegisteredEvent {
  static readonly type = 'UserRegistered';
  readonly userId: string;
  readonly email: string;
  readonly name: string;
  readonly creditLimit: number;
  readonly registeredAt: string;

  constructor(props: UserRegisteredEvent) {
    Object.assign(this, props);
  }
}

export class UserEmailChangedEvent {
  static readonly type = 'UserEmailChanged';
  readonly userId: string;
  readonly previousEmail: string;
  readonly email: string;
  readonly changedAt: string;

  constructor(props: UserEmailChangedEvent) {
    Object.assign(this, props);
  }
}

export class UserDeactivatedEvent {
  static readonly type = 'UserDeactivated';
  readonly userId: string;
  readonly deactivatedAt: string;

  constructor(props: UserDeactivatedEvent) {
    Object.assign(this, props);
  }
}

/** Why a reservation was refused; the order saga rejects the order with this reason. */
export type CreditRejectionReason = 'insufficient credit' | 'customer deactivated';

/** Credit held for one order. `creditReserved` is the user's total after the change. */
export class CreditReservedEvent {
  static readonly type = 'CreditReserved';
  readonly userId: string;
  readonly orderId: string;
  readonly amount: number;
  readonly creditReserved: number;
  readonly reservedAt: string;

  constructor(props: CreditReservedEvent) {
    Object.assign(this, props);
  }
}

export class CreditRejectedEvent {
  static readonly type = 'CreditRejected';
  readonly userId: string;
  readonly orderId: string;
  readonly amount: number;
  readonly reason: CreditRejectionReason;
  readonly rejectedAt: string;

  constructor(props: CreditRejectedEvent) {
    Object.assign(this, props);
  }
}

/** A reservation given back: its order was cancelled or closed without confirmation. */
export class CreditReleasedEvent {
  static readonly type = 'CreditReleased';
  readonly userId: string;
  readonly orderId: string;
  readonly amount: number;
  readonly creditReserved: number;
  readonly releasedAt: string;

  constructor(props: CreditReleasedEvent) {
    Object.assign(this, props);
  }
}

/** A reservation used up: its order shipped, so the amount is now owed rather than held. */
export class CreditConsumedEvent {
  static readonly type = 'CreditConsumed';
  readonly userId: string;
  readonly orderId: string;
  readonly amount: number;
  readonly creditReserved: number;
  readonly consumedAt: string;

  constructor(props: CreditConsumedEvent) {
    Object.assign(this, props);
  }
}

export type UserEvent =
  | UserRegisteredEvent
  | UserEmailChangedEvent
  | UserDeactivatedEvent
  | CreditReservedEvent
  | CreditRejectedEvent
  | CreditReleasedEvent
  | CreditConsumedEvent;

export const USER_EVENT_CLASSES = [
  UserRegisteredEvent,
  UserEmailChangedEvent,
  UserDeactivatedEvent,
  CreditReservedEvent,
  CreditRejectedEvent,
  CreditReleasedEvent,
  CreditConsumedEvent,
] as const;

/** A User stream's stored event: `switch (event.eventType)` narrows its payload. */
export type UserStoredEvent = StoredEventOf<(typeof USER_EVENT_CLASSES)[number]>;

export const USER_STREAM_TYPE = 'User';
