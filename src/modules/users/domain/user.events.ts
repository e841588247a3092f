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

export type UserEvent = UserRegisteredEvent | UserEmailChangedEvent | UserDeactivatedEvent;

export const USER_STREAM_TYPE = 'User';
