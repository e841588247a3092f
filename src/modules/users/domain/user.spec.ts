import { DEFAULT_CREDIT_LIMIT, MAX_CREDIT_LIMIT, User } from './user';
import type { RegisterUser, UserSnapshot } from './user';
import { InvalidUserError, UserAlreadyDeactivatedError, UserDeactivatedError } from './user.errors';
import {
  CreditConsumedEvent,
  CreditRejectedEvent,
  CreditReleasedEvent,
  CreditReservedEvent,
  UserDeactivatedEvent,
  UserEmailChangedEvent,
  UserRegisteredEvent,
} from './user.events';

const USER_ID = '0b6f3c9e-6a1d-4c1e-9a53-2f4b8c7d1e01';
const ORDER_A = '5d1c7a40-0000-4000-8000-00000000000a';
const ORDER_B = '5d1c7a40-0000-4000-8000-00000000000b';
const now = new Date('2026-01-01T00:00:00Z');
const later = new Date('2026-01-02T12:30:00Z');

function registration(overrides: Partial<RegisterUser> = {}): RegisterUser {
  return { id: USER_ID, email: 'ada@example.com', name: 'Ada Lovelace', ...overrides };
}

function snapshotOf(overrides: Partial<UserSnapshot> = {}): UserSnapshot {
  return {
    id: USER_ID,
    email: 'ada@example.com',
    name: 'Ada Lovelace',
    status: 'ACTIVE',
    creditLimit: DEFAULT_CREDIT_LIMIT,
    creditReserved: 0,
    creditReservations: {},
    version: 1,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

/** An active user loaded from its row at version 1, with nothing pending. */
function activeUser(): User {
  return User.restore(snapshotOf());
}

/** A deactivated user loaded from its row at version 2, with nothing pending. */
function deactivatedUser(): User {
  return User.restore(snapshotOf({ status: 'DEACTIVATED', version: 2 }));
}

describe('User', () => {
  describe('register', () => {
    it('raises UserRegisteredEvent with a normalized email, a trimmed name and the default credit limit', () => {
      // when
      const user = User.register(registration({ email: '  Ada@Example.COM ', name: '  Ada Lovelace \n' }), now);

      // then
      const events = user.getUncommittedEvents();
      expect(events).toHaveLength(1);
      expect(events[0]).toBeInstanceOf(UserRegisteredEvent);
      expect(events[0]).toEqual(
        new UserRegisteredEvent({
          userId: USER_ID,
          email: 'ada@example.com',
          name: 'Ada Lovelace',
          creditLimit: 100_000,
          registeredAt: '2026-01-01T00:00:00.000Z',
        }),
      );
    });

    it('reaches an ACTIVE state with nothing reserved, created and updated at the given time', () => {
      // when
      const user = User.register(registration({ email: ' ADA@example.com', name: ' Ada ' }), now);

      // then
      expect(user.id).toBe(USER_ID);
      expect(user.status).toBe('ACTIVE');
      expect(user.snapshot()).toEqual({
        id: USER_ID,
        email: 'ada@example.com',
        name: 'Ada',
        status: 'ACTIVE',
        creditLimit: 100_000,
        creditReserved: 0,
        creditReservations: {},
        version: 1,
        createdAt: now,
        updatedAt: now,
      });
    });

    it('keeps an explicit credit limit, including the bounds 0 and the maximum', () => {
      expect(User.register(registration({ creditLimit: 250_000 }), now).snapshot().creditLimit).toBe(250_000);
      expect(User.register(registration({ creditLimit: 0 }), now).getUncommittedEvents()[0]).toMatchObject({
        creditLimit: 0,
      });
      expect(User.register(registration({ creditLimit: MAX_CREDIT_LIMIT }), now).snapshot().creditLimit).toBe(
        MAX_CREDIT_LIMIT,
      );
    });

    it.each([
      ['has no @', 'ada.example.com'],
      ['has no domain dot', 'ada@example'],
      ['contains a space', 'ada lovelace@example.com'],
      ['is blank', '   '],
      ['is longer than 254 characters', `${'a'.repeat(250)}@example.com`],
    ])('refuses an email that %s', (_case, email) => {
      // when
      const register = () => User.register(registration({ email }), now);

      // then
      expect(register).toThrow(InvalidUserError);
      expect(register).toThrow(expect.objectContaining({ code: 'INVALID_USER', kind: 'invalid' }));
    });

    it.each([
      ['empty', ''],
      ['only whitespace', ' \t\n '],
      ['longer than 200 characters', 'x'.repeat(201)],
    ])('refuses a name that is %s', (_case, name) => {
      const register = () => User.register(registration({ name }), now);

      expect(register).toThrow(InvalidUserError);
      expect(register).toThrow(expect.objectContaining({ code: 'INVALID_USER' }));
    });

    it.each<[string, Record<string, unknown>]>([
      ['a name that is an array', { name: ['Ada'] }],
      ['a name that is a number', { name: 42 }],
      ['an email that is an object', { email: { address: 'ada@example.com' } }],
    ])('refuses %s with InvalidUserError, not a TypeError', (_case, overrides) => {
      const register = () => User.register({ ...registration(), ...overrides } as unknown as Parameters<typeof User.register>[0], now);

      expect(register).toThrow(InvalidUserError);
    });

    it('accepts a name of exactly 200 characters once trimmed', () => {
      const user = User.register(registration({ name: ` ${'x'.repeat(200)} ` }), now);

      expect(user.snapshot().name).toBe('x'.repeat(200));
    });

    it.each([
      ['negative', -1],
      ['not an integer', 100.5],
      ['above the maximum', MAX_CREDIT_LIMIT + 1],
      ['not a number', Number.NaN],
      ['infinite', Number.POSITIVE_INFINITY],
    ])('refuses a credit limit that is %s', (_case, creditLimit) => {
      const register = () => User.register(registration({ creditLimit }), now);

      expect(register).toThrow(InvalidUserError);
      expect(register).toThrow(expect.objectContaining({ code: 'INVALID_USER' }));
    });
  });

  describe('changeEmail', () => {
    it('raises UserEmailChangedEvent carrying the previous email and the normalized new one', () => {
      // given
      const user = activeUser();

      // when
      user.changeEmail('  Ada.King@Example.org ', later);

      // then
      const events = user.getUncommittedEvents();
      expect(events).toHaveLength(1);
      expect(events[0]).toBeInstanceOf(UserEmailChangedEvent);
      expect(events[0]).toEqual(
        new UserEmailChangedEvent({
          userId: USER_ID,
          previousEmail: 'ada@example.com',
          email: 'ada.king@example.org',
          changedAt: '2026-01-02T12:30:00.000Z',
        }),
      );
      expect(user.snapshot()).toMatchObject({ email: 'ada.king@example.org', createdAt: now, updatedAt: later });
    });

    it('changing to the same email, whatever its case and surrounding spaces, raises nothing', () => {
      // given
      const user = activeUser();

      // when
      user.changeEmail('  ADA@Example.com ', later);

      // then
      expect(user.getUncommittedEvents()).toHaveLength(0);
      expect(user.snapshot()).toEqual(snapshotOf());
    });

    it('refuses an invalid email and raises nothing', () => {
      // given
      const user = activeUser();

      // when
      const changeEmail = () => user.changeEmail('not-an-email', later);

      // then
      expect(changeEmail).toThrow(InvalidUserError);
      expect(changeEmail).toThrow(expect.objectContaining({ code: 'INVALID_USER' }));
      expect(user.getUncommittedEvents()).toHaveLength(0);
      expect(user.snapshot().email).toBe('ada@example.com');
    });

    it('changing the email of a deactivated user is refused', () => {
      // given
      const user = deactivatedUser();

      // when
      const changeEmail = () => user.changeEmail('new@example.com', later);

      // then
      expect(changeEmail).toThrow(UserDeactivatedError);
      expect(changeEmail).toThrow(expect.objectContaining({ code: 'USER_DEACTIVATED', kind: 'conflict' }));
      expect(user.getUncommittedEvents()).toHaveLength(0);
      expect(user.snapshot().email).toBe('ada@example.com');
    });

    it('a user deactivated in the same unit of work can no longer change its email', () => {
      // given
      const user = User.register(registration(), now);
      user.deactivate(now);

      // when / then
      expect(() => user.changeEmail('new@example.com', later)).toThrow(UserDeactivatedError);
      expect(user.getUncommittedEvents().map((event) => event.constructor)).toEqual([
        UserRegisteredEvent,
        UserDeactivatedEvent,
      ]);
    });
  });

  describe('deactivate', () => {
    it('raises UserDeactivatedEvent and reaches DEACTIVATED', () => {
      // given
      const user = activeUser();

      // when
      user.deactivate(later);

      // then
      const events = user.getUncommittedEvents();
      expect(events).toHaveLength(1);
      expect(events[0]).toBeInstanceOf(UserDeactivatedEvent);
      expect(events[0]).toEqual(
        new UserDeactivatedEvent({ userId: USER_ID, deactivatedAt: '2026-01-02T12:30:00.000Z' }),
      );
      expect(user.status).toBe('DEACTIVATED');
      expect(user.snapshot()).toMatchObject({ status: 'DEACTIVATED', updatedAt: later, createdAt: now });
    });

    it('deactivating a deactivated user is refused', () => {
      // given
      const user = deactivatedUser();

      // when
      const deactivate = () => user.deactivate(later);

      // then
      expect(deactivate).toThrow(UserAlreadyDeactivatedError);
      expect(deactivate).toThrow(expect.objectContaining({ code: 'USER_ALREADY_DEACTIVATED', kind: 'conflict' }));
      expect(user.getUncommittedEvents()).toHaveLength(0);
    });

    it('deactivating twice in the same unit of work is refused after the first event', () => {
      // given
      const user = activeUser();
      user.deactivate(now);

      // when / then
      expect(() => user.deactivate(later)).toThrow(UserAlreadyDeactivatedError);
      expect(user.getUncommittedEvents()).toHaveLength(1);
      expect(user.snapshot().updatedAt).toEqual(now);
    });
  });

  describe('version', () => {
    it('a new user has version 0 and its snapshot counts the pending registration', () => {
      // when
      const user = User.register(registration(), now);

      // then
      expect(user.version).toBe(0);
      expect(user.snapshot().version).toBe(1);
    });

    it('snapshot().version counts every pending event on top of the persisted version', () => {
      // given
      const user = User.register(registration(), now);

      // when
      user.changeEmail('ada.king@example.org', later);
      user.deactivate(later);

      // then
      expect(user.version).toBe(0);
      expect(user.getUncommittedEvents()).toHaveLength(3);
      expect(user.snapshot().version).toBe(3);
    });

    it('markPersisted() advances the version by the pending events and clears them', () => {
      // given
      const user = User.register(registration(), now);
      user.changeEmail('ada.king@example.org', later);

      // when
      user.markPersisted();

      // then
      expect(user.version).toBe(2);
      expect(user.getUncommittedEvents()).toHaveLength(0);
      expect(user.snapshot()).toMatchObject({ version: 2, email: 'ada.king@example.org' });
    });

    it('markPersisted() with nothing pending keeps the version', () => {
      const user = activeUser();

      user.markPersisted();

      expect(user.version).toBe(1);
      expect(user.snapshot().version).toBe(1);
    });

    it('restore() keeps the version and the state of the row, with nothing pending', () => {
      // given
      const row = snapshotOf({
        version: 7,
        creditLimit: 5_000,
        creditReserved: 1_200,
        creditReservations: { [ORDER_A]: 1_200 },
        updatedAt: later,
      });

      // when
      const user = User.restore(row);

      // then
      expect(user.version).toBe(7);
      expect(user.getUncommittedEvents()).toHaveLength(0);
      expect(user.snapshot()).toEqual(row);
    });

    it('events raised after restore() number on from the restored version', () => {
      // given
      const user = User.restore(snapshotOf({ version: 7 }));

      // when
      user.deactivate(later);

      // then
      expect(user.version).toBe(7);
      expect(user.snapshot().version).toBe(8);
      user.markPersisted();
      expect(user.version).toBe(8);
    });
  });

  describe('credit', () => {
    /** A user with a limit of 1,000 and nothing reserved, loaded at version 1. */
    function userWithLimit(creditLimit = 1_000, overrides: Partial<UserSnapshot> = {}): User {
      return User.restore(snapshotOf({ creditLimit, ...overrides }));
    }

    it('reserving within the limit raises CreditReserved with the new total and holds the amount for the order', () => {
      // given
      const user = userWithLimit();

      // when
      user.reserveCredit(ORDER_A, 600, later);

      // then
      expect(user.getUncommittedEvents()).toEqual([
        new CreditReservedEvent({ userId: USER_ID, orderId: ORDER_A, amount: 600, creditReserved: 600, reservedAt: later.toISOString() }),
      ]);
      expect(user.snapshot()).toMatchObject({ creditReserved: 600, creditReservations: { [ORDER_A]: 600 }, updatedAt: later });
    });

    it('reserving exactly up to the limit is allowed', () => {
      // given
      const user = userWithLimit();
      user.reserveCredit(ORDER_A, 400, later);

      // when
      user.reserveCredit(ORDER_B, 600, later);

      // then
      expect(user.snapshot().creditReserved).toBe(1_000);
      expect(user.getUncommittedEvents().map((event) => event.constructor)).toEqual([CreditReservedEvent, CreditReservedEvent]);
    });

    it('reserving beyond the limit raises CreditRejected "insufficient credit" and reserves nothing', () => {
      // given
      const user = userWithLimit();
      user.reserveCredit(ORDER_A, 600, later);

      // when
      user.reserveCredit(ORDER_B, 401, later);

      // then
      expect(user.getUncommittedEvents()[1]).toEqual(
        new CreditRejectedEvent({ userId: USER_ID, orderId: ORDER_B, amount: 401, reason: 'insufficient credit', rejectedAt: later.toISOString() }),
      );
      expect(user.snapshot()).toMatchObject({ creditReserved: 600, creditReservations: { [ORDER_A]: 600 } });
    });

    it('a deactivated user gets no credit: CreditRejected "customer deactivated"', () => {
      // given
      const user = userWithLimit(1_000, { status: 'DEACTIVATED' });

      // when
      user.reserveCredit(ORDER_A, 1, later);

      // then
      expect(user.getUncommittedEvents()).toEqual([
        new CreditRejectedEvent({ userId: USER_ID, orderId: ORDER_A, amount: 1, reason: 'customer deactivated', rejectedAt: later.toISOString() }),
      ]);
      expect(user.snapshot().creditReserved).toBe(0);
    });

    it('reserving twice for one order is a no-op the second time (a redelivered saga step)', () => {
      // given
      const user = userWithLimit(1_000, { creditReserved: 300, creditReservations: { [ORDER_A]: 300 } });

      // when
      user.reserveCredit(ORDER_A, 300, later);

      // then
      expect(user.getUncommittedEvents()).toHaveLength(0);
      expect(user.snapshot().creditReserved).toBe(300);
    });

    it.each([-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1])('refuses to reserve the amount %p', (amount) => {
      // given
      const user = userWithLimit();

      // when
      const reserve = () => user.reserveCredit(ORDER_A, amount, later);

      // then
      expect(reserve).toThrow(InvalidUserError);
      expect(user.getUncommittedEvents()).toHaveLength(0);
    });

    it('releasing gives the order\'s amount back and forgets the reservation', () => {
      // given
      const user = userWithLimit(1_000, { creditReserved: 700, creditReservations: { [ORDER_A]: 300, [ORDER_B]: 400 } });

      // when
      user.releaseCredit(ORDER_A, later);

      // then
      expect(user.getUncommittedEvents()).toEqual([
        new CreditReleasedEvent({ userId: USER_ID, orderId: ORDER_A, amount: 300, creditReserved: 400, releasedAt: later.toISOString() }),
      ]);
      expect(user.snapshot()).toMatchObject({ creditReserved: 400, creditReservations: { [ORDER_B]: 400 } });
    });

    it('releasing an order without a reservation (never reserved, or released already) is a no-op', () => {
      // given
      const user = userWithLimit(1_000, { creditReserved: 300, creditReservations: { [ORDER_A]: 300 } });
      user.releaseCredit(ORDER_A, later);

      // when
      user.releaseCredit(ORDER_A, later);
      user.releaseCredit(ORDER_B, later);

      // then
      expect(user.getUncommittedEvents()).toHaveLength(1);
      expect(user.snapshot().creditReserved).toBe(0);
    });

    it('a deactivated user can still be given credit back', () => {
      // given
      const user = userWithLimit(1_000, { status: 'DEACTIVATED', creditReserved: 300, creditReservations: { [ORDER_A]: 300 } });

      // when
      user.releaseCredit(ORDER_A, later);

      // then
      expect(user.snapshot().creditReserved).toBe(0);
    });

    it('consuming turns the reservation into a charge: CreditConsumed, the amount leaves creditReserved', () => {
      // given
      const user = userWithLimit(1_000, { creditReserved: 300, creditReservations: { [ORDER_A]: 300 } });

      // when
      user.consumeCredit(ORDER_A, later);
      user.consumeCredit(ORDER_A, later);

      // then
      expect(user.getUncommittedEvents()).toEqual([
        new CreditConsumedEvent({ userId: USER_ID, orderId: ORDER_A, amount: 300, creditReserved: 0, consumedAt: later.toISOString() }),
      ]);
      expect(user.snapshot()).toMatchObject({ creditReserved: 0, creditReservations: {} });
    });

    it('creditReserved never exceeds the limit, whatever the sequence of reservations and releases', () => {
      // given
      const user = userWithLimit(1_000);
      const amounts = [250, 500, 300, 100, 900, 50, 400];

      // when
      amounts.forEach((amount, index) => {
        user.reserveCredit(`order-${index}`, amount, later);
        if (index % 3 === 2) user.releaseCredit(`order-${index - 1}`, later);
        expect(user.snapshot().creditReserved).toBeLessThanOrEqual(1_000);
      });

      // then
      const { creditReserved, creditReservations } = user.snapshot();
      expect(creditReserved).toBe(Object.values(creditReservations).reduce((sum, amount) => sum + amount, 0));
    });
  });
});
